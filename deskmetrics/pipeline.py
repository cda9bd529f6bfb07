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
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from connectors.http import ApiUsage, RetryPolicy
from connectors.zendesk import STREAMS, Page, ZendeskConfig, ZendeskConnector
from connectors.zendesk_surveys import reads_legacy, skipped_pages
from deskmetrics.settings import Settings
from interactions import CursorStuckError, DeskmetricsError, InputError, MalformedRecordError
from scoring import (
    AgentDayFact,
    Contact,
    FactTally,
    ReportRow,
    ScoringSettings,
    Totals,
    repeat_contact_windows,
    report_rows,
)
from warehouse.facts import (
    DirtyMark,
    all_fact_days,
    contacts_of,
    count_interactions_on,
    dirty_marks,
    histories,
    interaction_ids_on,
    known_agents,
    owners_without_agent,
    period_totals,
    recent_activity,
    replace_day_facts,
)
from warehouse.leases import HeldLease, LeaseHeldError, holding
from warehouse.runs import finish_run, start_run
from warehouse.store import (
    DirtyRule,
    high_water_mark,
    known_sources,
    load_cursor,
    load_cursors,
    mark_days,
    record_error,
    save_cursor,
    store_page,
    store_records,
)

log = logging.getLogger(__name__)

# Scoring memory is bounded by work, not by the warehouse: a chunk of days (scored, then
# written in one transaction) spans at most SCORE_CHUNK_DAYS days and, unless one day alone
# has more, SCORE_CHUNK_INTERACTIONS interactions; its histories are read SCORE_BATCH at a
# time.
SCORE_CHUNK_DAYS = 31
SCORE_CHUNK_INTERACTIONS = 20_000
SCORE_BATCH = 1_000
SCORING_ROW = "*scoring"  # sync_state row remembering the settings the facts were made with

Progress = Callable[[str, Page, datetime | None], None]


@dataclass
class StreamResult:
    stream: str
    pages: int = 0
    records: int = 0


@dataclass
class SourceResult:
    source: str
    streams: list[StreamResult] = field(default_factory=list)
    usage: ApiUsage = field(default_factory=ApiUsage)
    stopped: bool = False  # a stop was asked for: the run ended after the page in hand
    seconds: float = 0.0
    lag: timedelta | None = None  # the source's clock minus its high-water mark, at the end

    def summary(self) -> str:
        """One line: records per stream, requests, duration and lag."""
        read = ", ".join(f"{s.stream} {s.records}" for s in self.streams) or "nothing"
        lag = f"{self.lag.total_seconds() / 60:.0f} min" if self.lag is not None else "unknown"
        ended = "stopped early; " if self.stopped else ""
        return (
            f"{self.source}: {ended}read {read}; {self.usage.requests} requests; "
            f"{self.seconds:.1f} s; lag behind the source {lag}"
        )


class RunTimeLimitError(DeskmetricsError):
    """A run passed its time bound (`sync.max_run_minutes`) and stopped after a page."""


@dataclass(frozen=True)
class RunBounds:
    """What ends one source's run early, checked after each stored page.

    `stop` (SIGTERM, SIGINT in `deskmetrics run`): the run ends as `stopped`. `deadline`
    (a `time.monotonic()` moment, the run's time bound of `minutes`): a
    `RunTimeLimitError`. `lease`: a `LeaseLostError` once another process took it over.
    The same deadline and stop also end the HTTP retries of the page in hand.
    """

    stop: threading.Event | None = None
    deadline: float | None = None
    minutes: float = 0.0
    lease: HeldLease | None = None

    @classmethod
    def of_run(
        cls, minutes: float, stop: threading.Event | None, lease: HeldLease | None
    ) -> RunBounds:
        deadline = time.monotonic() + minutes * 60 if minutes > 0 else None
        return cls(stop, deadline, minutes, lease)

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def policy(self, policy: RetryPolicy) -> RetryPolicy:
        return replace(policy, run_deadline=self.deadline, stop=self.stop)

    def after_page(self, name: str, stream: str) -> bool:
        """True when the run must stop now (a stop was asked for); raises past its bounds."""
        if self.lease is not None:
            self.lease.check()
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise RunTimeLimitError(
                f"{name} {stream}: this run passed its time bound of {self.minutes:g} minutes "
                "(sync.max_run_minutes) and stopped after the page in hand, whose cursor is "
                "saved: the next run goes on from there. If runs this long are expected (a "
                "first sync of a large desk), raise sync.max_run_minutes or backfill first."
            )
        return self.stopping()


