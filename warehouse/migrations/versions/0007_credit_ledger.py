"""Schema 7: `credit_ledger`, one row per count an interaction adds to an agent's day, and
`source_links`, how a link into each source is made.

Revision ID: 0007
Revises: 0006

Both start empty: the first `score` after the upgrade fills `source_links`, and the ledger
of every day it scores (`deskmetrics score --all` fills it for every day). No imports from
the application: a revision is frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

COUNTS = (
    "handled",
    "transferred_out",
    "resolved",
    "fcr_eligible",
    "fcr",
    "csat_responses",
    "csat_satisfied",
)


def upgrade() -> None:
    op.create_table(
        "credit_ledger",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("interaction_id", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("credit_key", sa.Text(), primary_key=True),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column("csat_score_sum", sa.Float(), nullable=False),
        sa.Column("transferred_at", sa.DateTime()),
        sa.Column("transferred_to", sa.Text()),
        sa.Column("reopened_at", sa.DateTime()),
        sa.Column("repeat_interaction_id", sa.Text()),
        sa.Column("repeat_created_at", sa.DateTime()),
        sa.Column("pending_until", sa.DateTime()),
        sa.Column("score", sa.Text()),
        sa.Column("answered_at", sa.DateTime()),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_ledger_agent_day", "credit_ledger", ["source", "agent_id", "day"])
    op.create_index("ix_ledger_interaction", "credit_ledger", ["source", "interaction_id"])
    op.create_table(
        "source_links",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("link_prefix", sa.Text(), nullable=False),
        sa.Column("link_suffix", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.execute(sa.text("UPDATE schema_version SET version = 7"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
