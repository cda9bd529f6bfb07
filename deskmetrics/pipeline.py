"""The jobs: sync, backfill, score, report — connectors, warehouse and scoring wired together.

    pull (connector page) → store (page + cursor, one transaction) → mark dirty days
    → score dirty days → serve (report rows)

Sync reads every enabled source's streams from their scheduled cursors. A backfill reads
a window into cursors of its own (`backfill:<since>:<until>:<stream>`), so it never moves
the scheduled ones. Each command is recorded in `runs` with what it cost.

A process reads a source only while it holds the source's lease (warehouse/leases.py), so
two processes never write one source at once. A run ends early, after the page in hand
is stored, when a stop is asked for (`stopped`) or when it passes its time bound or loses
its lease (an error); its cursor is saved either way (`RunBounds`).

Reading a source's pages is deskmetrics/pull.py; recomputing the facts of dirty days is
deskmetrics/rescoring.py. This module runs them as jobs, under their leases.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from connectors.http import RetryPolicy
from connectors.registry import SourceConfig
from deskmetrics.pull import Progress, RunBounds, SourceResult, pull_source
from deskmetrics.rescoring import score_leased
from deskmetrics.settings import Settings
from interactions import DeskmetricsError, InputError
from scoring import ReportRow, Totals, report_rows
from warehouse.cursors import known_sources
from warehouse.facts import known_agents, period_totals
from warehouse.leases import HeldLease, LeaseHeldError, holding
from warehouse.runs import finish_run, start_run

log = logging.getLogger(__name__)


def sync(
    engine: Engine,
    settings: Settings,
    only: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
    stop: threading.Event | None = None,
    lease_wait_seconds: float | None = None,
) -> list[SourceResult]:
    """One incremental pass of every enabled source (or `only`), then score dirty days.

    A source that fails does not stop the others; the first failure is raised at the end,
    after what the others read has been scored. `policy` replaces the settings' retry
    policy (tests give one whose sleep records instead of waiting). Once `stop` is set,
    the source in hand ends after its page in hand, no other is read and nothing is
    scored (the days stay dirty for the next score).
    """
    now = now or datetime.now(UTC)
    results = []
    failures: list[DeskmetricsError] = []
    for name in settings.enabled_sources(only):
        if stop is not None and stop.is_set():
            break
        try:
            result = sync_source(
                engine, settings, name, now, progress, policy, stop, lease_wait_seconds
            )
        except DeskmetricsError as failed:
            if failures:  # the first is raised at the end, and said once then
                log.error("%s: sync failed: %s", name, failed)
            failures.append(failed)
            continue
        results.append(result)
    if stop is None or not stop.is_set():
        score_when_free(engine, settings, stop=stop)
    if failures:
        raise failures[0]
    return results


def sync_source(
    engine: Engine,
    settings: Settings,
    name: str,
    now: datetime | None = None,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
    stop: threading.Event | None = None,
    lease_wait_seconds: float | None = None,
) -> SourceResult:
    """One incremental run of source `name` under its lease, recorded in `runs` and
    logged in one line; it scores nothing.

    The lease is waited for up to `lease_wait_seconds` (default `leases.wait_seconds`),
    then a `LeaseHeldError` names its holder. The run is bounded by
    `sync.max_run_minutes` and ends early, as `stopped`, once `stop` is set.
    """
    now = now or datetime.now(UTC)
    since = now - timedelta(days=settings.sync.initial_lookback_days)
    with (
        _lease(engine, settings, name, lease_wait_seconds, stop) as lease,
        recorded_run(engine, "sync", name, lease.holder) as run,
    ):
        bounds = RunBounds.of_run(settings.sync.max_run_minutes, stop, lease)
        result = pull_source(
            engine, settings, name, since, progress=progress, policy=policy, bounds=bounds, run=run
        )
        run.update(_run_counts(result))
    log.info("%s", result.summary())
    return result


# The lease every score takes (no source has this name): two scores at once would each
# write the facts of the model they read, the older last.
SCORING_LEASE = "*scoring"


def score_when_free(
    engine: Engine,
    settings: Settings,
    days: Sequence[date] | None = None,
    wait_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> int | None:
    """`score`, or None, with the days left dirty for the next score, when another process
    kept scoring past the wait (by default `leases.wait_seconds`) or a stop was asked for
    while waiting."""
    try:
        return score(engine, settings, days=days, wait_seconds=wait_seconds, stop=stop)
    except LeaseHeldError as held:
        log.warning("not scored now (%s); the days stay dirty for the next score", held.held_by)
        return None


def _lease(
    engine: Engine,
    settings: Settings,
    name: str,
    wait_seconds: float | None,
    stop: threading.Event | None,
) -> AbstractContextManager[HeldLease]:
    wait = settings.leases.wait_seconds if wait_seconds is None else wait_seconds
    return holding(engine, name, timedelta(minutes=settings.leases.ttl_minutes), wait, stop)


def backfill(
    engine: Engine,
    settings: Settings,
    name: str,
    since: date,
    until: date | None,
    progress: Progress | None = None,
    config: SourceConfig | None = None,
    policy: RetryPolicy | None = None,
    stop: threading.Event | None = None,
    lease_wait_seconds: float | None = None,
) -> SourceResult:
    """Read the window [since, until) of one source into cursors of its own, then score.

    It holds the source's lease as `sync_source` does, with a time bound of its own
    (`sync.max_backfill_minutes`: a backfill resumes where it stopped, so a long one is
    several runs); once `stop` is set it ends after the page in hand and scores nothing.
    """
    settings.enabled_sources(name)
    if until is not None and until <= since:
        raise InputError(f"--until {until} is not after --since {since}; swap or fix them.")
    if since > datetime.now(UTC).date():
        raise InputError(f"--since {since} is in the future; there is nothing to read yet.")
    start = _local_midnight(since, settings)
    end = _local_midnight(until, settings) if until is not None else None
    prefix = f"backfill:{since.isoformat()}:{until.isoformat() if until else 'open'}:"
    with (
        _lease(engine, settings, name, lease_wait_seconds, stop) as lease,
        recorded_run(engine, "backfill", name, lease.holder) as run,
    ):
        bounds = RunBounds.of_run(
            settings.sync.max_backfill_minutes, stop, lease, "sync.max_backfill_minutes"
        )
        result = pull_source(
            engine, settings, name, start, end, prefix, progress, config, policy, bounds, run
        )
        run.update(_run_counts(result))
    log.info("%s", result.summary())
    if not result.stopped:
        score_when_free(engine, settings, stop=stop)
    return result


def check_sources(settings: Settings, names: Sequence[str]) -> None:
    """A `ConfigError` when a source's settings or secrets are wrong or missing (the
    connector's config is built of them): checked before anything is created on disk."""
    for name in names:
        settings.source_config(name)


