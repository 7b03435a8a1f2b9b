"""The database schema (SQLAlchemy Core). Alembic migrations under migrations/ create and change it.

Time stamps are UTC instants stored as text, `YYYY-MM-DDThh:mm:ss.ffffffZ`: they order as text on every
database, which keeps `_lastUpdated` and paging identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
ID = String(64)
STAMP = String(32)

organizations = Table(
    "organizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("identifier_namespace", String(400), nullable=False),
    Column("created_at", STAMP, nullable=False),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", Text, nullable=False),
    # Sees resources labelled restricted (42 CFR Part 2, abuse reports): granted by name, never by default.
    Column("restricted_access", Boolean, nullable=False, default=False),
    Column("created_at", STAMP, nullable=False),
    Column("revoked_at", STAMP),
)

# Case-management records, current state: one row per record, the contract JSON in `data`.
records = Table(
    "records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ID, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("status", String(32)),
    Column("subtype", String(64)),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("created_at", STAMP, nullable=False),
    Column("updated_at", STAMP, nullable=False),
    UniqueConstraint("org_id", "kind", "record_id", name="uq_records_key"),
    Index("ix_records_client", "org_id", "kind", "client_id"),
    Index("ix_records_of_client", "org_id", "client_id", "seq"),
)

# Every version of every record, the current one included.
record_versions = Table(
    "record_versions",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("record_id", String(128), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("data", Text, nullable=False),
    Column("created_at", STAMP, nullable=False),
    Column("api_client_id", ID),
)

# The FHIR resources the records show as, current version: served by /fhir as stored.
fhir_resources = Table(
    "fhir_resources",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ID, nullable=False),
    Column("resource_type", String(40), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", STAMP, nullable=False),
    Column("patient_id", String(64)),
    Column("status", String(32)),
    Column("record_kind", String(32), nullable=False),
    Column("record_id", String(128), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("restricted", Boolean, nullable=False, default=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("org_id", "resource_type", "id", name="uq_fhir_resources_key"),
    Index("ix_fhir_patient", "org_id", "resource_type", "patient_id"),
    Index("ix_fhir_record", "org_id", "record_kind", "record_id"),
)

fhir_versions = Table(
    "fhir_versions",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("resource_type", String(40), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version_id", Integer, primary_key=True),
    Column("last_updated", STAMP, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("restricted", Boolean, nullable=False, default=False),
    Column("patient_id", String(64)),
    Column("data", Text, nullable=False),
)

# Token search parameters (identifier, category) of current resources: system|value pairs.
fhir_tokens = Table(
    "fhir_tokens",
    metadata,
    Column("org_id", ID, nullable=False),
    Column("resource_type", String(40), nullable=False),
    Column("id", String(64), nullable=False),
    Column("param", String(32), nullable=False),
    Column("system", String(400), nullable=False),
    Column("value", String(400), nullable=False),
    Index("ix_fhir_tokens_value", "org_id", "resource_type", "param", "value"),
    Index("ix_fhir_tokens_resource", "org_id", "resource_type", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("headers", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", STAMP, nullable=False),
)

# The `jti` of each external token already used, until its `exp`: a token is good for one request, on every
# web process (they share this table). `key` is a hash of the issuer and the jti, whatever their length.
seen_tokens = Table(
    "seen_tokens",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("expires_at", STAMP, nullable=False),
    Index("ix_seen_tokens_expires_at", "expires_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("recorded", STAMP, nullable=False),
    Column("org_id", ID),
    Column("agent_id", String(200)),
    Column("agent_name", String(200)),
    Column("source_address", String(64)),
    Column("action", String(1), nullable=False),
    Column("interaction", String(40), nullable=False),
    Column("method", String(8), nullable=False),
    Column("route", String(200), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("outcome", String(2), nullable=False),
    Column("patient_id", String(64)),
    Column("entities", Text, nullable=False),
    Column("query", Text),
    Index("ix_audit_org_recorded", "org_id", "recorded"),
    Index("ix_audit_patient", "org_id", "patient_id"),
)

# --- delivery to EHRs ---

# The EHRs an organisation delivers to. Credentials for SMART Backend Services or a static bearer.
ehrs = Table(
    "ehrs",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("id", ID, primary_key=True),
    Column("base_url", String(400), nullable=False),
    Column("auth", String(16), nullable=False),  # smart | bearer | none
    Column("client_id", String(200)),
    Column("scope", String(400)),
    Column("token_url", String(400)),  # when empty: discovered from .well-known/smart-configuration
    Column("bearer_token", Text),
    # Resources labelled restricted (42 CFR Part 2, abuse reports) go to this EHR only when true.
    Column("send_restricted", Boolean, nullable=False, default=False),
    # How the EHR names its medical record numbers: the FHIR identifier system, the HL7 v2 assigning
    # authority (PID-3.4, namespace or universal id). Patient matching and patient look-ups use them.
    Column("mrn_system", String(400)),
    Column("mrn_authority", String(200)),
    Column("created_at", STAMP, nullable=False),
)

# A client of ours is this patient in that EHR.
patient_links = Table(
    "patient_links",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("ehr_id", ID, primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("mrn", String(128)),
    Column("assigner", String(400)),
    Column("created_at", STAMP, nullable=False),
    Column("made_by_visit", String(200)),  # the visit whose admission made the link; a person's: null
    Column("ended_at", STAMP),  # that admission was cancelled: nothing more is sent there
    Index("ix_links_mrn", "org_id", "ehr_id", "mrn"),
    Index("ix_links_patient", "org_id", "ehr_id", "patient_id"),
)

# Work for the delivery workers, written in the transaction of the change that caused it. One lane per
# patient per EHR: a lane's jobs are delivered one at a time, in id order.
outbox_jobs = Table(
    "outbox_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ID, nullable=False),
    Column("ehr_id", ID, nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("lane", String(300), nullable=False),
    Column("cause", String(200), nullable=False),  # what made it: "service-plan SP-1", "link", "replay of 12"
    Column(
        "resources", Text, nullable=False
    ),  # JSON [[type, id], ...]: our resources to send as they are then
    Column("state", String(12), nullable=False),  # a JobState (domain/sync.py)
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", STAMP, nullable=False),
    Column("claimed_at", STAMP),  # the last claim
    Column("lease_until", STAMP),
    Column("lease_token", String(36)),
    Column("last_reason", String(40)),
    Column("last_error", Text),  # the EHR's OperationOutcome or what went wrong, JSON
    Column("replayed_by", Integer),
    Column("batch_head", Integer),  # the job it was last claimed together with
    # push: send the resources; retract: remove them from the EHR; pull: read the EHR's discharge
    # information back. `context` (JSON) names the EHR's encounter the resources are linked to.
    Column("action", String(12), nullable=False, default="push"),
    Column("context", Text),
    Column("created_at", STAMP, nullable=False),
    Column("finished_at", STAMP),
    Index("ix_outbox_lane", "lane", "state", "id"),
    Index("ix_outbox_ready", "state", "not_before"),
    Index("ix_outbox_org_state", "org_id", "state", "id"),
)

# Every failed attempt, with its reason: the failures metric and the explanation of a dead letter.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("ehr_id", ID, nullable=False),
    Column("at", STAMP, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("status_code", Integer),
    Column("detail", Text),
    Index("ix_attempts_job", "job_id"),
)

# What was sent where: one row per resource per delivery, with the EHR's id and version for it.
delivery_ledger = Table(
    "delivery_ledger",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ID, nullable=False),
    Column("ehr_id", ID, nullable=False),
    Column("job_id", Integer, nullable=False),
    Column("resource_type", String(40), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("action", String(8), nullable=False),  # a LedgerAction (domain/sync.py)
    Column("ehr_resource_id", String(64)),
    Column("ehr_version_id", String(64)),
    Column("sent_at", STAMP, nullable=False),
    Index("ix_ledger_resource", "org_id", "ehr_id", "resource_type", "id"),
    Index("ix_ledger_job", "job_id"),
)
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ID, nullable=False),
    Column("ehr_id", ID, nullable=False),
    Column("channel", String(20), nullable=False),  # mllp | http | notification | process-message | query
    Column("control_id", String(300), nullable=False),  # v2:MSH-10, msg:Bundle.id, sub:<subscription>#<n>
    Column("event", String(40), nullable=False),  # A01 ... A40, notification-admit, encounter:finished
    Column("kind", String(20), nullable=False),  # admit | register | update | discharge | cancel-... | merge
    Column("state", String(16), nullable=False),  # an InboundState (domain/inbound.py)
    Column("detail", Text),
    Column("client_id", String(128)),
    Column("matched_by", String(20)),  # link | identifier | demographics | person
    Column("mrn", String(128)),
    Column("visit_number", String(200)),
    Column("event_json", Text, nullable=False),  # the event as read from the message
    Column("body", Text, nullable=False),  # the message as received
    Column("received_at", STAMP, nullable=False),
    Column("resolved_at", STAMP),
    Column("resolved_by", String(200)),
    UniqueConstraint("org_id", "ehr_id", "control_id", name="uq_inbound_control_id"),
    Index("ix_inbound_state", "org_id", "state", "seq"),
    Index("ix_inbound_client", "org_id", "client_id", "seq"),
)
admissions = Table(
    "admissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", ID, nullable=False),
    Column("ehr_id", ID, nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("visit_number", String(200), nullable=False),
    Column("encounter_id", String(64)),  # the EHR's Encounter id, when known
    Column("encounter_sought_at", STAMP),  # when the EHR last had no Encounter with the visit number
    Column("state", String(12), nullable=False),  # an AdmissionState (domain/sync.py)
    Column("class_code", String(20)),
    Column("location", String(200)),
    Column("admit_source", String(200)),
    Column("admitted_at", STAMP),
    Column("discharged_at", STAMP),
    Column("disposition", Text),  # JSON {code, display, system}
    Column("jobs", Text, nullable=False),  # JSON {"admit": [job ids], "discharge": [...]}: what to undo
    Column("updated_at", STAMP, nullable=False),
    UniqueConstraint("org_id", "ehr_id", "visit_number", name="uq_admissions_visit"),
    Index("ix_admissions_client", "org_id", "client_id"),
)
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("ehr_id", ID, primary_key=True),
    Column("subscription", String(400), primary_key=True),  # the EHR's Subscription reference
    Column("topic", String(400)),
    Column("status", String(20), nullable=False),
    Column("events_seen", Integer, nullable=False),  # events-since-subscription-start we have accounted for
    Column("last_event_at", STAMP),
    Column("updated_at", STAMP, nullable=False),
    # Raised when the EHR starts the count again (a handshake below our count): the events' control ids
    # name it, so the new event 1 is not taken for the old one.
    Column("generation", Integer, nullable=False, server_default="0"),
)
