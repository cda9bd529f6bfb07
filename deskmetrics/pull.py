"""Pulling one source: its streams' pages from the connector into the warehouse, in passes.

    pull (connector page) → store (page + cursor, one transaction) → mark dirty days

A stream's saved cursor keeps, beside the connector's own, the pass it belongs to and
whether it finished (`PASS_KEYS`): an interrupted pass goes on where it stopped. A run
ends early, after the page in hand is stored, when a stop is asked for (`stopped`) or
when it passes its time bound or loses its lease (an error); its cursor is saved either
way (`RunBounds`). After a whole pass, agents the source's list does not hold are looked up
(`_look_up_agents`) and a silence of satisfaction answers is warned of (`csat_silence`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from connectors.http import ApiUsage, RetryPolicy
from connectors.protocol import Page, SourceConnector
from connectors.registry import SourceConfig, open_connector
from deskmetrics.collector import pages_with_collector_paused
from deskmetrics.settings import Settings
from interactions import (
    Agent,
    AllowanceShareUsed,
    CursorStuckError,
    DeskmetricsError,
    MalformedRecordError,
    Quarantined,
)
from scoring.csat import scores_off_scale
from warehouse.access import database_file_gone
from warehouse.cursors import (
    StreamRead,
    high_water_mark,
    load_cursor,
    load_cursors,
    record_error,
    record_success,
)
from warehouse.day_marks import DirtyRule
from warehouse.facts import (
    active_agents,
    history_evidence,
    owners_without_agent,
    recent_activity,
)
from warehouse.leases import HeldLease
from warehouse.ratings import unscaled_score_counts
from warehouse.store import store_page
from warehouse.upserts import store_records

log = logging.getLogger(__name__)

Progress = Callable[[str, Page, datetime | None], None]


@dataclass
class StreamResult:
    stream: str
    pages: int = 0
    records: int = 0
    left_out: int = 0  # records read and counted nowhere on purpose (Page.left_out)
    quarantined: int = 0  # records set aside (bad_records = "quarantine"), each warned of

    def shown(self) -> str:
        left_out = (
            f" ({self.left_out} left out: offers, answers of no case)" if self.left_out else ""
        )
        return f"{self.stream} {self.records}{left_out}"


@dataclass
class SourceResult:
    source: str
    streams: list[StreamResult] = field(default_factory=list)
    usage: ApiUsage = field(default_factory=ApiUsage)
    stopped: bool = False  # the run ended early, after the page in hand: `stopped_by`
    stopped_by: str = ""  # why, in a few words
    seconds: float = 0.0
    lag: timedelta | None = None  # the source's clock minus its high-water mark, at the end

    def summary(self) -> str:
        """One line: records per stream, those set aside, requests, duration and lag."""
        read = ", ".join(s.shown() for s in self.streams) or "nothing"
        lag = f"{self.lag.total_seconds() / 60:.0f} min" if self.lag is not None else "unknown"
        ended = "stopped early; " if self.stopped else ""
        return (
            f"{self.source}: {ended}read {read}{self.set_aside()}; {self.usage.requests} "
            f"requests; {self.seconds:.1f} s; lag behind the source {lag}"
        )

    def set_aside(self) -> str:
        """ "; N records set aside in quarantine (…)" when there are any, else ""."""
        count = sum(s.quarantined for s in self.streams)
        if not count:
            return ""
        return (
            f"; {count} record{'s' if count != 1 else ''} set aside in quarantine, not "
            "counted (`deskmetrics quarantine` lists them)"
        )


STOP_ASKED = "a stop was asked for"


class RunTimeLimitError(DeskmetricsError):
    """A run passed its time bound (`sync.max_run_minutes`, `sync.max_backfill_minutes`)
    and stopped after a page."""


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
    setting: str = "sync.max_run_minutes"  # where `minutes` comes from, for messages

    @classmethod
    def of_run(
        cls,
        minutes: float,
        stop: threading.Event | None,
        lease: HeldLease | None,
        setting: str = "sync.max_run_minutes",
    ) -> RunBounds:
        deadline = time.monotonic() + minutes * 60 if minutes > 0 else None
        return cls(stop, deadline, minutes, lease, setting)

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def policy(self, policy: RetryPolicy) -> RetryPolicy:
        return replace(policy, run_deadline=self.deadline, run_bound=self.setting, stop=self.stop)

    def after_page(self, name: str, stream: str) -> bool:
        """True when the run must stop now (a stop was asked for); raises past its bounds."""
        if self.lease is not None:
            self.lease.check()
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise RunTimeLimitError(
                f"{name} {stream}: this run passed its time bound of {self.minutes:g} minutes "
                f"({self.setting}) and stopped after the page in hand, whose cursor is "
                "saved: the next run goes on from there. If runs this long are expected (a "
                f"first sync of a large desk), raise {self.setting}"
                + (" or backfill first." if self.setting == "sync.max_run_minutes" else ".")
            )
        return self.stopping()


def dirty_rule(settings: Settings) -> DirtyRule:
    return DirtyRule(
        timezone=settings.timezone,
        repeat_window=timedelta(hours=settings.fcr.repeat_window_hours),
    )


def _connector(
    settings: Settings, name: str, config: SourceConfig | None, policy: RetryPolicy | None
) -> SourceConnector:
    """Source `name`'s connector, of its type; `config` instead of the settings' one."""
    source_type = settings.sources[name].type
    return open_connector(
        source_type,
        name,
        config or settings.source_config(name),
        policy or settings.retry_policy(),
    )


def pull_source(
    engine: Engine,
    settings: Settings,
    name: str,
    since: datetime,
    until: datetime | None = None,
    stream_prefix: str = "",
    progress: Progress | None = None,
    config: SourceConfig | None = None,
    policy: RetryPolicy | None = None,
    bounds: RunBounds | None = None,
    run: dict[str, Any] | None = None,
) -> SourceResult:
    """Read every stream of source `name` into the warehouse, page by page, until done or
    until `bounds` end the run (the caller holds the source's lease: `bounds.lease`).

    The API usage is logged and put in `run` (the `runs` row's counts) whether the run
    ends well or fails: a run stopped by the source's allowance shows what it cost."""
    bounds = bounds or RunBounds()
    started = time.monotonic()
    bounded = bounds.policy(policy or settings.retry_policy())
    with _connector(settings, name, config, bounded) as connector:
        try:
            result = _pull_streams(
                engine, settings, connector, name, since, until, stream_prefix, progress, bounds
            )
        finally:
            log.info("%s API usage: %s", name, connector.usage.summary())
            if run is not None:
                run.update(requests=connector.usage.requests, usage=connector.usage.summary())
    result.seconds = time.monotonic() - started
    with engine.connect() as conn:
        mark = high_water_mark(conn, name)
    if mark is not None:
        result.lag = (result.usage.last_server_time or datetime.now(UTC)) - mark
    return result


def _pull_streams(
    engine: Engine,
    settings: Settings,
    connector: SourceConnector,
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
    streams = connector.streams
    saved = {stream: load_cursor(engine, name, f"{stream_prefix}{stream}") for stream in streams}
    if not stream_prefix:
        saved = {s: c or _open_backfill_cursor(engine, name, s) for s, c in saved.items()}
    number, finished = pass_position(saved)
    connector.recall({stream: _connector_cursor(cursor) for stream, cursor in saved.items()})
    failures: list[DeskmetricsError] = []
    # The ids of the agent list read whole in this run (None: it was not).
    listed_agents: set[str] | None = None
    for stream in streams:
        key = f"{stream_prefix}{stream}"
        if stream in finished:
            log.info("%s %s: finished in pass %d already; not read again", name, stream, number)
            continue
        done = StreamResult(stream)
        listing: set[str] = set()
        result.streams.append(done)
        cursor = _connector_cursor(saved[stream])
        try:
            # The collector paused over each page (deskmetrics/collector.py).
            pages = pages_with_collector_paused(connector.pages(stream, cursor, since, until))
            for page in pages:
                kept = {**page.cursor, "pass": number, "done": page.done}
                if page.reached is not None:
                    kept["reached"] = int(page.reached.timestamp())
                # A window with an end has not read the changes after it: it completes nothing.
                complete = page.done and until is None
                read = _stream_read(connector, stream, page) if complete else None
                store_page(engine, name, key, page.records, kept, rule, read=read)
                gone = database_file_gone(engine)
                if gone is not None:
                    raise gone
                done.pages += 1
                done.records += page.read
                done.left_out += page.left_out
                _warn_set_aside(name, stream, page, done)
                if stream == AGENT_LIST:
                    listing.update(_listed_ids(page))
                    if page.done:
                        listed_agents = listing
                if progress is not None:
                    progress(stream, page, until)
                if bounds is not None and bounds.after_page(name, stream):
                    result.stopped, result.stopped_by = True, STOP_ASKED
                    break
                del page  # freed before the collection between pages
        except AllowanceShareUsed as share_used:
            # A clean stop: the page in hand is stored with its cursor; the next run goes on.
            log.warning("%s", share_used)
            result.stopped = True
            result.stopped_by = (
                f"its share of the daily API allowance was used (sources.{name}."
                "max_allowance_share)"
            )
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
                result.stopped, result.stopped_by = True, STOP_ASKED
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
        # Noted as a step of its own: a look-up that fails every pass is an outage
        # `status` reports, though every stream before it succeeded.
        step = f"{stream_prefix}{AGENT_LOOK_UP}"
        try:
            _look_up_agents(engine, connector, name, listed_agents)
        except DeskmetricsError as failed:
            record_error(engine, name, step, str(failed))
            raise
        record_success(engine, name, step)
        now = connector.usage.last_server_time or datetime.now(UTC)
        warnings = [
            csat_silence(engine, name, now, settings.sources[name].type),
            csat_off_scale(engine, name, settings),
            history_silence(engine, name, settings.sources[name].type),
        ]
        for warning in filter(None, warnings):
            log.warning(warning)
    if failures:
        raise failures[0]
    return result


def _warn_set_aside(name: str, stream: str, page: Page, done: StreamResult) -> None:
    """A warning per record of the stored page set aside in quarantine: it is not counted."""
    for record in page.records:
        if isinstance(record, Quarantined):
            done.quarantined += 1
            # The error names the record and says it was set aside.
            log.warning("%s %s: %s", name, stream, record.error)


# The stream that lists a source's agents, read whole each pass (its cursor is empty).
AGENT_LIST = "agents"
# The look-up of people the list leaves wrong, after a pass (`_look_up_agents`): a row of
# its own in sync_state, so `status` shows when it fails.
AGENT_LOOK_UP = "agent_lookup"
# The agent list holds names, not events: no count waits on it (docs/metrics.md "Completeness").
NOT_BOUNDING = frozenset({AGENT_LIST})


def _listed_ids(page: Page) -> set[str]:
    """The ids a page of the agent list holds: those set aside in quarantine too, for a
    record that could not be read is still listed (asking for it again would not help)."""
    return {
        record.agent_id if isinstance(record, Agent) else record.record_id
        for record in page.records
        if isinstance(record, Agent | Quarantined)
    }


def _stream_read(connector: SourceConnector, stream: str, page: Page) -> StreamRead:
    """The last page of a stream read with no end: the stream is complete up to where the
    page says it reached, or (a stream that is not read through time, such as a CSAT kind
    the source does not use) up to the moment it was read."""
    complete_to = page.reached or connector.usage.last_server_time or datetime.now(UTC)
    bounding = tuple(s for s in connector.streams if s not in NOT_BOUNDING)
    return StreamRead(stream, complete_to, bounding)


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
    # The newest: Zendesk's cursors say where by `start_time`, Salesforce's by `from`.
    newest = max(ended, key=lambda c: (int(c.get("start_time", 0)), str(c.get("from", ""))))
    return _connector_cursor(newest)


CSAT_SILENCE = timedelta(days=14)
CSAT_SILENCE_MIN_RESOLUTIONS = 50


HISTORY_EVIDENCE = 50  # stored cases before a missing history is worth a warning


def history_silence(engine: Engine, name: str, source_type: str) -> str | None:
    """A warning when a Salesforce org's cases close, or have owners, and its CaseHistory
    holds no Status, or no Owner, row: field history tracking of that field is off, and
    the reopens and transfers it records cannot be counted (docs/salesforce.md)."""
    if source_type != "salesforce":
        return None  # Zendesk's ticket events always record both
    with engine.connect() as conn:
        found = history_evidence(conn, name, HISTORY_EVIDENCE)
    untracked = [
        field
        for field, cases, rows in (
            ("Status", found.resolved, found.status_changes),
            ("Owner", found.owned, found.ownership_changes),
        )
        if cases >= HISTORY_EVIDENCE and not rows
    ]
    if not untracked:
        return None
    fields = " and ".join(untracked)
    return (
        f"{name}: at least {HISTORY_EVIDENCE} cases are stored and CaseHistory has no "
        f"{fields} row: if field history tracking is off for Case {fields}, turn it on "
        "(Setup > Object Manager > Case > Fields & Relationships > Set History Tracking): "
        "without it reopens and transfers are not seen, and FCR and transfer rates are "
        "wrong. Only changes made after it is on are recorded."
    )


def csat_off_scale(engine: Engine, name: str, settings: Settings) -> str | None:
    """A warning when stored answers of a source without a scale of its own (Salesforce)
    have scores off the [csat] scale: they count nowhere, which is right for a stray value
    and wrong for a survey on another scale."""
    with engine.connect() as conn:
        counts = unscaled_score_counts(conn, name)
    scoring = settings.scoring()
    off = scores_off_scale(counts, scoring)
    if not off:
        return None
    examples = ", ".join(sorted(off, key=lambda score: -off[score])[:5])
    return (
        f"{name}: {sum(off.values())} of {sum(counts.values())} stored answers have a score "
        f"off the CSAT scale {scoring.csat_scale_min:g}..{scoring.csat_scale_max:g} "
        f"(e.g. {examples}): they count nowhere. If the survey asks on another scale, set "
        "[csat] scale_min, scale_max and satisfied_threshold to it (a 0-10 question: 0, "
        "10 and 9, say)."
    )


def csat_silence(
    engine: Engine, name: str, now: datetime, source_type: str = "zendesk"
) -> str | None:
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
    if source_type == "salesforce":
        cause = (
            f"check that csat_object (and its csat_* fields) or csat_question in "
            f"[sources.{name}] name where the org keeps the answers (neither set: no CSAT is "
            "read), and that the survey is still sent"
        )
    elif surveys.get("reading") in (None, "legacy"):
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
    kinds = " (legacy ratings or new CSAT survey responses)" if source_type == "zendesk" else ""
    return (
        f"{name}: {resolutions} resolutions and no satisfaction answers{kinds} in the last "
        f"{CSAT_SILENCE.days} days: {cause}. CSAT figures will stop."
    )


def _look_up_agents(
    engine: Engine, connector: SourceConnector, name: str, listed: set[str] | None
) -> None:
    """Look up, by id and in one go, the people whose agents row the agent list leaves
    wrong: owners with no row (never listed: downgraded or deleted before the first read)
    and, once the list was read whole in this run (`listed`), agents stored as active that
    it no longer holds.

    Zendesk's list holds current agents and admins only, so an agent downgraded to end-user
    after being listed would otherwise stay stored as an active agent; the look-up answers
    them as they are now (role `end-user`, so not active; docs/metrics.md "Words": Agent).
    An id it no longer answers (a user permanently deleted) is stored as no longer active,
    keeping the name, e-mail and role last known. Salesforce's list holds every user,
    deactivated ones too, so there is never one left to ask about. Nothing is asked when
    every stored active agent was listed and every owner has a row.
    """
    with engine.connect() as conn:
        missing = owners_without_agent(conn, name)
        unlisted = {} if listed is None else active_agents(conn, name, excluding=listed)
    if not missing and not unlisted:
        return
    found = connector.agents_by_id(missing | set(unlisted))
    answered = {agent.agent_id for agent in found}
    gone = [replace(agent, active=False) for key, agent in unlisted.items() if key not in answered]
    with engine.begin() as conn:
        store_records(conn, [*found, *gone], datetime.now(UTC))
    log.info(
        "%s: looked up %d people not in its agent list (owners without an agents row, or "
        "agents stored as active); %d no longer answered, stored as inactive",
        name,
        len(missing | set(unlisted)),
        len(gone),
    )