def check_source_known(engine: Engine, settings: Settings, source: str | None) -> None:
    """An `InputError` when `--source` names neither a source of the settings nor one the
    warehouse holds: a misspelt name would otherwise show nothing, as if all were well."""
    known = known_sources(engine) | set(settings.sources)
    if source is not None and source not in known:
        raise InputError(
            f"--source {source!r} is not a source of this warehouse (known: "
            f"{', '.join(sorted(known)) or 'none yet'}); pick one of those."
        )


def _local_midnight(day: date, settings: Settings) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(settings.timezone))


def _run_counts(result: SourceResult) -> dict[str, Any]:
    return {
        "pages": sum(s.pages for s in result.streams),
        "records": sum(s.records for s in result.streams),
        "requests": result.usage.requests,
        "detail": result.usage.summary() + result.set_aside(),
        "status": "stopped" if result.stopped else "ok",
    }


@contextmanager
def recorded_run(
    engine: Engine, command: str, source: str | None, holder: str | None = None
) -> Iterator[dict[str, Any]]:
    """A `runs` row for the block, under the lease `holder`: `ok` with its counts (or the
    `status` the block puts in them: `stopped`), `failed` with the error, `stopped` when
    interrupted by Ctrl-C."""
    run_id = start_run(engine, command, source, holder)
    counts: dict[str, Any] = {}
    try:
        yield counts
    except KeyboardInterrupt:
        finish_run(engine, run_id, "stopped", counts, "interrupted (Ctrl-C)")
        raise
    except BaseException as failed:
        usage = f" (API usage: {counts['usage']})" if "usage" in counts else ""
        finish_run(engine, run_id, "failed", counts, f"{type(failed).__name__}: {failed}{usage}")
        raise
    finish_run(engine, run_id, counts.get("status", "ok"), counts, counts.get("detail"))


def score(
    engine: Engine,
    settings: Settings,
    everything: bool = False,
    days: Sequence[date] | None = None,
    now: datetime | None = None,
    wait_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Recompute the facts of dirty days (or `days`, or all with `everything`), under the
    scoring lease: two scores at once would each write the facts of the model they read,
    the older last. A `LeaseHeldError` when another process keeps it past the wait."""
    with _lease(engine, settings, SCORING_LEASE, wait_seconds, stop):
        return score_leased(engine, settings, everything, days, now)


def report(
    engine: Engine,
    settings: Settings,
    since: date,
    until: date,
    source: str | None = None,
    by: str = "agent",
    rescore: bool = True,
) -> list[ReportRow]:
    """Report rows over local days [since, until), after scoring any dirty day (unless
    `rescore` is false: the figures as last scored, e.g. on a read-only database)."""
    if until <= since:
        raise InputError(f"--until {until} is not after --since {since}; the period is empty.")
    check_source_known(engine, settings, source)
    if rescore:
        score_when_free(engine, settings)
    totals = [Totals(**row) for row in period_totals(engine, since, until, source)]
    return report_rows(totals, known_agents(engine), by, settings.scoring())
