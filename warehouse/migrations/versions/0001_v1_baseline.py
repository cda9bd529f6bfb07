"""The schema of release 1, as it was released: the baseline every upgrade starts from.

Revision ID: 0001
Revises: (none)

A database made by release 1 is adopted at this revision (its `schema_version` says 1);
running this revision makes the same tables from nothing. Text columns are bounded here,
as they were then (0002 lifts the bounds). No imports from the application: a revision is
frozen history.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _key(name: str, length: int = 64) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), primary_key=True)


def _change_columns() -> list[sa.Column[Any]]:
    return [
        _key("source"),
        _key("change_id"),
        sa.Column("interaction_id", sa.String(64), nullable=False),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "agents",
        _key("source"),
        _key("agent_id"),
        sa.Column("name", sa.Text()),
        sa.Column("email", sa.Text()),
        sa.Column("role", sa.String(32)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "interactions",
        _key("source"),
        _key("interaction_id"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("owner_id", sa.String(64)),
        sa.Column("group_id", sa.String(64)),
        sa.Column("solved_at", sa.DateTime()),
        sa.Column("reopens", sa.Integer()),
        sa.Column("assignee_stations", sa.Integer()),
    )
    op.create_index("ix_interactions_customer", "interactions", ["source", "customer_id"])
    op.create_index("ix_interactions_updated", "interactions", ["source", "updated_at"])
    op.create_table(
        "ownership_changes",
        *_change_columns(),
        sa.Column("previous_owner", sa.String(64)),
        sa.Column("new_owner", sa.String(64)),
    )
    op.create_index("ix_ownership_interaction", "ownership_changes", ["source", "interaction_id"])
    op.create_index("ix_ownership_at", "ownership_changes", ["source", "at"])
    op.create_table(
        "status_changes",
        *_change_columns(),
        sa.Column("previous_status", sa.String(32)),
        sa.Column("new_status", sa.String(32), nullable=False),
        sa.Column("previous_resolved", sa.Boolean()),
        sa.Column("resolved", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_status_interaction", "status_changes", ["source", "interaction_id"])
    op.create_index("ix_status_at", "status_changes", ["source", "at"])
    op.create_table(
        "ratings",
        _key("source"),
        _key("rating_id"),
        sa.Column("interaction_id", sa.String(64), nullable=False),
        sa.Column("survey_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("score", sa.String(32), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime()),
    )
    op.create_index("ix_ratings_interaction", "ratings", ["source", "interaction_id"])
    op.create_index("ix_ratings_created", "ratings", ["source", "created_at"])
    op.create_table(
        "agent_day_facts",
        _key("source"),
        _key("agent_id"),
        sa.Column("day", sa.Date(), primary_key=True),
        *[
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "handled",
                "transferred_out",
                "resolved",
                "fcr_eligible",
                "fcr",
                "csat_responses",
                "csat_satisfied",
            )
        ],
        sa.Column("csat_score_sum", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_facts_day", "agent_day_facts", ["day"])
    op.create_table("dirty_days", _key("source"), sa.Column("day", sa.Date(), primary_key=True))
    op.create_table(
        "sync_state",
        _key("source"),
        _key("stream", 128),
        sa.Column("cursor", sa.Text()),
        sa.Column("high_water_mark", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_success_at", sa.DateTime()),
        sa.Column("last_error", sa.Text()),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64)),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text()),
    )
    version = op.create_table(
        "schema_version", sa.Column("version", sa.Integer(), primary_key=True)
    )
    op.bulk_insert(version, [{"version": 1}])


def downgrade() -> None:
    raise NotImplementedError("deskmetrics only upgrades: restore a backup to go back")
