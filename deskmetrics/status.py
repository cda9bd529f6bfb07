"""`deskmetrics status`: per source and stream, how far the data is complete, what failed,
who holds the source's lease, and an exit code for cron, systemd or a monitor.

    0 healthy · 1 lagging or degraded · 2 failing (failing wins over the others)

*Lagging*: an enabled source whose high-water mark (the moment up to which its
interactions are known complete, docs/metrics.md
"Resolution and first-contact resolution") is more than `[status] lag_alert_minutes`
behind now; a source that was never read completely (no high-water mark yet) is lagging
at once, whether it never ran or its first pass is under way.
*Degraded*: records of the source are in quarantine (set aside, not counted). *Failing*:
a scheduled stream of an enabled source whose last error is newer than its last success
(a success clears the error), counted from the first failed sync since that success, for
more than `[status] failing_alert_minutes`; a stream that has never succeeded is failing
at once. Backfill windows are shown but set no exit code: a window left half done is no
outage. Sources in the database but not enabled in the settings are shown and not judged.

A lease whose holder was a process of this machine that has ended is shown as
abandoned at once, and its run as `abandoned`, without waiting for the lease to expire.
A source is "complete up to" its high-water mark only when every stream of its latest
pass finished; a pass that was interrupted says which streams are still to go.
How a `Status` is shown, as lines or as JSON, is deskmetrics/status_view.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from connectors.registry import DEFAULT_TYPE, streams_of
from connectors.zendesk_surveys import csat_described
from deskmetrics.settings import Settings, StatusSettings
from warehouse.access import is_read_only
from warehouse.leases import gone_from_this_machine
from warehouse.quarantine import quarantine_counts
from warehouse.runs import close_abandoned_runs, recent_runs
from warehouse.schema import dirty_days, leases, runs, sync_state

SOURCE_ROW = "*"
HEALTHY, LAGGING, DEGRADED, FAILING = "ok", "lagging", "degraded", "failing"
NOT_CHECKED = "not_checked"
EXIT_CODES = {HEALTHY: 0, LAGGING: 1, DEGRADED: 1, FAILING: 2}


@dataclass(frozen=True)
class StreamStatus:
    """One stream's saved position and its last success and error."""

    stream: str
    state: str  # "finished", "interrupted", "failed" or "not_read" (in its latest pass)
    pass_number: int | None
    cursor: Mapping[str, Any]  # the connector's saved cursor, for diagnosis
    read_up_to: datetime | None  # how far through time the pass has read
    next_read_from: datetime | None  # where the next pass starts, once this one finished
    last_success_at: datetime | None
    last_error: str | None
    failing_minutes: float | None  # since the first failure after the last success


@dataclass(frozen=True)
class BackfillStatus:
    since: str
    until: str | None  # None: open-ended
    streams: tuple[StreamStatus, ...]


@dataclass(frozen=True)
class LeaseStatus:
    """The `leases` row of a source: who may write it now."""

    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    expired: bool
    abandoned: bool = False  # its holder was a process of this machine that has ended


@dataclass(frozen=True)
class SourceStatus:
    source: str
    checked: bool  # enabled in the settings: judged for the exit code
    health: str  # HEALTHY, LAGGING, DEGRADED, FAILING or NOT_CHECKED
    problems: tuple[str, ...]  # why it is lagging or failing, one sentence each
    high_water_mark: datetime | None
    lag_minutes: float | None
    pass_number: int
    streams_to_go: tuple[str, ...]  # streams of the latest pass that have not finished
    streams: tuple[StreamStatus, ...]
    backfills: tuple[BackfillStatus, ...]
    lease: LeaseStatus | None
    quarantined: Mapping[str, int]  # records set aside, by stream
    csat_read: str


@dataclass(frozen=True)
class Status:
    checked_at: datetime
    lag_alert_minutes: float
    failing_alert_minutes: float
    sources: tuple[SourceStatus, ...]
    dirty_days: int
    recent_runs: tuple[Mapping[str, Any], ...]

    @property
    def health(self) -> str:
        found = {s.health for s in self.sources}
        return next((h for h in (FAILING, LAGGING, DEGRADED) if h in found), HEALTHY)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.health]


