"""What a report or export is of: the period, the time zone, `report.min_sample` and, per
source, how far it is read and which days are provisional (docs/metrics.md
"Completeness"), in words for the table and as metadata for files.

Owns `FileMeta`, built once per report or export and written with its file: in a Parquet
file as key-value metadata under `deskmetrics`, beside a CSV (or JSON) file as a sidecar
`<file>.meta.json`, so the report's columns stay as they are (docs/bi.md "Files").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from deskmetrics.settings import Settings
from warehouse.completeness import Completeness, completeness_of
from warehouse.cursors import known_sources

META_KEY = "deskmetrics"  # the Parquet key-value metadata key
SIDECAR_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class FileMeta:
    """What a file of `what` rows over local days [since, until) is (None: unbounded)."""

    what: str
    since: date | None
    until: date | None
    timezone: str
    min_sample: int
    by: str | None
    sources: tuple[Completeness, ...]

    def provisional(self, state: Completeness) -> tuple[date | None, date | None] | None:
        """The provisional days of one source in the period, (first, last), either None
        where the period is unbounded; None when every day of the period is settled."""
        starts = [d for d in (self.since, state.provisional_from) if d is not None]
        first = max(starts) if starts else None
        last = self.until - timedelta(days=1) if self.until is not None else None
        if first is not None and last is not None and first > last:
            return None
        return first, last

    def as_dict(self) -> dict[str, Any]:
        sources = {}
        for state in self.sources:
            days = self.provisional(state)
            sources[state.source] = {
                "high_water_mark": _iso(state.high_water_mark),
                "provisional_from": _iso(state.provisional_from),
                "provisional_days": (
                    None if days is None else {"first": _iso(days[0]), "last": _iso(days[1])}
                ),
            }
        return {
            "what": self.what,
            "since": _iso(self.since),
            "until_exclusive": _iso(self.until),
            "timezone": self.timezone,
            "min_sample": self.min_sample,
            "by": self.by,
            "sources": sources,
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=True)

    def lines(self) -> list[str]:
        """Per source, in words: how far it is read and which days are provisional."""
        said = []
        for state in self.sources:
            days = self.provisional(state)
            if state.high_water_mark is None:
                said.append(
                    f"{state.source}: never read completely; every figure is provisional "
                    "and may still change"
                )
                continue
            read = f"{state.source}: read up to {state.high_water_mark:%Y-%m-%d %H:%M} UTC"
            if days is None:
                said.append(f"{read}; every day shown is settled")
            else:
                said.append(f"{read}; provisional, may still change: {_span(*days)}")
        return said


def sidecar_of(path: Path) -> Path:
    """Where the metadata of the file at `path` is written: `<path>.meta.json`."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _span(first: date | None, last: date | None) -> str:
    if first is None:
        return "every day" if last is None else f"every day up to {last}"
    if last is None:
        return f"{first} on"
    return str(first) if first == last else f"{first} to {last}"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def file_meta(
    engine: Engine,
    settings: Settings,
    what: str,
    since: date | None,
    until: date | None,
    source: str | None = None,
    by: str | None = None,
    shown: Sequence[str] = (),
) -> FileMeta:
    """The metadata of a file of source `source` (None: every source the warehouse has
    read or the settings enable, and those `shown` in its rows)."""
    if source is not None:
        sources = {source}
    else:
        sources = known_sources(engine) | set(settings.enabled_sources()) | set(shown)
    window = timedelta(hours=settings.fcr.repeat_window_hours)
    with engine.connect() as conn:
        states = completeness_of(conn, sources, settings.timezone, window)
    return FileMeta(
        what, since, until, settings.timezone, settings.report.min_sample, by, tuple(states)
    )
