"""The quarantine table: source records set aside because they could not be read.

A source whose `bad_records` setting is "quarantine" yields a `Quarantined` record for a
record it cannot turn into the model, instead of stopping its stream. `store_records`
keeps one row per (source, stream, record id): when it was first and last seen, and the
error and raw record of the latest sighting. `deskmetrics status` shows the counts
(`quarantine_counts`) and `deskmetrics quarantine` the rows (`quarantined`), so a user can
report them to the vendor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from interactions import Quarantined
from warehouse.schema import quarantine

QuarantineKey = tuple[str, str, str]  # (source, stream, record_id)


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined record as stored."""

    source: str
    stream: str
    record_id: str
    error: str
    record: str | None  # the record as received, JSON text (possibly cut short)
    first_seen_at: datetime
    last_seen_at: datetime


def quarantine_rows(records: Iterable[Quarantined]) -> list[dict[str, Any]]:
    """Rows to upsert, one per key (a page may hold the same bad record twice)."""
    rows: dict[QuarantineKey, dict[str, Any]] = {}
    for record in records:
        key = (record.source, record.stream, record.record_id)
        row = rows.get(key)
        if row is None or record.seen_at >= row["last_seen_at"]:
            first = record.seen_at if row is None else min(row["first_seen_at"], record.seen_at)
            rows[key] = {
                "source": record.source,
                "stream": record.stream,
                "record_id": record.record_id,
                "error": record.error,
                "record": record.record,
                "first_seen_at": first,
                "last_seen_at": record.seen_at,
            }
        else:
            row["first_seen_at"] = min(row["first_seen_at"], record.seen_at)
    return [rows[key] for key in sorted(rows)]


def quarantine_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """How many records are quarantined, per (source, stream)."""
    query = select(quarantine.c.source, quarantine.c.stream, func.count()).group_by(
        quarantine.c.source, quarantine.c.stream
    )
    with engine.connect() as conn:
        return {(source, stream): int(n) for source, stream, n in conn.execute(query)}


def quarantined(
    engine: Engine,
    source: str | None = None,
    stream: str | None = None,
    record_id: str | None = None,
) -> list[QuarantineEntry]:
    """Quarantined records (of a source, a stream, with an id), oldest first per stream."""
    query = select(quarantine).order_by(
        quarantine.c.source,
        quarantine.c.stream,
        quarantine.c.first_seen_at,
        quarantine.c.record_id,
    )
    if source is not None:
        query = query.where(quarantine.c.source == source)
    if stream is not None:
        query = query.where(quarantine.c.stream == stream)
    if record_id is not None:
        query = query.where(quarantine.c.record_id == record_id)
    with engine.connect() as conn:
        return [QuarantineEntry(**row._mapping) for row in conn.execute(query)]
