"""The `runs` table: one row per command run, with what it read and what it cost.

A run is `running`, then `ok`, `failed` or `stopped` (a stop was asked for; what it read
is kept). A run whose process died stays `running` until its lease is gone: then it is
`abandoned` (`close_abandoned_runs`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, exists, or_, select

from warehouse.schema import leases, runs
from warehouse.text import storable_text


def start_run(engine: Engine, command: str, source: str | None, holder: str | None = None) -> int:
    """A new `running` row; `holder` is the lease the run works under."""
    with engine.begin() as conn:
        result = conn.execute(
            runs.insert().values(
                command=command,
                source=source,
                started_at=datetime.now(UTC),
                status="running",
                pages=0,
                records=0,
                requests=0,
                holder=holder,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def finish_run(
    engine: Engine, run_id: int, status: str, counts: dict[str, Any], detail: str | None
) -> None:
    values = {k: counts[k] for k in ("pages", "records", "requests") if k in counts}
    with engine.begin() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.run_id == run_id)
            .values(
                status=status,
                finished_at=datetime.now(UTC),
                # An error may quote what a hostile server sent (warehouse/text.py).
                detail=storable_text(detail) if detail is not None else None,
                **values,
            )
        )


def close_abandoned_runs(
    conn: Connection,
    now: datetime,
    source: str | None = None,
    dead_holders: Collection[str] = (),
) -> int:
    """Close as `abandoned` the runs of `source` (or of every source) left `running` by a
    process that died: those whose holder no longer holds a live lease of their source, or
    is one of `dead_holders` (processes known to have ended). How many were closed."""
    live = (
        select(leases.c.source)
        .where(
            leases.c.source == runs.c.source,
            leases.c.holder == runs.c.holder,
            leases.c.expires_at > now,
        )
        .correlate(runs)
    )
    gone = ~exists(live)
    if dead_holders:
        gone = or_(gone, runs.c.holder.in_(list(dead_holders)))
    statement = runs.update().where(runs.c.status == "running", runs.c.source.is_not(None), gone)
    if source is not None:
        statement = statement.where(runs.c.source == source)
    closed = conn.execute(
        statement.values(
            status="abandoned",
            finished_at=now,
            detail="its process stopped without finishing it (killed, or the machine went "
            "down). What it stored is kept; the next run goes on from there.",
        )
    ).rowcount
    return int(closed)


def recent_runs(engine: Engine, limit: int = 10) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(runs).order_by(runs.c.run_id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]
