"""admission and discharge: ADT and FHIR notifications

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_links", schema=None) as batch_op:
        batch_op.create_index("ix_links_mrn", ["org_id", "ehr_id", "mrn"], unique=False)
        batch_op.create_index("ix_links_patient", ["org_id", "ehr_id", "patient_id"], unique=False)
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index("ix_records_of_client", ["org_id", "client_id", "seq"], unique=False)
    with op.batch_alter_table("ehrs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mrn_system", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("mrn_authority", sa.String(length=200), nullable=True))
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", sa.String(length=12), nullable=False, server_default="push"))
        batch_op.add_column(sa.Column("context", sa.Text(), nullable=True))
    op.create_table(
        "inbound_messages",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("control_id", sa.String(length=300), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("matched_by", sa.String(length=20), nullable=True),
        sa.Column("mrn", sa.String(length=128), nullable=True),
        sa.Column("visit_number", sa.String(length=200), nullable=True),
        sa.Column("event_json", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.Column("resolved_at", sa.String(length=32), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("org_id", "ehr_id", "control_id", name="uq_inbound_control_id"),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_client", ["org_id", "client_id", "seq"], unique=False)
        batch_op.create_index("ix_inbound_state", ["org_id", "state", "seq"], unique=False)
    op.create_table(
        "admissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("visit_number", sa.String(length=200), nullable=False),
        sa.Column("encounter_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("class_code", sa.String(length=20), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("admit_source", sa.String(length=200), nullable=True),
        sa.Column("admitted_at", sa.String(length=32), nullable=True),
        sa.Column("discharged_at", sa.String(length=32), nullable=True),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("jobs", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "ehr_id", "visit_number", name="uq_admissions_visit"),
    )
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.create_index("ix_admissions_client", ["org_id", "client_id"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("subscription", sa.String(length=400), nullable=False),
        sa.Column("topic", sa.String(length=400), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("events_seen", sa.Integer(), nullable=False),
        sa.Column("last_event_at", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "ehr_id", "subscription"),
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.drop_index("ix_admissions_client")
    op.drop_table("admissions")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_state")
        batch_op.drop_index("ix_inbound_client")
    op.drop_table("inbound_messages")
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_column("context")
        batch_op.drop_column("action")
    with op.batch_alter_table("ehrs", schema=None) as batch_op:
        batch_op.drop_column("mrn_authority")
        batch_op.drop_column("mrn_system")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_of_client")
    with op.batch_alter_table("patient_links", schema=None) as batch_op:
        batch_op.drop_index("ix_links_patient")
        batch_op.drop_index("ix_links_mrn")
