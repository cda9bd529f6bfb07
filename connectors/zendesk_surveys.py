"""Zendesk's new CSAT: the `survey_responses` stream, survey definitions, and which CSAT an
account uses (research/zendesk-new-csat.md).

    responses    GET /api/v2/guide/survey_responses                    50 a page, cursor pages
    surveys      GET /api/v2/guide/{locale}/surveys?filter[types]=CUSTOMER_SATISFACTION
    definition   GET /api/v2/guide/{locale}/surveys/{id}/{version}      once per version

zenpy has no binding for these, so they go through the connector's own session (credentials,
one origin, one parse, the whole-response deadline) and retry policy like every request. They
count against the Help Center allowance, not the Support one: `HelpCenterUsage` says how many
the run made.

Which CSAT is read (`csat` of the source's settings): "legacy" ratings only, "surveys" only,
"both", or "auto": legacy always, and survey responses once an enabled customer-satisfaction
survey has been seen (asking at most once an hour until then). History from before a switch
keeps its legacy ratings.

A pass of the stream, in a sync, reads
  1. the responses created since its cursor (`filter[created_at_start]`, milliseconds): the
     surveys sent since the last pass, a page or two;
  2. the responses of the tickets whose satisfaction the ticket export showed answered in
     this run, and of those whose ticket events show any satisfaction change (a survey
     answered and a new one offered leaves the ticket showing `offered`)
     (`filter[subject_zrns]`, 50 tickets a request). Answers arrive and change up to 28 days
     after the survey is sent and the endpoint filters on creation only; this is what spares a
     sync re-reading 28 days of surveys. The ticket list is kept with the first page of the
     pass, so a pass cut short goes on with it. When the ticket or ticket events export did
     not read a whole pass in this run (resumed, failed, or the run stopped before this
     stream stored its list), the list is incomplete, and the pass re-reads the surveys sent
     in the last `ANSWERABLE` instead; so does the first pass a `LOOK_BACK_EVERY` after the
     last such read (an answer that leaves its ticket as it was shows in no export).
A backfill, and the first pass, read by creation window only: a response is read as it is
now, answers included. The window opens `ANSWERABLE` before `since`, so that a survey sent
before it and answered inside it is read (it counts on its answer's day).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from connectors.http import ApiUsage, NotFoundError, RetryPolicy, call_with_retries
from connectors.pagination import LoopGuard
from connectors.protocol import Cursor, Page
from connectors.wire import origin_of, require_list
from connectors.zendesk_config import ZendeskConfig
from connectors.zendesk_records import (
    csat_rating_answer,
    enabled_csat_surveys,
    rating_from_survey_response,
    survey_of_response,
    survey_scale,
    ticket_of_survey_response,
)
from interactions import (
    CursorStuckError,
    MalformedRecordError,
    RatingState,
    SourceError,
    SourceUnavailableError,
)


class ZendeskConnector(Protocol):
    """The members of the Zendesk connector (connectors/zendesk.py) its survey side reads
    through: its settings, session, server and record parsing. A protocol, so that this
    module does not import the connector that imports it."""

    config: ZendeskConfig
    policy: RetryPolicy
    usage: ApiUsage
    _session: requests.Session
    _scheme: str
    _netloc: str

    def _server_now(self) -> datetime: ...

    def _records(
        self,
        stream: str,
        raw: list[dict[str, Any]],
        parse: Callable[[Mapping[str, Any]], tuple[Any, ...]],
    ) -> tuple[Any, ...]: ...


log = logging.getLogger(__name__)

STREAM = "survey_responses"
RESPONSES_PATH = "/api/v2/guide/survey_responses"
HELP_CENTER_PREFIX = "/api/v2/guide/"
PAGE_SIZE = 50  # the endpoint refuses more (research "1. Endpoint")
TICKETS_PER_REQUEST = 50
# How long after it is sent a survey can still be answered or changed (`expires_at` is 28
# days after the offer), plus a day for clocks.
ANSWERABLE = timedelta(days=29)
ASK_EVERY = timedelta(hours=1)  # "auto": how often an account without surveys is asked again
# How often a sync re-reads every survey still answerable, whatever the tickets showed: an
# answer that leaves its ticket as it was (4 -> 5, both good; an answer on a closed ticket)
# is read within a day (research/zendesk-new-csat.md "sync design": a 28-day look-back).
LOOK_BACK_EVERY = timedelta(days=1)


@dataclass
class HelpCenterUsage(ApiUsage):
    """`ApiUsage` whose summary names the survey requests apart: they count against the
    account's Help Center allowance, not the Support one (research "6. Rate limits")."""

    def help_center_requests(self) -> int:
        return sum(n for path, n in self.by_path.items() if path.startswith(HELP_CENTER_PREFIX))

    def summary(self) -> str:
        counted = self.help_center_requests()
        if not counted:
            return super().summary()
        return (
            f"{super().summary()}; {counted} of the requests were survey requests, which "
            "count against the Help Center allowance, not the Support one"
        )