def read_status(engine: Engine, now: datetime, settings: Settings | None = None) -> Status:
    """The status as of `now`. Without settings every source found is judged, with the
    default alert thresholds."""
    limits = settings.status if settings is not None else StatusSettings()
    with engine.connect() as conn:
        dead = {row.holder for row in conn.execute(select(leases.c.holder))}
    dead = {holder for holder in dead if gone_from_this_machine(holder)}
    _close_abandoned_runs(engine, now, dead)
    with engine.connect() as conn:
        rows = list(
            conn.execute(select(sync_state).order_by(sync_state.c.source, sync_state.c.stream))
        )
        backlog = int(conn.execute(select(func.count()).select_from(dirty_days)).scalar() or 0)
        held = {row.source: row for row in conn.execute(select(leases))}
        failed_syncs: dict[str, list[datetime]] = defaultdict(list)
        for source, moment in conn.execute(
            select(runs.c.source, func.coalesce(runs.c.finished_at, runs.c.started_at))
            .where(runs.c.command == "sync", runs.c.status == "failed")
            .order_by(runs.c.started_at)
        ):
            failed_syncs[source].append(moment)
    by_source: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_source[row.source].append(row)
    enabled = set(settings.enabled_sources()) if settings is not None else set(by_source)
    quarantined: dict[str, dict[str, int]] = defaultdict(dict)
    for (source, stream), count in quarantine_counts(engine).items():
        quarantined[source][stream] = count
    sources = tuple(
        _source_status(
            name,
            _streams_of_source(settings, name),
            by_source.get(name, []),
            name in enabled,
            _lease(held.get(name), now, dead),
            failed_syncs.get(name, []),
            quarantined.get(name, {}),
            limits,
            now,
        )
        for name in sorted(set(by_source) | enabled)
    )
    return Status(
        checked_at=now,
        lag_alert_minutes=limits.lag_alert_minutes,
        failing_alert_minutes=limits.failing_alert_minutes,
        sources=sources,
        dirty_days=backlog,
        recent_runs=tuple(recent_runs(engine, 5)),
    )


def _close_abandoned_runs(engine: Engine, now: datetime, dead: set[str]) -> None:
    """Runs whose process died show as `abandoned` once their lease expired, or at once
    when their holder is a `dead` process of this machine; a read-only database shows
    them as they are."""
    try:
        with engine.begin() as conn:
            close_abandoned_runs(conn, now, dead_holders=dead)
    except DBAPIError as refused:
        if not is_read_only(refused):
            raise


def _minutes(later: datetime, earlier: datetime) -> float:
    return max((later - earlier).total_seconds() / 60, 0.0)


def _lease(row: Any, now: datetime, dead: set[str]) -> LeaseStatus | None:
    if row is None:
        return None
    return LeaseStatus(
        row.holder,
        row.acquired_at,
        row.renewed_at,
        row.expires_at,
        row.expires_at <= now,
        abandoned=row.holder in dead,
    )


def _streams_of_source(settings: Settings | None, name: str) -> tuple[str, ...]:
    """The streams of the source's type; a source not in the settings (or none given) is
    of the type a `[sources.NAME]` table without `type` has."""
    source = settings.sources.get(name) if settings is not None else None
    return streams_of(source.type if source is not None else DEFAULT_TYPE)


