"""`deskmetrics status` shown: a `Status` (deskmetrics/status.py) as readable lines, or as
one JSON object, the documented machine-readable shape (`"version": 1`).

Text a server sent (errors, lease holders, run details) is shown escaped, never run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from deskmetrics.output import visible
from deskmetrics.settings import Settings
from deskmetrics.status import LeaseStatus, SourceStatus, Status, StreamStatus, read_status

JSON_VERSION = 1


# --- readable lines ------------------------------------------------------------------------


def status_lines(engine: Engine, now: datetime, settings: Settings | None = None) -> list[str]:
    """`read_status` as readable lines (what `deskmetrics status` prints)."""
    return lines_of(read_status(engine, now, settings))


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def lines_of(status: Status) -> list[str]:
    """Per source its headline, lease and streams; then quarantine, backlog, runs, health."""
    lines: list[str] = []
    if not status.sources:
        lines.append("no source has been read yet: run `deskmetrics sync` or `backfill`.")
    for source in status.sources:
        lines.extend(_source_lines(source))
    for source in status.sources:
        for stream, count in sorted(source.quarantined.items()):
            lines.append(
                f"{source.source} {stream}: {count} records in quarantine "
                "(`deskmetrics quarantine` lists them)"
            )
    lines.append(f"days waiting to be scored: {status.dirty_days}")
    for run in status.recent_runs:
        lines.append(
            f"run {run['run_id']} {run['command']} {run['source'] or ''} {run['status']} "
            f"started {run['started_at']:%Y-%m-%d %H:%M} — {visible(run['detail'] or '')}"
        )
    problems = [p for s in status.sources for p in s.problems]
    verdict = "ok" if not problems else f"{status.health.upper()}: {'; '.join(problems)}"
    lines.append(f"health: {verdict} (exit {status.exit_code})")
    return lines


def _source_lines(s: SourceStatus) -> list[str]:
    lines = [_headline(s)]
    lines.append(f"  {s.source} lease: {_lease_text(s.lease)}")
    lines.extend(f"  {s.source} {t.stream}: {_stream_text(t)}" for t in s.streams)
    if s.streams and s.csat_read:
        lines.append(f"  {s.source} CSAT read: {s.csat_read}")
    for window in s.backfills:
        lines.append(f"  {s.source} backfill {window.since} to {window.until or 'now'}:")
        lines.extend(f"    {t.stream}: {_stream_text(t)}" for t in window.streams)
    return lines


def _headline(s: SourceStatus) -> str:
    judged = "" if s.checked else " (not enabled in the settings: not judged)"
    if not s.streams and s.high_water_mark is None:
        return f"{s.source}: nothing read yet{judged}"
    mark = s.high_water_mark
    known = f"complete up to {_at(mark)}" if mark else "nothing complete yet"
    lag = f", {s.lag_minutes:.0f} min behind" if mark and s.lag_minutes is not None else ""
    if not s.streams_to_go:
        finished = f" (pass {s.pass_number} finished)" if s.streams else ""
        return f"{s.source}: {known}{lag}{finished}{judged}"
    settled = f"up to {_at(mark)}{lag}" if mark else "nothing settled yet"
    return (
        f"{s.source}: pass {s.pass_number} not finished ({', '.join(s.streams_to_go)} to go); "
        f"figures are settled as of the last pass that finished: {settled}{judged}"
    )


def _lease_text(lease: LeaseStatus | None) -> str:
    if lease is None:
        return "free"
    holder = visible(lease.holder)
    if lease.abandoned:
        return (
            f"free (abandoned: its holder {holder}, a process of this machine, has ended "
            "without releasing it)"
        )
    if lease.expired:
        return f"free (the lease of {holder} expired at {_at(lease.expires_at)})"
    return (
        f"held by {holder} since {_at(lease.acquired_at)} (renewed {_at(lease.renewed_at)}, "
        f"expires {_at(lease.expires_at)})"
    )


def _stream_text(t: StreamStatus) -> str:
    upto = f" up to {t.read_up_to:%Y-%m-%d %H:%M}" if t.read_up_to else ""
    where = f"pass {t.pass_number} " if t.pass_number else ""
    state = {
        "failed": f"{where}FAILED after reading{upto or ' nothing'}",
        "finished": f"{where}finished{upto}",
        "interrupted": f"{where}interrupted, read{upto or ' its first pages'}",
    }.get(t.state, "not read yet")
    if t.next_read_from:
        state += f"; next read from {t.next_read_from:%Y-%m-%d %H:%M}"
    if t.last_success_at:
        state += f"; last success {_at(t.last_success_at)}"
    if t.last_error:
        state += f"; LAST ERROR (failing {t.failing_minutes:.0f} min): {visible(t.last_error)}"
    return state


# --- JSON ----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _stream_json(t: StreamStatus) -> dict[str, Any]:
    return {
        "stream": t.stream,
        "state": t.state,
        "pass": t.pass_number,
        "read_up_to": _iso(t.read_up_to),
        "next_read_from": _iso(t.next_read_from),
        "last_success_at": _iso(t.last_success_at),
        "last_error": t.last_error,
        "failing_minutes": _round(t.failing_minutes),
        "cursor": dict(t.cursor),
    }


def _round(minutes: float | None) -> float | None:
    return round(minutes, 1) if minutes is not None else None


def _lease_json(lease: LeaseStatus | None) -> dict[str, Any] | None:
    if lease is None:
        return None
    return {
        "holder": lease.holder,
        "acquired_at": _iso(lease.acquired_at),
        "renewed_at": _iso(lease.renewed_at),
        "expires_at": _iso(lease.expires_at),
        "expired": lease.expired,
        "abandoned": lease.abandoned,
    }


def _source_json(s: SourceStatus) -> dict[str, Any]:
    return {
        "source": s.source,
        "checked": s.checked,
        "health": s.health,
        "problems": list(s.problems),
        "high_water_mark": _iso(s.high_water_mark),
        "lag_minutes": _round(s.lag_minutes),
        "pass": s.pass_number,
        "streams_to_go": list(s.streams_to_go),
        "lease": _lease_json(s.lease),
        "streams": [_stream_json(t) for t in s.streams],
        "backfills": [
            {"since": w.since, "until": w.until, "streams": [_stream_json(t) for t in w.streams]}
            for w in s.backfills
        ],
        "quarantined": dict(s.quarantined),
        "csat_read": s.csat_read,
    }


def _runs_json(found: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keys = ("run_id", "command", "source", "status", "pages", "records", "requests", "detail",
            "holder")  # fmt: skip
    return [
        {
            **{key: run.get(key) for key in keys},
            "started_at": _iso(run.get("started_at")),
            "finished_at": _iso(run.get("finished_at")),
        }
        for run in found
    ]


def status_json(status: Status, database: str) -> str:
    """The status as one JSON object; its shape is documented in README ("status")."""
    shape = {
        "version": JSON_VERSION,
        "checked_at": _iso(status.checked_at),
        "database": database,
        "health": status.health,
        "exit_code": status.exit_code,
        "lag_alert_minutes": status.lag_alert_minutes,
        "failing_alert_minutes": status.failing_alert_minutes,
        "sources": [_source_json(s) for s in status.sources],
        "dirty_days": status.dirty_days,
        "recent_runs": _runs_json(status.recent_runs),
    }
    # ensure_ascii: text a server sent (errors, holders) is shown escaped, never run.
    return json.dumps(shape, indent=2, ensure_ascii=True, default=str)