def reads_legacy(mode: str) -> bool:
    """Whether the legacy satisfaction-ratings stream is read in this CSAT mode."""
    return mode != "surveys"


def csat_described(cursor: Mapping[str, Any] | None) -> str:
    """Which CSAT the last pass read, for `status`, from the stream's saved cursor."""
    if not cursor or "reading" not in cursor:
        return "not decided yet (the survey_responses stream has not finished a pass)"
    reading = cursor.get("reading")
    why = {
        "auto": "a customer-satisfaction survey is enabled or was seen",
        "surveys": 'csat = "surveys"',
        "both": 'csat = "both"',
    }.get(str(cursor.get("mode")), "")
    if reading == "surveys":
        what = "new-CSAT survey responses only"
    elif reading == "both":
        what = "legacy satisfaction ratings and new-CSAT survey responses"
    else:
        what = "legacy satisfaction ratings only"
        why = (
            'csat = "legacy"'
            if cursor.get("mode") == "legacy"
            else "no enabled customer-satisfaction survey found"
        )
    return f"{what} ({why})" if why else what


class SurveyReader:
    """The survey side of one `ZendeskConnector`: its stream, and what the ticket export of
    the same run showed about satisfaction."""

    def __init__(self, connector: ZendeskConnector) -> None:
        self._connector = connector
        self._scales: dict[str, float] = {}  # "<survey id>:<version>" -> N, for this run
        # Tickets showing a satisfaction answer, or whose events show a satisfaction
        # change, in this run.
        self._noted: set[str] = set()
        self._whole_ticket_pass = False  # the ticket export read a whole pass in this run
        self._whole_event_pass = False  # the ticket events export did
        self._asked: int | None = None  # when an enabled survey was last looked for

    # --- what the ticket and ticket events exports showed --------------------------------

    def noting(self, cursor: Cursor | None, pages: Iterable[Page]) -> Iterator[Page]:
        """The ticket export's pages, unchanged, noting the tickets that show an answer."""
        whole = not (cursor or {}).get("after_cursor")  # a pass from its start, not resumed
        self._whole_ticket_pass = False
        for page in pages:
            self._noted.update(r.interaction_id for r in page.records if isinstance(r, RatingState))
            if page.done:
                self._whole_ticket_pass = whole
            yield page

    def noting_events(self, cursor: Cursor | None, pages: Iterable[Page]) -> Iterator[Page]:
        """The ticket events export's pages, unchanged, noting whether they were a whole
        pass; the connector notes the tickets with a satisfaction change (`note`) as it
        reads each event. A ticket that shows `offered` may have been answered since the
        last pass and offered a new survey (offered → good → offered): only its events
        tell."""
        whole = "pass_start" not in (cursor or {})  # a pass from its start, not resumed
        self._whole_event_pass = False
        for page in pages:
            if page.done:
                self._whole_event_pass = whole
            yield page

    def note(self, ticket_id: str) -> None:
        """A ticket whose satisfaction changed in this run: its responses are read again."""
        self._noted.add(ticket_id)

    # --- the stream ------------------------------------------------------------------------

    def pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        saved = dict(cursor or {})
        connector = self._connector
        self._scales.update(_floats(saved.get("scales")))
        if saved.get("phase"):
            plan = _resumed(saved, connector)
            self._asked = saved.get("asked") if isinstance(saved.get("asked"), int) else None
            plan["tickets"] = _with_noted(plan, self._noted_once())
        else:
            # csat = "legacy" reads nothing here: no request for the server's clock.
            legacy = connector.config.csat == "legacy"
            began = datetime.now(UTC) if legacy else connector._server_now()
            reading, seen = self._reading(saved, began)
            if reading == "legacy":
                kept = saved.get("start_time", int(since.timestamp()))
                yield self._done_page(kept, reading, seen)
                return
            plan = self._plan(saved, since, until, began, reading, seen)
            if plan["tickets"]:
                # Kept before any request: a pass cut short goes on with the list.
                yield Page(STREAM, (), self._cursor(plan), False, read=0)
        yield from self._created_phase(plan)
        yield from self._changed_phase(plan)
        began = datetime.fromtimestamp(plan["began"], UTC)
        end = began if plan["created_until"] is None else min(began, _moment(plan["created_until"]))
        restart = max(plan["start_time"], int((end - connector.config.overlap).timestamp()))
        yield self._done_page(restart, plan["reading"], plan["seen"], began, plan["looked_back"])

    def _noted_once(self) -> set[str]:
        noted, self._noted = self._noted, set()
        return noted

    def _plan(
        self,
        saved: Cursor,
        since: datetime,
        until: datetime | None,
        began: datetime,
        reading: str,
        seen: bool,
    ) -> dict[str, Any]:
        start = saved.get("start_time")
        looked_back = saved.get("looked_back")
        due = not isinstance(looked_back, int) or began - _moment(looked_back) >= LOOK_BACK_EVERY
        tickets: list[str] = []
        if start is None or until is not None:
            # A survey sent before `since` may be answered after it: its answer counts in
            # the window, on the answer's day (docs/metrics.md "CSAT").
            created_from = int((since - ANSWERABLE).timestamp()) if start is None else int(start)
            looked_back = int(began.timestamp())
        elif self._whole_ticket_pass and self._whole_event_pass and not due:
            created_from = int(start)
            tickets = _ids(self._noted_once())
        else:
            created_from = int((_moment(start) - ANSWERABLE).timestamp())
            looked_back = int(began.timestamp())
            log.info(
                "%s survey responses: %s, so the surveys sent since %s are read again instead "
                "of the changed tickets' only",
                self._connector.config.source,
                "a day has passed since they were last read whole"
                if due
                else "the ticket or ticket events export did not read a whole pass in this run",
                _moment(created_from).isoformat(),
            )
        return {
            "phase": "created",
            "start_time": int(start if start is not None else since.timestamp()),
            "began": int(began.timestamp()),
            "created_from": created_from,
            "created_until": int(until.timestamp()) if until is not None else None,
            "next": None,
            "tickets": tickets,
            "reading": reading,
            "seen": seen,
            "looked_back": looked_back,
        }

    def _created_phase(self, plan: dict[str, Any]) -> Iterator[Page]:
        if plan["phase"] != "created":
            return
        params = {
            "filter[created_at_start]": str(plan["created_from"] * 1000),
            "page[size]": str(PAGE_SIZE),
            "sort": "id",
        }
        if plan["created_until"] is not None:
            params["filter[created_at_end]"] = str(plan["created_until"] * 1000 - 1)
        yield from self._listing(plan, params, lambda: plan.update(phase="changed"))

    def _changed_phase(self, plan: dict[str, Any]) -> Iterator[Page]:
        while plan["tickets"]:
            # The batch in progress keeps its size, stored with each of its pages: tickets
            # noted since are appended after it (`_with_noted`), never into it.
            size = _batch_size(plan)
            plan["batch"] = size
            batch = plan["tickets"][:size]
            params = {
                "filter[subject_zrns]": ",".join(f"zen:ticket:{ticket}" for ticket in batch),
                "page[size]": str(PAGE_SIZE),
            }
            yield from self._listing(plan, params, partial(_drop_tickets, plan, size))

    def _listing(
        self, plan: dict[str, Any], params: dict[str, str], finished: Callable[[], None]
    ) -> Iterator[Page]:
        """Every page of one listing, from the stored next link when resuming it; its last
        page is stored with the plan moved on by `finished`."""
        connector = self._connector
        guard = LoopGuard(connector.config, "survey responses")
        url: str = plan["next"] or f"{self._origin()}{RESPONSES_PATH}"
        query: dict[str, str] | None = None if plan["next"] else params
        if plan["next"]:
            guard.followed(url)
        while True:
            body = self._get("survey responses", url, query, listed="survey_responses")
            raw = [r for r in body["survey_responses"] if isinstance(r, dict)]
            records = connector._records(STREAM, raw, self._response_records)
            following = _next_page(body, url, query)
            if following is not None:
                guard.followed(following, None, len(raw))
                guard.records_again(raw, "updated_at")
            plan["next"] = following
            plan["seen"] = plan["seen"] or bool(raw)
            if following is None:
                finished()
            yield Page(STREAM, records, self._cursor(plan), False, read=len(raw))
            if following is None:
                return
            url, query = following, None

    def _response_records(self, response: Mapping[str, Any]) -> tuple[Any, ...]:
        """An answered response as a `Rating`; an offer is nothing (docs/metrics.md "CSAT": an
        offer never dates a response), and so is a response about no ticket."""
        if csat_rating_answer(response) is None or ticket_of_survey_response(response) is None:
            return ()
        scale = self._scale(*survey_of_response(response))
        return (rating_from_survey_response(self._connector.config.source, response, scale),)

    # --- survey definitions and detection ----------------------------------------------

    def _scale(self, survey_id: str, version: int) -> float:
        key = f"{survey_id}:{version}"
        if key not in self._scales:
            path = f"/api/v2/guide/{self._locale()}/surveys/{survey_id}/{version}"
            what = f"survey {survey_id} version {version}"
            try:
                body = self._get(what, f"{self._origin()}{path}")
            except NotFoundError as refused:
                # A version gone, or a locale the Help Center lacks: a fault of the
                # responses to it, which `bad_records` stops at or sets aside, not of the
                # others on the page.
                source = self._connector.config.source
                raise MalformedRecordError(
                    f"zendesk {what}: its definition is not found ({refused}), so its "
                    f"responses cannot be scored. Check that sources.{source}.survey_locale "
                    f"({self._locale()!r}) is a locale of the Help Center; if the version is "
                    f'gone, set sources.{source}.bad_records = "quarantine" to set its '
                    "responses aside."
                ) from None
            except SourceUnavailableError as missing:
                raise SourceError(
                    f"{self._connector.config.source}: the definition of {what} could not "
                    f"be read ({missing}), so the scale of its responses is unknown. Check "
                    "that the survey still exists in Admin Center > CSAT; run again later."
                ) from None
            survey = body.get("survey")
            scale = survey_scale(survey) if isinstance(survey, Mapping) else None
            if scale is None:
                raise MalformedRecordError(
                    f"zendesk {what}: its definition holds no customer-satisfaction rating "
                    "question with options rated 1..N, so its responses cannot be scored. "
                    "Please report it with the survey's id."
                )
            self._scales[key] = scale
        return self._scales[key]

    def _reading(self, saved: Cursor, now: datetime) -> tuple[str, bool]:
        """("legacy" | "surveys" | "both", whether a survey was ever seen) for this pass.

        "auto" asks for an enabled survey at most once an `ASK_EVERY`: while none is
        found the stream's cursor stays where it is, so asking late misses nothing.
        """
        mode = self._connector.config.csat
        seen = bool(saved.get("seen"))
        self._asked = saved.get("asked") if isinstance(saved.get("asked"), int) else None
        if mode == "legacy":
            return "legacy", seen
        if mode in ("surveys", "both"):
            return mode, seen
        if seen:
            return "both", True
        if self._asked is not None and now - _moment(self._asked) < ASK_EVERY:
            return "legacy", False
        self._asked = int(now.timestamp())
        return ("both", True) if self._survey_enabled() else ("legacy", False)

    def _survey_enabled(self) -> bool:
        """Whether an enabled customer-satisfaction survey exists. An account whose plan
        has no surveys answers 403 or 404: that is legacy CSAT, not a failure."""
        source = self._connector.config.source
        url: str | None = f"{self._origin()}/api/v2/guide/{self._locale()}/surveys"
        query: dict[str, str] | None = {"filter[types]": "CUSTOMER_SATISFACTION"}
        guard = LoopGuard(self._connector.config, "surveys")
        while url is not None:
            try:
                body = self._get("surveys", url, query, listed="surveys")
            except (CursorStuckError, MalformedRecordError):
                raise
            except SourceError as refused:
                # 401/403/404 (no surveys on this plan), or a list that keeps failing: legacy
                # this pass; the next pass asks again, and nothing is skipped meanwhile.
                log.warning("%s: no survey list (%s): reading legacy CSAT", source, refused)
                return False
            enabled = enabled_csat_surveys(body.get("surveys"))
            for survey in enabled:  # the list holds each survey's current version whole
                scale, version = survey_scale(survey), survey.get("version")
                if scale is not None and isinstance(version, int):
                    self._scales[f"{survey.get('id')}:{version}"] = scale
            if enabled:
                log.info("%s: a customer-satisfaction survey is enabled: reading it", source)
                return True
            url, query = _next_page(body, url, query), None
            if url is not None:
                guard.followed(url, None, len(body["surveys"]))
        return False

    # --- plumbing ---------------------------------------------------------------------------

    def _get(
        self, what: str, url: str, query: Mapping[str, str] | None = None, listed: str = ""
    ) -> dict[str, Any]:
        """One answer of the Help Center API; with `listed`, a page that must hold that list
        (a 200 without it, an error's body, would read as the last, empty page)."""
        connector = self._connector

        def call() -> dict[str, Any]:
            response = connector._session.get(
                url, params=query, timeout=connector.policy.timeout_seconds
            )
            body = response.json()
            page = body if isinstance(body, dict) else {}
            if listed:
                require_list(page, listed, f"{connector.config.source}: GET {urlsplit(url).path}")
            return page

        return call_with_retries(
            f"{connector.config.source} {what}", call, connector.policy, connector.usage
        )

    def _origin(self) -> str:
        return f"{self._connector._scheme}://{self._connector._netloc}"

    def _locale(self) -> str:
        return self._connector.config.survey_locale

    def _cursor(self, plan: Mapping[str, Any]) -> Cursor:
        return {
            **plan,
            "mode": self._connector.config.csat,
            "scales": dict(self._scales),
            "asked": self._asked,
        }

    def _done_page(
        self,
        start_time: int,
        reading: str,
        seen: bool,
        reached: datetime | None = None,
        looked_back: int | None = None,
    ) -> Page:
        cursor = {
            "start_time": int(start_time),
            "reading": reading,
            "seen": seen,
            "looked_back": looked_back,
            "mode": self._connector.config.csat,
            "scales": dict(self._scales),
            "asked": self._asked,
        }
        return Page(STREAM, (), cursor, True, reached=reached)


