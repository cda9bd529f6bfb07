"""Schema 5: `source_completeness`, each source's high-water mark and first provisional day.

Revision ID: 0005
Revises: 0004

The views join it for their `provisional` column (docs/metrics.md "Completeness"). It
starts empty: the first score after the upgrade fills it, and until then the views show
every day as provisional, which is what deskmetrics can vouch for. No imports from the
application: a revision is frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "source_completeness",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("high_water_mark", sa.DateTime()),
        sa.Column("provisional_from", sa.Date()),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.execute(sa.text("UPDATE schema_version SET version = 5"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
