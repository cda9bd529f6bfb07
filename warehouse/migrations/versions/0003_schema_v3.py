"""Schema 3: a survey response's scale and category on ratings, the process on runs, leases.

Revision ID: 0003
Revises: 0002

Only new nullable columns and a new table: plain ALTER TABLE … ADD COLUMN on both
databases, no rebuild. No imports from the application: a revision is frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("ratings", sa.Column("scale_max", sa.Float()))
    op.add_column("ratings", sa.Column("category", sa.Text()))
    op.add_column("runs", sa.Column("holder", sa.Text()))
    op.create_table(
        "leases",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.execute(sa.text("UPDATE schema_version SET version = 3"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