def dirty_rule(settings: Settings) -> DirtyRule:
    return DirtyRule(
        timezone=settings.timezone,
        repeat_window=timedelta(hours=settings.fcr.repeat_window_hours),
    )


def _connector(
    settings: Settings, name: str, config: ZendeskConfig | None, policy: RetryPolicy | None
) -> ZendeskConnector:
    return ZendeskConnector(
        config or settings.zendesk_config(name), policy or settings.retry_policy()
    )


def _pages(
    connector: ZendeskConnector,
    stream: str,
    cursor: dict[str, Any] | None,
    since: datetime,
    until: datetime | None,
) -> Iterator[Page]:
    if stream == "agents":
        return connector.agent_pages(cursor)
    if stream == "tickets":
        # The survey stream reads the responses of the tickets this export shows answered.
        return connector.surveys.noting(cursor, connector.ticket_pages(cursor, since, until))
    if stream == "events":
        return connector.event_pages(cursor, since, until)
    if stream == "survey_responses":
        return connector.survey_pages(cursor, since, until)
    if not reads_legacy(connector.config.csat):
        return skipped_pages(stream, cursor)
    return connector.rating_pages(cursor, since, until)


def pull_source(
    engine: Engine,
    settings: Settings,
    name: str,
    since: datetime,
    until: datetime | None = None,
    stream_prefix: str = "",
    progress: Progress | None = None,
    config: ZendeskConfig | None = None,
    policy: RetryPolicy | None = None,
    bounds: RunBounds | None = None,
) -> SourceResult:
    """Read every stream of source `name` into the warehouse, page by page, until done or
    until `bounds` end the run (the caller holds the source's lease: `bounds.lease`)."""
    bounds = bounds or RunBounds()
    started = time.monotonic()
    bounded = bounds.policy(policy or settings.retry_policy())
    with _connector(settings, name, config, bounded) as connector:
        result = _pull_streams(
            engine, settings, connector, name, since, until, stream_prefix, progress, bounds
        )
    result.seconds = time.monotonic() - started
    with engine.connect() as conn:
        mark = high_water_mark(conn, name)
    if mark is not None:
        result.lag = (result.usage.last_server_time or datetime.now(UTC)) - mark
    return result


def _pull_streams(
    engine: Engine,
    settings: Settings,
    connector: ZendeskConnector,
    name: str,
    since: datetime,
    until: datetime | None,
    stream_prefix: str,
    progress: Progress | None,
    bounds: RunBounds | None = None,
) -> SourceResult:
    """One pass over the source's streams: the interrupted pass first, if there is one.

    A stream that finished in the current pass is not read again until every stream of the
    pass has finished (or failed): a run interrupted again and again still gets through all
    of them. A stream whose cursor is stuck or whose record is malformed stops alone; the
    other streams go on, and the first such failure is raised at the end.
    """
    rule = dirty_rule(settings)
    result = SourceResult(name, usage=connector.usage)
    saved = {stream: load_cursor(engine, name, f"{stream_prefix}{stream}") for stream in STREAMS}
    if not stream_prefix:
        saved = {s: c or _open_backfill_cursor(engine, name, s) for s, c in saved.items()}
    number, finished = pass_position(saved)
    failures: list[DeskmetricsError] = []
    for stream in STREAMS:
        key = f"{stream_prefix}{stream}"
        if stream in finished:
            log.info("%s %s: finished in pass %d already; not read again", name, stream, number)
            continue
        done = StreamResult(stream)
        result.streams.append(done)
        cursor = _connector_cursor(saved[stream])
        try:
            for page in _pages(connector, stream, cursor, since, until):
                kept = {**page.cursor, "pass": number, "done": page.done}
                if page.reached is not None:
                    kept["reached"] = int(page.reached.timestamp())
                store_page(engine, name, key, page.records, kept, rule, page.high_water_mark)
                done.pages += 1
                done.records += page.read
                if progress is not None:
                    progress(stream, page, until)
                if bounds is not None and bounds.after_page(name, stream):
                    result.stopped = True
                    break
        except (CursorStuckError, MalformedRecordError) as failed:
            # This stream alone cannot go on; it counts as finished for this pass so the
            # next run starts a new pass (and tries it again) instead of retrying it alone.
            _mark_failed(engine, name, key, number, str(failed))
            log.error("%s %s: %s", name, stream, failed)
            failures.append(failed)
            continue
        except DeskmetricsError as failed:
            if bounds is not None and bounds.stopping():
                # The stop cut the page in hand short (its retries end): nothing of it was
                # stored, its cursor stands, and a stop is no error.
                log.info("%s %s: stopped during a page (%s)", name, stream, failed)
                result.stopped = True
                break
            record_error(engine, name, key, str(failed))
            if failures:  # the earlier failure stays the one reported; this one is logged
                log.error("%s %s: %s", name, stream, failed)
                raise failures[0] from failed
            raise
        log.info("%s %s: %d records in %d pages", name, stream, done.records, done.pages)
        if result.stopped:
            log.info("%s: stopped as asked; the next run goes on from the saved cursors", name)
            break
    if not result.stopped:
        _fetch_missing_agents(engine, connector, name)
        now = connector.usage.last_server_time or datetime.now(UTC)
        warning = csat_silence(engine, name, now)
        if warning:
            log.warning(warning)
    log.info("%s API usage: %s", name, connector.usage.summary())
    if failures:
        raise failures[0]
    return result


