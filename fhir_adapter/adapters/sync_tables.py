"""The tables of delivery to EHRs and of what they send: EHRs, patient links, the outbox and its attempts,
the delivery ledger, inbound messages, admissions and subscriptions. They are declared on tables.metadata.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from fhir_adapter.adapters.tables import ID, STAMP, metadata

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
    # What the EHR lets us write, per resource type (delivery/capabilities.py), as last read from its
    # CapabilityStatement and token, with what it refused since; and the site's overrides (type → way).
    Column("capabilities", Text),
    Column("capabilities_read_at", STAMP),
    Column("capability_overrides", Text),
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

# --- what EHRs send ---

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
