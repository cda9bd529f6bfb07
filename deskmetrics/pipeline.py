"""The jobs: sync, backfill, score, report — connectors, warehouse and scoring wired together.

    pull (connector page) → store (page + cursor, one transaction) → mark dirty days
    → score dirty days → serve (report rows)

Sync reads every enabled source's streams from their scheduled cursors. A backfill reads
a window into cursors of its own (`backfill:<since>:<until>:<stream>`), so it never moves
the scheduled ones. Each command is recorded in `runs` with what it cost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from connectors.http import ApiUsage, RetryPolicy
from connectors.zendesk import STREAMS, Page, ZendeskConfig, ZendeskConnector
from deskmetrics.settings import Settings
from interactions import DeskmetricsError, InputError
from scoring import Contact, ReportRow, ScoringSettings, Totals, report_rows, score_days
from warehouse.facts import (
    all_fact_days,
    contacts_of,
    histories,
    interaction_ids_on,
    known_agents,
    owners_without_agent,
    period_totals,
    recent_activity,
    replace_day_facts,
)
from warehouse.runs import finish_run, start_run
from warehouse.store import (
    DirtyRule,
    dirty_days_of,
    high_water_mark,
    known_sources,
    load_cursor,
    mark_days,
    record_error,
    save_cursor,
    store_page,
    store_records,
)

log = logging.getLogger(__name__)

SCORE_CHUNK_DAYS = 31
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
        return connector.ticket_pages(cursor, since, until)
    if stream == "events":
        return connector.event_pages(cursor, since, until)
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
) -> SourceResult:
    """Read every stream of source `name` into the warehouse, page by page."""
    with _connector(settings, name, config, policy) as connector:
        return _pull_streams(
            engine, settings, connector, name, since, until, stream_prefix, progress
        )


def _pull_streams(
    engine: Engine,
    settings: Settings,
    connector: ZendeskConnector,
    name: str,
    since: datetime,
    until: datetime | None,
    stream_prefix: str,
    progress: Progress | None,
) -> SourceResult:
    rule = dirty_rule(settings)
    result = SourceResult(name, usage=connector.usage)
    for stream in STREAMS:
        key = f"{stream_prefix}{stream}"
        done = StreamResult(stream)
        result.streams.append(done)
        try:
            for page in _pages(connector, stream, load_cursor(engine, name, key), since, until):
                store_page(engine, name, key, page.records, page.cursor, rule, page.high_water_mark)
                done.pages += 1
                done.records += page.read
                if progress is not None:
                    progress(stream, page, until)
        except DeskmetricsError as failed:
            record_error(engine, name, key, str(failed))
            raise
        log.info("%s %s: %d records in %d pages", name, stream, done.records, done.pages)
    _fetch_missing_agents(engine, connector, name)
    warning = csat_silence(engine, name, connector.usage.last_server_time or datetime.now(UTC))
    if warning:
        log.warning(warning)
    log.info("%s API usage: %s", name, connector.usage.summary())
    return result


CSAT_SILENCE = timedelta(days=14)
CSAT_SILENCE_MIN_RESOLUTIONS = 50


def csat_silence(engine: Engine, name: str, now: datetime) -> str | None:
    """A warning when tickets are being solved and no satisfaction records arrive.

    An account that switches to Zendesk's new CSAT (survey responses) stops writing the
    legacy ratings this connector reads: CSAT would die out silently (research, "Settled
    since").
    """
    with engine.connect() as conn:
        resolutions, answers = recent_activity(conn, name, now - CSAT_SILENCE)
    if resolutions < CSAT_SILENCE_MIN_RESOLUTIONS or answers:
        return None
    return (
        f"{name}: {resolutions} resolutions and no satisfaction ratings in the last "
        f"{CSAT_SILENCE.days} days. If the account switched to Zendesk's new CSAT survey "
        "responses, deskmetrics cannot read them yet and CSAT figures will stop; check "
        "Admin Center > CSAT."
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
) -> list[SourceResult]:
    """One incremental pass of every enabled source (or `only`), then score dirty days.

    A source that fails does not stop the others; the first failure is raised at the end,
    after what the others read has been scored.
    """
    now = now or datetime.now(UTC)
    since = now - timedelta(days=settings.sync.initial_lookback_days)
    results = []
    failures: list[DeskmetricsError] = []
    for name in settings.enabled_sources(only):
        try:
            with recorded_run(engine, "sync", name) as run:
                result = pull_source(engine, settings, name, since, progress=progress)
                run.update(_run_counts(result))
        except DeskmetricsError as failed:
            log.error("%s: sync failed: %s", name, failed)
            failures.append(failed)
            continue
        results.append(result)
    score(engine, settings)
    if failures:
        raise failures[0]
    return results


def backfill(
    engine: Engine,
    settings: Settings,
    name: str,
    since: date,
    until: date | None,
    progress: Progress | None = None,
    config: ZendeskConfig | None = None,
    policy: RetryPolicy | None = None,
) -> SourceResult:
    """Read the window [since, until) of one source into cursors of its own, then score."""
    settings.enabled_sources(name)
    if until is not None and until <= since:
        raise InputError(f"--until {until} is not after --since {since}; swap or fix them.")
    if since > datetime.now(UTC).date():
        raise InputError(f"--since {since} is in the future; there is nothing to read yet.")
    start = _local_midnight(since, settings)
    end = _local_midnight(until, settings) if until is not None else None
    prefix = f"backfill:{since.isoformat()}:{until.isoformat() if until else 'open'}:"
    with recorded_run(engine, "backfill", name) as run:
        result = pull_source(engine, settings, name, start, end, prefix, progress, config, policy)
        run.update(_run_counts(result))
    score(engine, settings)
    return result


def _local_midnight(day: date, settings: Settings) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(settings.timezone))


def _run_counts(result: SourceResult) -> dict[str, Any]:
    return {
        "pages": sum(s.pages for s in result.streams),
        "records": sum(s.records for s in result.streams),
        "requests": result.usage.requests,
        "detail": result.usage.summary(),
    }


@contextmanager
def recorded_run(engine: Engine, command: str, source: str | None) -> Iterator[dict[str, Any]]:
    """A `runs` row for the block: `ok` with its counts, or `failed` with the error."""
    run_id = start_run(engine, command, source)
    counts: dict[str, Any] = {}
    try:
        yield counts
    except BaseException as failed:
        finish_run(engine, run_id, "failed", counts, f"{type(failed).__name__}: {failed}")
        raise
    finish_run(engine, run_id, "ok", counts, counts.get("detail"))


def score(
    engine: Engine,
    settings: Settings,
    everything: bool = False,
    days: Sequence[date] | None = None,
    now: datetime | None = None,
) -> int:
    """Recompute the facts of dirty days (or `days`, or all with `everything`)."""
    scoring = settings.scoring()
    now = now or datetime.now(UTC)
    written = 0
    for name in sorted(known_sources(engine) | set(settings.sources)):
        wanted = _days_to_score(engine, name, scoring, everything, days)
        for offset in range(0, len(wanted), SCORE_CHUNK_DAYS):
            chunk = wanted[offset : offset + SCORE_CHUNK_DAYS]
            written += _score_chunk(engine, name, chunk, scoring, now)
        _remember_scoring(engine, name, scoring, now)
        if wanted:
            log.info("%s: scored %d days", name, len(wanted))
    return written


def _days_to_score(
    engine: Engine,
    name: str,
    scoring: ScoringSettings,
    everything: bool,
    days: Sequence[date] | None,
) -> list[date]:
    changed = load_cursor(engine, name, SCORING_ROW) not in (None, _fingerprint(scoring))
    if changed:
        log.info("%s: scoring settings changed since the last score: rescoring all days", name)
    if everything or changed:
        with engine.begin() as conn:
            mark_days(conn, name, all_fact_days(conn, name, scoring.timezone))
    if days is not None:
        with engine.begin() as conn:
            mark_days(conn, name, days)
    return dirty_days_of(engine, name)


def _score_chunk(
    engine: Engine, name: str, chunk: Sequence[date], scoring: ScoringSettings, now: datetime
) -> int:
    with engine.connect() as conn:
        ids = interaction_ids_on(conn, name, chunk, scoring.timezone)
        found = histories(conn, name, ids)
        customers = {h.interaction.customer_id for h in found if h.interaction.customer_id}
        contacts = {
            key: [Contact(i, at) for i, at in items]
            for key, items in contacts_of(conn, name, customers).items()
        }
        mark = high_water_mark(conn, name)
    wanted = set(chunk)
    facts = [f for f in score_days(found, contacts, {name: mark}, scoring) if f.day in wanted]
    return replace_day_facts(engine, name, chunk, facts, now)


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
    score(engine, settings)
    totals = [Totals(**row) for row in period_totals(engine, since, until, source)]
    return report_rows(totals, known_agents(engine), by, settings.scoring())
