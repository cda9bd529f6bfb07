"""Schema 6: `satisfaction_changes`, the satisfaction scores an interaction showed.

Revision ID: 0006
Revises: 0005

Zendesk's ticket events carry each `satisfaction_score` change; a legacy rating's first
answer is dated by them, since Zendesk re-dates a changed rating record (docs/metrics.md
"CSAT"). A new table, empty after the upgrade: events read before it were not kept, so a
rating changed before the upgrade keeps the day it had until a backfill reads its ticket's
events again. No imports from the application: a revision is frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_changes",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("change_id", sa.Text(), primary_key=True),
        sa.Column("interaction_id", sa.Text(), nullable=False),
        sa.Column("update_id", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("previous_score", sa.Text()),
        sa.Column("score", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_satisfaction_interaction", "satisfaction_changes", ["source", "interaction_id"]
    )
    op.create_index("ix_satisfaction_at", "satisfaction_changes", ["source", "at"])
    op.execute(sa.text("UPDATE schema_version SET version = 6"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
