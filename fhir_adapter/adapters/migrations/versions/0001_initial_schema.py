"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("recorded", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=200), nullable=True),
        sa.Column("agent_name", sa.String(length=200), nullable=True),
        sa.Column("source_address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=1), nullable=False),
        sa.Column("interaction", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=2), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("entities", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_org_recorded", ["org_id", "recorded"], unique=False)
        batch_op.create_index("ix_audit_patient", ["org_id", "patient_id"], unique=False)

    op.create_table(
        "fhir_resources",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.String(length=32), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("record_kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("org_id", "resource_type", "id", name="uq_fhir_resources_key"),
    )
    with op.batch_alter_table("fhir_resources", schema=None) as batch_op:
        batch_op.create_index("ix_fhir_patient", ["org_id", "resource_type", "patient_id"], unique=False)
        batch_op.create_index("ix_fhir_record", ["org_id", "record_kind", "record_id"], unique=False)

    op.create_table(
        "fhir_tokens",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=32), nullable=False),
        sa.Column("system", sa.String(length=400), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
    )
    with op.batch_alter_table("fhir_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_fhir_tokens_resource", ["org_id", "resource_type", "id"], unique=False)
        batch_op.create_index(
            "ix_fhir_tokens_value", ["org_id", "resource_type", "param", "value"], unique=False
        )

    op.create_table(
        "fhir_versions",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.String(length=32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "resource_type", "id", "version_id"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "key"),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("identifier_namespace", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "record_versions",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("api_client_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "kind", "record_id", "version"),
    )
    op.create_table(
        "records",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("subtype", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("org_id", "kind", "record_id", name="uq_records_key"),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_client", ["org_id", "kind", "client_id"], unique=False)

    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("restricted_access", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_clients")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_client")

    op.drop_table("records")
    op.drop_table("record_versions")
    op.drop_table("organizations")
    op.drop_table("idempotency_keys")
    op.drop_table("fhir_versions")
    with op.batch_alter_table("fhir_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_tokens_value")
        batch_op.drop_index("ix_fhir_tokens_resource")

    op.drop_table("fhir_tokens")
    with op.batch_alter_table("fhir_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_record")
        batch_op.drop_index("ix_fhir_patient")

    op.drop_table("fhir_resources")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_patient")
        batch_op.drop_index("ix_audit_org_recorded")

    op.drop_table("audit_events")
