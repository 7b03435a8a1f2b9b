"""delivery to EHRs

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_attempts",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_attempts_job", ["job_id"], unique=False)

    op.create_table(
        "delivery_ledger",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("ehr_resource_id", sa.String(length=64), nullable=True),
        sa.Column("ehr_version_id", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("delivery_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_job", ["job_id"], unique=False)
        batch_op.create_index("ix_ledger_resource", ["org_id", "ehr_id", "resource_type", "id"], unique=False)

    op.create_table(
        "ehrs",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=400), nullable=False),
        sa.Column("auth", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("scope", sa.String(length=400), nullable=True),
        sa.Column("token_url", sa.String(length=400), nullable=True),
        sa.Column("bearer_token", sa.Text(), nullable=True),
        sa.Column("send_restricted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id"),
    )
    op.create_table(
        "outbox_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("lane", sa.String(length=300), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("resources", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", sa.String(length=32), nullable=True),
        sa.Column("lease_until", sa.String(length=32), nullable=True),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("last_reason", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("replayed_by", sa.Integer(), nullable=True),
        sa.Column("batch_head", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("finished_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_lane", ["lane", "state", "id"], unique=False)
        batch_op.create_index("ix_outbox_org_state", ["org_id", "state", "id"], unique=False)
        batch_op.create_index("ix_outbox_ready", ["state", "not_before"], unique=False)

    op.create_table(
        "patient_links",
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("mrn", sa.String(length=128), nullable=True),
        sa.Column("assigner", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "client_id", "ehr_id"),
    )


def downgrade() -> None:
    op.drop_table("patient_links")
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ready")
        batch_op.drop_index("ix_outbox_org_state")
        batch_op.drop_index("ix_outbox_lane")

    op.drop_table("outbox_jobs")
    op.drop_table("ehrs")
    with op.batch_alter_table("delivery_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_resource")
        batch_op.drop_index("ix_ledger_job")

    op.drop_table("delivery_ledger")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_job")

    op.drop_table("delivery_attempts")
