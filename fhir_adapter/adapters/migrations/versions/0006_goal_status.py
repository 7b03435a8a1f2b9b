"""a Goal's searchable status is its lifecycleStatus (it has no `status` element): fill it in for the Goals
stored before

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RESOURCES = sa.table(
    "fhir_resources",
    sa.column("seq", sa.Integer),
    sa.column("resource_type", sa.String),
    sa.column("status", sa.String),
    sa.column("data", sa.Text),
)


def upgrade() -> None:
    conn = op.get_bind()
    goals = conn.execute(
        sa.select(RESOURCES.c.seq, RESOURCES.c.data).where(RESOURCES.c.resource_type == "Goal")
    )
    for seq, data in list(goals):
        status = json.loads(data).get("lifecycleStatus")
        if isinstance(status, str):
            conn.execute(RESOURCES.update().where(RESOURCES.c.seq == seq).values(status=status[:32]))


def downgrade() -> None:
    op.execute(RESOURCES.update().where(RESOURCES.c.resource_type == "Goal").values(status=None))
