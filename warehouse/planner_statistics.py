"""PostgreSQL's planner statistics of the tables a score reads, made current before it reads.

A backfill can fill a fresh warehouse faster than autovacuum analyzes it: autovacuum looks
at a database once a minute. A score that follows at once is then planned without
statistics. PostgreSQL then reads a batch of customers' contacts by creation time, every
interaction in the window for every batch, instead of by customer. A score of 100,000
interactions took 222 s of wall time so, and 27 s with the analysis first (bench/
PROFILE.md, "Seventh pass"). So a score first analyzes each table it reads that autovacuum would
analyze now.

SQLite is left as it is: its queries are written for its planner without statistics
(warehouse/day_marks.py `_NoIndex`).
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from warehouse.schema import (
    agent_day_facts,
    credit_ledger,
    dirty_days,
    interactions,
    ownership_changes,
    ratings,
    satisfaction_changes,
    status_changes,
)

log = logging.getLogger(__name__)

SCORED_TABLES = (
    interactions,
    ownership_changes,
    status_changes,
    satisfaction_changes,
    ratings,
    credit_ledger,
    agent_day_facts,
    dirty_days,
)
# autovacuum's own defaults (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor)
ANALYZE_THRESHOLD = 50
ANALYZE_SCALE_FACTOR = 0.1

_STATISTICS = text(
    "SELECT c.relname, c.reltuples, COALESCE(s.n_mod_since_analyze, 0) "
    "FROM pg_class AS c LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid "
    "WHERE c.oid = ANY(CAST(:tables AS regclass[]))"
)


def stale(rows: float, changed: int) -> bool:
    """Whether autovacuum would analyze a table now: never analyzed (PostgreSQL keeps -1
    rows until then), or more rows changed since its last analysis than its threshold."""
    return rows < 0 or changed > ANALYZE_THRESHOLD + ANALYZE_SCALE_FACTOR * rows


def refresh_statistics(engine: Engine) -> list[str]:
    """Analyze the tables a score reads whose statistics are missing or stale (PostgreSQL
    only); the names of those analyzed. A table the role does not own is skipped by
    PostgreSQL with a warning, and planned as before."""
    if engine.dialect.name != "postgresql":
        return []
    quote = engine.dialect.identifier_preparer
    tables = [quote.format_table(table) for table in SCORED_TABLES]
    with engine.begin() as conn:
        found = conn.execute(_STATISTICS, {"tables": tables}).all()
        analyzed = sorted(str(name) for name, rows, changed in found if stale(rows, changed))
        for name in analyzed:
            conn.exec_driver_sql(f"ANALYZE {quote.quote(name)}")
    if analyzed:
        log.info(
            "analyzed %s: their planner statistics were missing or stale (autovacuum had "
            "not yet caught up with the writes)",
            ", ".join(analyzed),
        )
    return analyzed
