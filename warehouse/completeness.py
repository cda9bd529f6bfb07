"""How far each source is read, and which local days are provisional (docs/metrics.md
"Completeness").

A source's figures for a local day are provisional while its high-water mark is earlier
than the end of that day plus the FCR repeat window; a source never read completely has
only provisional days. So the provisional days of a source are every day from the one
holding `high_water_mark - repeat_window` on (`provisional_from`), or all of them.

Owns `Completeness` (one source's mark and first provisional day, as `report` and
`export` state them) and the `source_completeness` table the views join, which every
score rewrites with the settings it scored with (warehouse/views.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from warehouse.cursors import high_water_mark
from warehouse.schema import source_completeness
from warehouse.upserts import upsert


@dataclass(frozen=True)
class Completeness:
    """One source: its high-water mark (None: never read completely) and its first
    provisional local day (None: every day is provisional)."""

    source: str
    high_water_mark: datetime | None
    provisional_from: date | None


def provisional_from(mark: datetime | None, timezone: str, repeat_window: timedelta) -> date | None:
    """The first local day whose end plus the repeat window is later than `mark`."""
    if mark is None:
        return None
    return (mark - repeat_window).astimezone(ZoneInfo(timezone)).date()


def completeness_of(
    conn: Connection, sources: Iterable[str], timezone: str, repeat_window: timedelta
) -> list[Completeness]:
    """Each source's completeness now, in source order."""
    found = []
    for source in sorted(set(sources)):
        mark = high_water_mark(conn, source)
        found.append(Completeness(source, mark, provisional_from(mark, timezone, repeat_window)))
    return found


def write_completeness(
    conn: Connection, source: str, timezone: str, repeat_window: timedelta, now: datetime
) -> None:
    """Rewrite the source's `source_completeness` row from its high-water mark now."""
    (state,) = completeness_of(conn, [source], timezone, repeat_window)
    row = {
        "source": source,
        "high_water_mark": state.high_water_mark,
        "provisional_from": state.provisional_from,
        "computed_at": now,
    }
    upsert(conn, source_completeness, [row])
