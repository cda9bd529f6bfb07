"""`deskmetrics status`: per source and stream, where the cursor stands and what failed last."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from warehouse.runs import recent_runs
from warehouse.schema import dirty_days, sync_state


def status_lines(engine: Engine, now: datetime) -> list[str]:
    """Readable lines: one per stream, then the dirty-day backlog and the last runs."""
    lines: list[str] = []
    with engine.connect() as conn:
        rows = list(
            conn.execute(select(sync_state).order_by(sync_state.c.source, sync_state.c.stream))
        )
        backlog = len(list(conn.execute(select(dirty_days.c.day))))
    if not rows:
        lines.append("no source has been read yet: run `deskmetrics sync` or `backfill`.")
    for row in rows:
        if row.stream == "*":
            mark = row.high_water_mark
            lag = f", {int((now - mark).total_seconds() // 60)} min behind" if mark else ""
            lines.append(
                f"{row.source}: complete up to {mark:%Y-%m-%d %H:%M} UTC{lag}"
                if mark
                else f"{row.source}: nothing complete yet"
            )
            continue
        if row.stream.startswith("*"):
            continue
        cursor = json.loads(row.cursor) if row.cursor else {}
        where = cursor.get("start_time")
        position = (
            f"from {datetime.fromtimestamp(where, UTC):%Y-%m-%d %H:%M}"
            if where
            else "whole, as every time"
        )
        if cursor.get("after_cursor"):
            position += " (mid-export)"
        error = f"; LAST ERROR: {row.last_error}" if row.last_error else ""
        lines.append(f"  {row.source} {row.stream}: next read {position}{error}")
    lines.append(f"days waiting to be scored: {backlog}")
    for run in recent_runs(engine, 5):
        lines.append(
            f"run {run['run_id']} {run['command']} {run['source'] or ''} {run['status']} "
            f"started {run['started_at']:%Y-%m-%d %H:%M} — {run['detail'] or ''}"
        )
    return lines
