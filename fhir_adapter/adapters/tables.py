"""The database schema (SQLAlchemy Core): organisations and their API clients, case-management records and
the FHIR resources they show as, idempotency keys, used tokens and the audit trail. The tables of delivery
and of what EHRs send are in sync_tables.py, on the same metadata. Alembic migrations under migrations/
create and change them.

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
    LargeBinary,
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
    Column("time_zone", String(64)),  # the IANA zone its people see times in; None: FHIR_ADAPTER_TIME_ZONE
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

# Attachment bytes a hospital sent (a discharge summary's PDF), kept once per organisation and content:
# records name them by their SHA-256 (hex).
attachments = Table(
    "attachments",
    metadata,
    Column("org_id", ID, primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", STAMP, nullable=False),
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

# The people who sign in to the workspace (/app/): one organisation each, a role, an argon2 hash of the
# password, the count of failed sign-ins since the last good one and the lock they led to. A session
# carries the generation it began in: signing out or disabling the account counts it on, ending them all.
people = Table(
    "people",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organizations.id"), nullable=False),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # planner | admin
    Column("password_hash", String(200), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", STAMP),
    Column("created_at", STAMP, nullable=False),
    Column("disabled_at", STAMP),
    Column("generation", Integer, nullable=False, server_default="0"),
)
