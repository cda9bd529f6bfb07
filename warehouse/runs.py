"""The `runs` table: one row per command run, with what it read and what it cost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from warehouse.schema import runs


def start_run(engine: Engine, command: str, source: str | None) -> int:
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
            .values(status=status, finished_at=datetime.now(UTC), detail=detail, **values)
        )


def recent_runs(engine: Engine, limit: int = 10) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(runs).order_by(runs.c.run_id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]
