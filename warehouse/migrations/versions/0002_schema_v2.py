"""Schema 2: text columns unbounded, a token on dirty marks, an index per moment the day
lookup filters on, the quarantine table.

Revision ID: 0002
Revises: 0001

Release 1 bounded ids and statuses (PostgreSQL took at most 32 characters of a status).
SQLite cannot change a column's type in place, so there each table is rebuilt (batch
mode: copied into a new table, which takes the old one's name); PostgreSQL alters the type,
which for VARCHAR to TEXT rewrites nothing. No imports from the application: a revision is
frozen history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Per table, release 1's bounded text columns: (name, length, nullable).
_BOUNDED: dict[str, list[tuple[str, int, bool]]] = {
    "agents": [("source", 64, False), ("agent_id", 64, False), ("role", 32, True)],
    "interactions": [
        ("source", 64, False),
        ("interaction_id", 64, False),
        ("status", 32, False),
        ("customer_id", 64, True),
        ("owner_id", 64, True),
        ("group_id", 64, True),
    ],
    "ownership_changes": [
        ("source", 64, False),
        ("change_id", 64, False),
        ("interaction_id", 64, False),
        ("update_id", 64, False),
        ("previous_owner", 64, True),
        ("new_owner", 64, True),
    ],
    "status_changes": [
        ("source", 64, False),
        ("change_id", 64, False),
        ("interaction_id", 64, False),
        ("update_id", 64, False),
        ("previous_status", 32, True),
        ("new_status", 32, False),
    ],
    "ratings": [
        ("source", 64, False),
        ("rating_id", 64, False),
        ("interaction_id", 64, False),
        ("survey_id", 64, False),
        ("agent_id", 64, True),
        ("score", 32, False),
    ],
    "agent_day_facts": [("source", 64, False), ("agent_id", 64, False)],
    "dirty_days": [("source", 64, False)],
    "sync_state": [("source", 64, False), ("stream", 128, False)],
    "runs": [("command", 32, False), ("source", 64, True), ("status", 16, False)],
}


def upgrade() -> None:
    # Replaced by an index that also covers created_at (the repeat-contact lookup).
    op.drop_index("ix_interactions_customer", table_name="interactions")
    for table, columns in _BOUNDED.items():
        with op.batch_alter_table(table) as batch:
            for name, length, nullable in columns:
                batch.alter_column(
                    name,
                    type_=sa.Text(),
                    existing_type=sa.String(length),
                    existing_nullable=nullable,
                )
            if table == "dirty_days":
                # Changes each time a day is marked: a score removes only the marks it read.
                batch.add_column(sa.Column("token", sa.Text()))
    op.create_index(
        "ix_interactions_customer_created",
        "interactions",
        ["source", "customer_id", "created_at"],
    )
    op.create_index("ix_interactions_created", "interactions", ["source", "created_at"])
    op.create_index("ix_interactions_solved", "interactions", ["source", "solved_at"])
    op.create_table(
        "quarantine",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("stream", sa.Text(), primary_key=True),
        sa.Column("record_id", sa.Text(), primary_key=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("record", sa.Text()),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
    )
    op.execute(sa.text("UPDATE schema_version SET version = 2"))


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