def _source_status(
    source: str,
    stream_names: tuple[str, ...],
    rows: list[Any],
    checked: bool,
    lease: LeaseStatus | None,
    failed_syncs: list[datetime],
    quarantined: Mapping[str, int],
    limits: StatusSettings,
    now: datetime,
) -> SourceStatus:
    mark = next((r.high_water_mark for r in rows if r.stream == SOURCE_ROW), None)
    windows: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        if not row.stream.startswith("*"):
            prefix, _, _ = row.stream.rpartition(":")
            windows[prefix].append(row)
    ordered = sorted(windows.pop("", []), key=lambda r: _stream_order(stream_names, r.stream))
    streams = tuple(_stream_status(r.stream, r, failed_syncs, now) for r in ordered)
    latest = max((s.pass_number or 0 for s in streams), default=0)
    finished = {s.stream for s in streams if s.pass_number == latest and s.state == "finished"}
    to_go = tuple(name for name in stream_names if streams and name not in finished)
    lag = _minutes(now, mark) if mark else None
    problems = []
    for s in streams:
        if s.failing_minutes is None:
            continue
        if s.last_success_at is None:
            problems.append(
                f"{source} {s.stream} has never been read successfully (failing for "
                f"{s.failing_minutes:.0f} min)"
            )
        elif s.failing_minutes > limits.failing_alert_minutes:
            problems.append(
                f"{source} {s.stream} has been failing for {s.failing_minutes:.0f} min "
                f"(alert after {limits.failing_alert_minutes:g})"
            )
    failing, failing_problems = bool(problems), len(problems)
    if not streams and mark is None:
        problems.append(f"{source} has never been read: run `deskmetrics sync`")
    elif mark is None:
        problems.append(
            f"{source} has never been read completely: no figure of it is settled until its "
            "first pass finishes (`deskmetrics sync` goes on with it)"
        )
    elif lag is not None and lag > limits.lag_alert_minutes:
        problems.append(
            f"{source} is {lag:.0f} min behind (its high-water mark; alert after "
            f"{limits.lag_alert_minutes:g})"
        )
    lagging = len(problems) > failing_problems
    if quarantined:
        problems.append(
            f"{source} has {sum(quarantined.values())} records in quarantine, not counted "
            "(`deskmetrics quarantine` lists them)"
        )
    health = FAILING if failing else LAGGING if lagging else DEGRADED if quarantined else HEALTHY
    if not checked:
        health = NOT_CHECKED
    surveys = next((r for r in ordered if r.stream == "survey_responses"), None)
    return SourceStatus(
        source=source,
        checked=checked,
        health=health,
        problems=tuple(problems) if checked else (),
        high_water_mark=mark,
        lag_minutes=lag,
        pass_number=latest,
        streams_to_go=to_go,
        streams=streams,
        backfills=tuple(
            _backfill(stream_names, prefix, rows, now) for prefix, rows in sorted(windows.items())
        ),
        lease=lease,
        quarantined=dict(quarantined),
        # Which CSAT a Zendesk source reads; a source without the survey stream has no choice.
        csat_read=(
            csat_described(_cursor(surveys) if surveys else None)
            if "survey_responses" in stream_names
            else ""
        ),
    )


def _stream_order(names: tuple[str, ...], stream: str) -> tuple[int, str]:
    return (names.index(stream) if stream in names else len(names), stream)


def _backfill(
    names: tuple[str, ...], prefix: str, rows: list[Any], now: datetime
) -> BackfillStatus:
    since, until = [*prefix.split(":"), "", ""][1:3]  # backfill:<since>:<until>
    ordered = sorted(rows, key=lambda r: _stream_order(names, r.stream.rpartition(":")[2]))
    streams = tuple(_stream_status(r.stream.rpartition(":")[2], r, [], now) for r in ordered)
    return BackfillStatus(since, None if until in ("open", "") else until, streams)


def _cursor(row: Any) -> dict[str, Any]:
    found = json.loads(row.cursor) if row.cursor else {}
    return found if isinstance(found, dict) else {}


def _moment(stamp: Any) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, int | float) else None


def _stream_status(
    name: str, row: Any, failed_syncs: list[datetime], now: datetime
) -> StreamStatus:
    cursor = _cursor(row)
    if cursor.get("failed"):
        state = "failed"
    elif cursor.get("done"):
        state = "finished"
    else:
        state = "interrupted" if cursor else "not_read"
    # The first failed sync since the last success; without one recorded, that success
    # (or the row's last change), as the earliest the failure can have started.
    after = row.last_success_at
    failing_since = next(
        (moment for moment in failed_syncs if after is None or moment > after),
        row.last_success_at or row.updated_at,
    )
    return StreamStatus(
        stream=name,
        state=state,
        pass_number=int(cursor["pass"]) if cursor.get("pass") else None,
        cursor=cursor,
        read_up_to=_moment(cursor.get("reached")),
        next_read_from=_moment(cursor.get("start_time")) if cursor.get("done") else None,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        failing_minutes=_minutes(now, failing_since) if row.last_error else None,
    )
