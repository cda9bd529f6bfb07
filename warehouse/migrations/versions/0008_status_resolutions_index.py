"""Schema 8: `status_changes` indexed by interaction, resolution and time together.

Revision ID: 0008
Revises: 0007

A write marks dirty the resolution days of its customers' other interactions
(warehouse/day_marks.py, repeat windows): it reads their resolving status changes' times by
interaction. With `ix_status_interaction` (source, interaction_id) each such read steps
through every status change of those interactions and reads each row from the table; with
(source, interaction_id, resolved, at) the index alone answers it. The new index serves
every read the old one did (it begins with the same columns), so it replaces it: a write
keeps two indexes on the table. No imports from the application: a revision is frozen
history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_status_interaction_resolved",
        "status_changes",
        ["source", "interaction_id", "resolved", "at"],
    )
    op.drop_index("ix_status_interaction", table_name="status_changes")
    op.execute(sa.text("UPDATE schema_version SET version = 8"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
