"""The drill-through view for BI tools: `credit_drill_through`, one row per credit.

Owns the view that joins the credit ledger (`credit_ledger`) with `agents`, `interactions`
and `source_links`: per credit its source, agent (id, name, e-mail; NULL agent_id is the
unassigned row), local `day`, `metric` (transfer, fcr, csat), verdict and reason, its
counts and deciding moments, the interaction's creation, status and group, and `link`,
its address in the source. Summed per source, agent and day it is `agent_day_facts`, so a
dashboard filtered to an agent's rate lists the tickets behind it (docs/bi.md
"From a rate to its tickets"). Created, dropped and checked with the other views
(warehouse/views.py), with a mark of its definition.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

DRILL_VIEW = "credit_drill_through"

_COUNTS = (
    "handled",
    "transferred_out",
    "resolved",
    "fcr_eligible",
    "fcr",
    "csat_responses",
    "csat_satisfied",
    "csat_score_sum",
)
_MOMENTS = (
    "transferred_at",
    "transferred_to",
    "reopened_at",
    "repeat_interaction_id",
    "repeat_created_at",
    "pending_until",
    "score",
    "answered_at",
)

DRILL_COLUMNS: tuple[str, ...] = (
    "source",
    "agent_id",
    "agent_name",
    "agent_email",
    "day",
    "metric",
    "interaction_id",
    "survey_id",
    "verdict",
    "reason",
    "at",
    *_COUNTS,
    *_MOMENTS,
    "interaction_created_at",
    "interaction_status",
    "group_id",
    "link",
)

_SELECT = f"""SELECT l.source,
       NULLIF(l.agent_id, '') AS agent_id,
       a.name AS agent_name,
       a.email AS agent_email,
       l.day,
       CASE l.kind WHEN 'handled' THEN 'transfer' WHEN 'resolution' THEN 'fcr'
            ELSE 'csat' END AS metric,
       l.interaction_id,
       CASE WHEN l.kind = 'csat' THEN l.credit_key END AS survey_id,
       l.verdict,
       l.reason,
       l.at,
       {", ".join(f"l.{name}" for name in (*_COUNTS, *_MOMENTS))},
       i.created_at AS interaction_created_at,
       i.status AS interaction_status,
       i.group_id,
       s.link_prefix || l.interaction_id || s.link_suffix AS link
FROM credit_ledger l
LEFT JOIN agents a ON a.source = l.source AND a.agent_id = l.agent_id
LEFT JOIN interactions i ON i.source = l.source AND i.interaction_id = l.interaction_id
LEFT JOIN source_links s ON s.source = l.source"""

_MARK = f"deskmetrics-view {hashlib.sha256(_SELECT.encode()).hexdigest()[:16]}"
_DESCRIPTION = (
    "deskmetrics: one row per credit (a count an interaction adds to an agent's day), with "
    "its verdict, reason, deciding moments and link into the source; summed per source, "
    f"agent_id and day it is agent_day_facts; agent_id NULL is the unassigned row. [{_MARK}]"
)


def drill_view_is_current(conn: Connection) -> bool:
    stored = stored_view_text(conn, DRILL_VIEW)
    return stored is not None and _MARK in stored


def stored_view_text(conn: Connection, name: str) -> str | None:
    """Where a view's mark is kept: SQLite's stored definition, PostgreSQL's comment on the
    view; None when there is no such view."""
    if conn.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = :name"
    else:
        query = "SELECT obj_description(to_regclass(:name), 'pg_class')"
    stored = conn.execute(text(query), {"name": name}).scalar()
    return None if stored is None else str(stored)


def drop_drill_view(conn: Connection) -> None:
    conn.execute(text(f"DROP VIEW IF EXISTS {DRILL_VIEW}"))


def create_drill_view(conn: Connection) -> None:
    drop_drill_view(conn)
    if conn.dialect.name == "sqlite":
        # SQLite keeps a view's SQL as written, comments included: the mark lives there.
        conn.execute(text(f"CREATE VIEW {DRILL_VIEW} AS\n-- {_DESCRIPTION}\n{_SELECT}"))
    else:
        conn.execute(text(f"CREATE VIEW {DRILL_VIEW} AS\n{_SELECT}"))
        quoted = _DESCRIPTION.replace("'", "''")
        conn.execute(text(f"COMMENT ON VIEW {DRILL_VIEW} IS '{quoted}'"))