def skipped_pages(stream: str, cursor: Cursor | None) -> Iterator[Page]:
    """A stream this CSAT mode does not read: one finished page, its cursor kept."""
    yield Page(stream, (), dict(cursor or {}), True)


def _resumed(saved: Cursor, connector: ZendeskConnector) -> dict[str, Any]:
    """A pass cut short, as stored with its last page; a next link stored before the
    source's address changed is dropped (that listing is read again from its start)."""
    plan = {
        key: saved.get(key) for key in ("phase", "created_from", "created_until", "next", "batch")
    }
    plan["began"] = saved.get("began") or int(connector._server_now().timestamp())
    plan["start_time"] = saved.get("start_time", plan["created_from"] or plan["began"])
    plan["created_from"] = plan["created_from"] or plan["start_time"]
    tickets = saved.get("tickets")
    # In the stored order: the head is the batch whose listing the stored link goes on with.
    plan["tickets"] = [str(t) for t in tickets] if isinstance(tickets, list) else []
    plan["reading"] = saved.get("reading", "both")
    plan["seen"] = bool(saved.get("seen"))
    looked_back = saved.get("looked_back")
    plan["looked_back"] = looked_back if isinstance(looked_back, int) else None
    here = origin_of(f"{connector._scheme}://{connector._netloc}")
    if plan["next"] and origin_of(str(plan["next"])) != here:
        plan["next"] = None
    return plan