# Keys the pipeline adds to a stream's saved cursor: which pass it belongs to, whether the
# stream finished (or failed in) that pass, and how far through time it read (for status).
PASS_KEYS = ("pass", "done", "failed", "reached")


def pass_position(saved: dict[str, dict[str, Any] | None]) -> tuple[int, set[str]]:
    """(pass number, streams finished in it): the pass to go on with, or a new one."""
    number = max((int(c.get("pass", 0)) for c in saved.values() if c), default=0)
    finished = {
        stream
        for stream, c in saved.items()
        if c and int(c.get("pass", 0)) == number and (c.get("done") or c.get("failed"))
    }
    if number == 0 or finished == set(saved):
        return number + 1, set()
    return number, finished


def _connector_cursor(saved: dict[str, Any] | None) -> dict[str, Any] | None:
    """The connector's own cursor, without what the pipeline keeps beside it."""
    if not saved:
        return None
    return {k: v for k, v in saved.items() if k not in PASS_KEYS}


def _mark_failed(engine: Engine, name: str, key: str, number: int, message: str) -> None:
    cursor = load_cursor(engine, name, key) or {}
    record_error(engine, name, key, message, cursor={**cursor, "pass": number, "failed": True})


def _open_backfill_cursor(engine: Engine, name: str, stream: str) -> dict[str, Any] | None:
    """Where a finished open-ended backfill of `stream` ended: the first sync goes on from
    there instead of re-reading `initial_lookback_days` (never for a window with an end)."""
    ended = [
        cursor
        for key, cursor in load_cursors(engine, name, "backfill:").items()
        if key.endswith(f":open:{stream}") and cursor.get("done")
    ]
    if not ended:
        return None
    return _connector_cursor(max(ended, key=lambda c: int(c.get("start_time", 0))))


CSAT_SILENCE = timedelta(days=14)
CSAT_SILENCE_MIN_RESOLUTIONS = 50


def csat_silence(engine: Engine, name: str, now: datetime) -> str | None:
    """A warning when tickets are being solved and no satisfaction answers arrive: neither
    legacy ratings nor survey responses (both are rows of `ratings`).

    An account that switched to Zendesk's new CSAT stops writing legacy ratings; with
    `csat = "legacy"` deskmetrics does not read its survey responses, and CSAT dies out.
    """
    with engine.connect() as conn:
        resolutions, answers = recent_activity(conn, name, now - CSAT_SILENCE)
    if resolutions < CSAT_SILENCE_MIN_RESOLUTIONS or answers:
        return None
    surveys = load_cursor(engine, name, "survey_responses") or {}
    if surveys.get("reading") in (None, "legacy"):
        cause = (
            'deskmetrics reads legacy satisfaction ratings only (csat = "legacy"); if the '
            'account switched to new CSAT survey responses, set csat = "auto" or "surveys" '
            f"in [sources.{name}]"
            if surveys.get("mode") == "legacy"
            else "no enabled customer-satisfaction survey was found either; check Admin "
            "Center > CSAT, and that the API user may read surveys"
        )
    else:
        cause = (
            "deskmetrics reads survey responses too, and none was answered; check Admin "
            "Center > CSAT (is the survey still sent?)"
        )
    return (
        f"{name}: {resolutions} resolutions and no satisfaction answers (legacy ratings or "
        f"new CSAT survey responses) in the last {CSAT_SILENCE.days} days: {cause}. CSAT "
        "figures will stop."
    )


