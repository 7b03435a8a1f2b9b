"""links an admission made end with its cancellation; subscriptions that restart their count; when the
EHR last had no Encounter for a visit

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("made_by_visit", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.String(length=32), nullable=True))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("encounter_sought_at", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.drop_column("encounter_sought_at")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("generation")
    with op.batch_alter_table("patient_links", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
        batch_op.drop_column("made_by_visit")