def _with_noted(plan: dict[str, Any], noted: set[str]) -> list[str]:
    """A resumed plan's tickets, then those noted in this run that are not waiting already:
    appended, never sorted in, so the batch whose listing is in progress (the head of the
    list, its next link stored) is still the head when its listing ends and is dropped
    (`_drop_tickets`). One noted again while in that batch is asked for once more after it:
    it changed since the batch's first page was read."""
    tickets: list[str] = plan["tickets"]
    in_progress = _batch_size(plan) if plan["phase"] == "changed" and plan["next"] else 0
    waiting = set(tickets[in_progress:])
    return tickets + [ticket for ticket in _ids(noted) if ticket not in waiting]


def _batch_size(plan: Mapping[str, Any]) -> int:
    """The size of the batch at the head of the plan's tickets: as stored while its listing
    is in progress (a plan stored before sizes were, the head as it was then)."""
    stored = plan.get("batch")
    if isinstance(stored, int) and not isinstance(stored, bool) and stored > 0:
        return min(stored, len(plan["tickets"]))
    return min(TICKETS_PER_REQUEST, len(plan["tickets"]))


def _drop_tickets(plan: dict[str, Any], count: int) -> None:
    plan["tickets"] = plan["tickets"][count:]
    plan["batch"] = None


def _next_page(body: Mapping[str, Any], url: str, query: Mapping[str, str] | None) -> str | None:
    """The address of the page after `body` (asked for at `url` with `query`); None on the
    last page. Its `links.next` when it gives one; else the same request with
    `page[after]=<meta.after_cursor>`: the recorded page of a real account has `meta` and no
    `links` (research/zendesk-new-csat.md "1. Endpoint")."""
    meta, links = body.get("meta"), body.get("links")
    if not isinstance(meta, Mapping) or not meta.get("has_more"):
        return None
    link = links.get("next") if isinstance(links, Mapping) else None
    if link:
        return str(link)
    after = meta.get("after_cursor")
    if not after:
        return None  # refused before it got here (connectors/wire.py)
    parts = urlsplit(url)
    asked = dict(parse_qsl(parts.query, keep_blank_values=True))
    asked.update(query or {})
    asked["page[after]"] = str(after)
    return urlunsplit(parts._replace(query=urlencode(asked)))


def _ids(tickets: Iterable[Any]) -> list[str]:
    return sorted({str(t) for t in tickets}, key=lambda i: (len(i), i))


def _floats(scales: Any) -> dict[str, float]:
    if not isinstance(scales, Mapping):
        return {}
    return {str(k): float(v) for k, v in scales.items() if isinstance(v, int | float)}


def _moment(stamp: Any) -> datetime:
    return datetime.fromtimestamp(int(stamp), UTC)
