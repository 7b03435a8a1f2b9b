"""what each EHR lets us write, per resource type, and a site's overrides of it

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ehrs") as batch:
        batch.add_column(sa.Column("capabilities", sa.Text()))
        batch.add_column(sa.Column("capabilities_read_at", sa.String(32)))
        batch.add_column(sa.Column("capability_overrides", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("ehrs") as batch:
        batch.drop_column("capability_overrides")
        batch.drop_column("capabilities_read_at")
        batch.drop_column("capabilities")