def _fetch_missing_agents(engine: Engine, connector: ZendeskConnector, name: str) -> None:
    """Owners no longer listed as agents (downgraded, deleted) keep their last known name."""
    with engine.connect() as conn:
        missing = owners_without_agent(conn, name)
    if not missing:
        return
    found = connector.agents_by_id(missing)
    with engine.begin() as conn:
        store_records(conn, found, datetime.now(UTC))
    log.info("%s: looked up %d former or unlisted agents", name, len(found))


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
            log.error("%s: sync failed: %s", name, failed)
            failures.append(failed)
            continue
        results.append(result)
    if stop is None or not stop.is_set():
        score_when_free(engine, settings)
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
            engine, settings, name, since, progress=progress, policy=policy, bounds=bounds
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
) -> int | None:
    """`score`, or None, with the days left dirty for the next score, when another process
    kept scoring past the wait (by default `leases.wait_seconds`)."""
    try:
        return score(engine, settings, days=days, wait_seconds=wait_seconds)
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
    config: ZendeskConfig | None = None,
    policy: RetryPolicy | None = None,
    stop: threading.Event | None = None,
    lease_wait_seconds: float | None = None,
) -> SourceResult:
    """Read the window [since, until) of one source into cursors of its own, then score.

    It holds the source's lease as `sync_source` does, with no time bound (a backfill is
    started and watched by hand, and resumes where it stopped); once `stop` is set it
    ends after the page in hand and scores nothing.
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
        bounds = RunBounds.of_run(0, stop, lease)
        result = pull_source(
            engine, settings, name, start, end, prefix, progress, config, policy, bounds
        )
        run.update(_run_counts(result))
    log.info("%s", result.summary())
    if not result.stopped:
        score_when_free(engine, settings)
    return result


def _local_midnight(day: date, settings: Settings) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(settings.timezone))


def _run_counts(result: SourceResult) -> dict[str, Any]:
    return {
        "pages": sum(s.pages for s in result.streams),
        "records": sum(s.records for s in result.streams),
        "requests": result.usage.requests,
        "detail": result.usage.summary(),
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
        finish_run(engine, run_id, "failed", counts, f"{type(failed).__name__}: {failed}")
        raise
    finish_run(engine, run_id, counts.get("status", "ok"), counts, counts.get("detail"))


def score(
    engine: Engine,
    settings: Settings,
    everything: bool = False,
    days: Sequence[date] | None = None,
    now: datetime | None = None,
    wait_seconds: float | None = None,
) -> int:
    """Recompute the facts of dirty days (or `days`, or all with `everything`), under the
    scoring lease: two scores at once would each write the facts of the model they read,
    the older last. A `LeaseHeldError` when another process keeps it past the wait."""
    with _lease(engine, settings, SCORING_LEASE, wait_seconds, None):
        return _score_leased(engine, settings, everything, days, now)


def _score_leased(
    engine: Engine,
    settings: Settings,
    everything: bool,
    days: Sequence[date] | None,
    now: datetime | None,
) -> int:
    scoring = settings.scoring()
    now = now or datetime.now(UTC)
    written = 0
    for name in sorted(known_sources(engine) | set(settings.sources)):
        marks = _days_to_score(engine, name, scoring, everything, days)
        for chunk in _chunks(engine, name, marks, scoring):
            written += _score_chunk(engine, name, chunk, scoring, now)
        _remember_scoring(engine, name, scoring, now)
        if marks:
            log.info("%s: scored %d days", name, len(marks))
    return written


def _days_to_score(
    engine: Engine,
    name: str,
    scoring: ScoringSettings,
    everything: bool,
    days: Sequence[date] | None,
) -> list[DirtyMark]:
    changed = load_cursor(engine, name, SCORING_ROW) not in (None, _fingerprint(scoring))
    if changed:
        log.info("%s: scoring settings changed since the last score: rescoring all days", name)
    if everything or changed:
        with engine.begin() as conn:
            mark_days(conn, name, all_fact_days(conn, name, scoring.timezone))
    if days is not None:
        with engine.begin() as conn:
            mark_days(conn, name, days)
    return dirty_marks(engine, name)


def _chunks(
    engine: Engine, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings
) -> list[list[DirtyMark]]:
    """The marks in day order, grouped so that each group spans at most SCORE_CHUNK_DAYS
    days and, unless one day alone has more, SCORE_CHUNK_INTERACTIONS interactions."""
    chunks: list[list[DirtyMark]] = []
    with engine.connect() as conn:
        for offset in range(0, len(marks), SCORE_CHUNK_DAYS):
            block = list(marks[offset : offset + SCORE_CHUNK_DAYS])
            if _interactions_on(conn, name, block, scoring) <= SCORE_CHUNK_INTERACTIONS:
                chunks.append(block)
                continue
            # A busy block: fill chunks day by day, an interaction counted once for each
            # day it counts on (never fewer than it is).
            held = 0
            chunks.append([])
            for mark in block:
                count = _interactions_on(conn, name, [mark], scoring)
                if chunks[-1] and held + count > SCORE_CHUNK_INTERACTIONS:
                    chunks.append([])
                    held = 0
                chunks[-1].append(mark)
                held += count
    return chunks


def _interactions_on(
    conn: Connection, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings
) -> int:
    return count_interactions_on(conn, name, [mark.day for mark in marks], scoring.timezone)


def _score_chunk(
    engine: Engine, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings, now: datetime
) -> int:
    # Read the marks first, then the model, then write: a page stored after the marks were
    # read marks its days again under a new token, so `replace_day_facts` leaves them dirty.
    facts = facts_of_days(engine, name, [mark.day for mark in marks], scoring)
    return replace_day_facts(engine, name, marks, facts, now)


def facts_of_days(
    engine: Engine,
    name: str,
    days: Sequence[date],
    scoring: ScoringSettings,
    batch_size: int = SCORE_BATCH,
) -> list[AgentDayFact]:
    """The complete facts of these local days of source `name`: from every interaction
    that counts on one of them, read `batch_size` histories at a time with the contacts
    their repeat windows need. Facts add up, so the batches change no count."""
    tally = FactTally(scoring)
    with engine.connect() as conn:
        mark = high_water_mark(conn, name)
        ids = sorted(interaction_ids_on(conn, name, days, scoring.timezone))
        for offset in range(0, len(ids), batch_size):
            _tally_batch(conn, name, ids[offset : offset + batch_size], mark, scoring, tally)
    return tally.facts(days)


def _tally_batch(
    conn: Connection,
    name: str,
    ids: Sequence[str],
    mark: datetime | None,
    scoring: ScoringSettings,
    tally: FactTally,
) -> None:
    # A function of its own, so one batch's histories are gone before the next is read.
    found = histories(conn, name, ids)
    windows = {
        customer: span for (_, customer), span in repeat_contact_windows(found, scoring).items()
    }
    contacts = {
        key: [Contact(i, at) for i, at in items]
        for key, items in contacts_of(conn, name, windows).items()
    }
    tally.add(found, contacts, {name: mark})


def _fingerprint(scoring: ScoringSettings) -> dict[str, Any]:
    kept = asdict(scoring)
    kept.pop("min_sample")  # a report-time setting: changing it changes no stored fact
    return json.loads(json.dumps(kept))  # type: ignore[no-any-return]


def _remember_scoring(engine: Engine, name: str, scoring: ScoringSettings, now: datetime) -> None:
    with engine.begin() as conn:
        save_cursor(conn, name, SCORING_ROW, _fingerprint(scoring), now)


def report(
    engine: Engine,
    settings: Settings,
    since: date,
    until: date,
    source: str | None = None,
    by: str = "agent",
) -> list[ReportRow]:
    """Report rows over local days [since, until), after scoring any dirty day."""
    if until <= since:
        raise InputError(f"--until {until} is not after --since {since}; the period is empty.")
    known = known_sources(engine) | set(settings.sources)
    if source is not None and source not in known:
        raise InputError(
            f"--source {source!r} is not a source of this warehouse (known: "
            f"{', '.join(sorted(known)) or 'none yet'}); pick one of those."
        )
    score_when_free(engine, settings)
    totals = [Totals(**row) for row in period_totals(engine, since, until, source)]
    return report_rows(totals, known_agents(engine), by, settings.scoring())
