"""Zendesk Support connector: the four streams of DESIGN.md, page by page, through zenpy.

    tickets   GET incremental/tickets/cursor.json?include=metric_sets   1,000 a page
    events    GET incremental/ticket_events.json?start_time=            owner/status history
    ratings   GET satisfaction_ratings?score=received&start_time=       100 a page
    agents    GET users.json?role[]=agent&role[]=admin  (+ users/show_many.json for the rest)

and the new-CSAT `survey_responses` stream, which zenpy has no call for: the connector's
session reads it for `survey_pages` (connectors/zendesk_surveys.py).

Each `*_pages` generator reads from a saved cursor and yields `Page`s: the records of one
API page with the cursor that reads on after it. Storing a page together with its cursor
makes every stream resumable after a crash at any page. Cursor rules (DESIGN.md "Sources"):
a finished pass saves a time no later than the moment it began, minus `overlap`, so the
next pass re-reads a few minutes; a cursor or link sent twice is an error, not a loop.

Never one request per ticket: per-ticket audits are not used at all.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from zenpy import Zenpy

from connectors.http import ApiUsage, RetryPolicy, api_session, call_with_retries
from connectors.pagination import LoopGuard
from connectors.protocol import Cursor as Cursor  # re-exported: connectors.zendesk.Cursor
from connectors.protocol import Page as Page  # re-exported: connectors.zendesk.Page
from connectors.wire import origin_of
from connectors.zendesk_config import STREAMS, ZendeskConfig, holds_credentials
from connectors.zendesk_kept import kept_record
from connectors.zendesk_raw import RawPage, use_raw_pages
from connectors.zendesk_records import (
    agent_from_user,
    changes_from_event,
    interaction_from_ticket,
    is_agent_role,
    parse_time,
    rating_from_json,
    rating_state_from_ticket,
    ticket_of_satisfaction_change,
)
from connectors.zendesk_surveys import (
    ANSWERABLE,
    HelpCenterUsage,
    SurveyReader,
    reads_legacy,
    skipped_pages,
)
from interactions import (
    Agent,
    AuthenticationError,
    ConfigError,
    CursorStuckError,
    MalformedRecordError,
    Quarantined,
    Rating,
    SourceError,
)

log = logging.getLogger(__name__)

# Zendesk leaves out what changed in the last minute
# (docs/metrics.md "Resolution and first-contact resolution (FCR)").
EXPORT_LAG = timedelta(minutes=1)
SHOW_MANY_LIMIT = 100
EXPORT_PAGE = 1000  # records in a full incremental-export page


# zenpy reads ZENPY_FORCE_* from the process environment on every call; the lock keeps
# two connectors pointed at different servers from crossing.
_ENV_LOCK = threading.Lock()


class ZendeskConnector:
    """Reads the streams of one Zendesk instance (`config.source`); a `SourceConnector`."""

    streams: tuple[str, ...] = STREAMS

    def __init__(self, config: ZendeskConfig, policy: RetryPolicy) -> None:
        self.config = config
        # Messages about the server name the setting that names it here.
        address = "base_url" if config.base_url else "subdomain"
        self.policy = policy = replace(policy, address_setting=f"sources.{config.source}.{address}")
        self.usage: ApiUsage = HelpCenterUsage()
        self._scheme, self._netloc = _server_of(config)
        self._session = session = api_session(
            config.source,
            self.usage,
            policy,
            fix_credentials=(
                f"Check sources.{config.source}.email in the settings and the API token in "
                f"{config.token_env}."
            ),
            origin=f"{self._scheme}://{self._netloc}",
        )
        self._client = Zenpy(
            # zenpy insists on a subdomain even when base_url decides where requests go.
            subdomain=config.subdomain or "base-url",
            email=config.email,
            token=config.token,
            session=session,
            timeout=policy.timeout_seconds,
            disable_cache=True,
        )
        use_raw_pages(self._client)
        self.surveys = SurveyReader(self)

    def close(self) -> None:
        """Close the HTTP connections this connector holds."""
        self._session.close()

    def __enter__(self) -> ZendeskConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pages(
        self, stream: str, cursor: Cursor | None, since: datetime, until: datetime | None
    ) -> Iterator[Page]:
        """The pages of one of `STREAMS` (connectors/protocol.py)."""
        if stream == "agents":
            return self.agent_pages(cursor)
        if stream == "tickets":
            # The survey stream reads the responses of the tickets this export shows answered.
            return self.surveys.noting(cursor, self.ticket_pages(cursor, since, until))
        if stream == "events":
            # ... and the tickets whose events show a satisfaction change.
            return self.surveys.noting_events(cursor, self.event_pages(cursor, since, until))
        if stream == "survey_responses":
            return self.survey_pages(cursor, since, until)
        if stream != "ratings":
            raise ValueError(f"Zendesk has no stream {stream!r}; its streams are {STREAMS}")
        if not reads_legacy(self.config.csat):
            return skipped_pages(stream, cursor)
        return self.rating_pages(cursor, since, until)

    # --- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _pointed(self) -> Iterator[None]:
        with _ENV_LOCK:
            saved = {k: os.environ.get(k) for k in ("ZENPY_FORCE_SCHEME", "ZENPY_FORCE_NETLOC")}
            os.environ["ZENPY_FORCE_SCHEME"] = self._scheme
            os.environ["ZENPY_FORCE_NETLOC"] = self._netloc
            try:
                yield
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    def _request(self, what: str, call: Callable[[], Any]) -> Any:
        def pointed_call() -> Any:
            with self._pointed():
                return call()

        return call_with_retries(
            f"{self.config.source} {what}", pointed_call, self.policy, self.usage
        )

    def _next_page(self, what: str, page: RawPage) -> bool:
        """Read the page's next page in its place; False when it links to none."""
        link = page.next_link()
        if link is None:
            return False
        self._request(what, lambda: page.follow(link))
        return True

    def _server_now(self) -> datetime:
        """The account's clock (the `Date` of its last answer). Before any answer of this
        run (a resumed stream may set its start before its first request), one request for
        the API user asks: a pass never ends on this machine's clock, which may run ahead."""
        if self.usage.last_server_time is None:
            try:
                self._request("server clock", lambda: self._client.users.me())
            except SourceError as unanswered:  # the run's own requests will say what fails
                log.info("%s: no server clock (%s): this machine's", self.config.source, unanswered)
        return self.usage.last_server_time or datetime.now(UTC)

    # --- streams -------------------------------------------------------------------------
    #
    # Every stream's cursor is either a *restart* point ({"start_time": t}: where the next
    # pass begins) or a *mid-pass* position that reads on from the page after the last one
    # stored. A pass that began at `began` (server clock) ends with a restart point no later
    # than `began - overlap` and never earlier than where the pass started, so quiet passes
    # never move a cursor backwards. A page that repeats a cursor or link already followed,
    # or a run of more than `max_empty_pages` pages without records, is a `CursorStuckError`:
    # the stream stops with its cursor kept instead of looping.

    def ticket_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """Tickets (deleted ones too, as `deleted`) from the cursor export, page by page.

        Each page is asked for by its `after_cursor` (never by following `after_url`), so a
        link to another host is never followed.
        """
        cursor = cursor or {}
        start_time = int(cursor.get("start_time", since.timestamp()))
        asked: str | None = cursor.get("after_cursor")
        began = _moment(cursor.get("began"))
        guard = LoopGuard(self.config, "tickets export")
        if asked:
            guard.followed(asked)
        while True:
            page = self._ticket_export_page(start_time, asked)
            began = began or self._server_now()
            raw = page.records("tickets")
            records = self._records("tickets", raw, self._ticket_records)
            after = page.scalar("after_cursor")
            reached_until = until is not None and any(_generated_at(t) >= until for t in raw)
            # Only JSON's true ends the export, as zenpy reads it: "false" is text, not false.
            if page.scalar("end_of_stream") is True or not after or reached_until:
                complete = self._server_now() - EXPORT_LAG
                if until is not None:
                    complete = min(complete, until)
                restart = max(
                    start_time, int((min(complete, began) - self.config.overlap).timestamp())
                )
                yield Page(
                    "tickets",
                    records,
                    {"start_time": restart},
                    done=True,
                    # docs/metrics.md "Resolution and first-contact resolution (FCR)": a
                    # window with an end has not read the changes after it, so it settles
                    # nothing.
                    high_water_mark=complete if until is None else None,
                    reached=complete,
                    read=len(raw),
                )
                return
            guard.followed(after, page.scalar("after_url"), len(raw))
            guard.records_again(raw, "generated_timestamp")
            reached = max((_generated_at(t) for t in raw), default=None)
            page_cursor = {"start_time": start_time, "after_cursor": after, "began": _stamp(began)}
            yield Page("tickets", records, page_cursor, False, reached=reached, read=len(raw))
            asked = after

    def _ticket_export_page(self, start_time: int, after_cursor: str | None) -> RawPage:
        asked = {"cursor": after_cursor} if after_cursor else {"start_time": start_time}
        page: RawPage = self._request(
            "tickets export",
            lambda: self._client.tickets.incremental(**asked, include=["metric_sets"]),
        )
        return page

    def _ticket_records(self, ticket: Mapping[str, Any]) -> tuple[Any, ...]:
        state = rating_state_from_ticket(self.config.source, ticket)
        interaction = interaction_from_ticket(self.config.source, ticket)
        return (interaction, state) if state is not None else (interaction,)

    def event_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """Owner and status changes from the time-based ticket-event export."""
        cursor = cursor or {}
        start_time = int(cursor.get("start_time", since.timestamp()))
        pass_start = int(cursor.get("pass_start", start_time))
        began = _moment(cursor.get("began"))
        guard = LoopGuard(self.config, "ticket events export")
        while True:
            asked = start_time
            page = self._events_from(asked)
            began = began or self._server_now()
            raw = page.records("ticket_events")
            records = self._records("ticket_events", raw, self._event_records)
            end_time = _export_time(page.scalar("end_time"))
            moved = end_time is not None and end_time > asked
            said_more = (
                page.scalar("end_of_stream") is not True
                and bool(page.scalar("next_page"))
                and bool(raw)
            )
            # A short page that does not move past its start is the tail, re-read.
            end = not said_more or (not moved and len(raw) < EXPORT_PAGE)
            if said_more and end_time is None:
                # More follows, from a time the page does not give: taking it as the end
                # would mark the stream read to now with the rest unread.
                raise SourceError(
                    f"{self.config.source} ticket events export sent a page that says more "
                    f"follows with no end_time to read on from ({page.scalar('end_time')!r}); "
                    "stopping this stream with its cursor kept. Run again; if it repeats, "
                    "report it."
                )
            reached_until = (
                until is not None
                and end_time is not None
                and datetime.fromtimestamp(end_time, UTC) >= until
            )
            if end or reached_until:
                last = datetime.fromtimestamp(end_time if moved and end_time else asked, UTC)
                restart = max(pass_start, int((min(last, began) - self.config.overlap).timestamp()))
                # At the end of the export every event up to the server's now (less the
                # minute an export leaves out) is read, not only up to the last one sent:
                # the stream's complete read (docs/metrics.md "Completeness").
                complete = last if reached_until else max(last, self._server_now() - EXPORT_LAG)
                yield Page(
                    "events", records, {"start_time": restart}, True, reached=complete,
                    read=len(raw),
                )  # fmt: skip
                return
            if not moved:
                raise CursorStuckError(
                    f"{self.config.source} ticket events export did not move past "
                    f"start_time={asked} (more events in one second than a page holds?); "
                    "stopping this stream instead of looping, the others go on. Report it "
                    "with this number."
                )
            assert end_time is not None
            guard.followed(str(end_time), None, len(raw))
            start_time = end_time
            reached = datetime.fromtimestamp(start_time, UTC)
            page_cursor = {
                "start_time": start_time,
                "pass_start": pass_start,
                "began": _stamp(began),
            }
            yield Page("events", records, page_cursor, False, reached=reached, read=len(raw))

    def _events_from(self, start_time: int) -> RawPage:
        page: RawPage = self._request(
            "ticket events export", lambda: self._client.tickets.events(start_time=start_time)
        )
        return page

    def _event_records(self, event: Mapping[str, Any]) -> tuple[Any, ...]:
        changes = tuple(changes_from_event(self.config.source, event))
        satisfied = ticket_of_satisfaction_change(event)
        if satisfied is not None:
            self.surveys.note(satisfied)
        return changes

    def rating_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """Answered satisfaction ratings (`score=received`) created since the cursor.

        Offers are no response (docs/metrics.md "CSAT"), so they are not paged through at all.
        A customer's later answer to an old offer, or a changed answer, is caught by the
        ticket export instead: it embeds the ticket's current rating (`RatingState`).
        A resumed pass reads on from the next-page link stored with the last page, so the
        cursor is right whatever order the endpoint returns records in.
        """
        cursor = cursor or {}
        # A first pass opens a survey's life before `since`: a rating answered then, on a
        # ticket the window reads, counts on its own day, for the agent it names
        # (docs/metrics.md "CSAT"), not on the day the ticket next changed.
        start_time = int(cursor.get("start_time", (since - ANSWERABLE).timestamp()))
        resume: str | None = cursor.get("next_url")
        if resume and origin_of(resume) != origin_of(f"{self._scheme}://{self._netloc}"):
            resume = None  # stored before base_url changed: read the pass again from its start
        began = _moment(cursor.get("began"))
        guard = LoopGuard(self.config, "satisfaction ratings")
        if resume:
            guard.followed(resume)
            # zenpy has no public call for a stored next-page link; `_get` is what its own
            # generators use to follow one (zenpy is pinned).
            page: RawPage = self._request(
                "satisfaction ratings", lambda: self._client.satisfaction_ratings._get(resume)
            )
        else:
            page = self._request(
                "satisfaction ratings",
                lambda: self._client.satisfaction_ratings(
                    score="received",
                    start_time=max(start_time, 1),
                    end_time=int(until.timestamp()) if until is not None else None,
                    sort_order="asc",
                ),
            )
        began = began or self._server_now()
        while True:
            raw = page.records("satisfaction_ratings")
            records = self._records("satisfaction_ratings", raw, self._rating_records)
            if until is not None:
                records = tuple(
                    r for r in records if not isinstance(r, Rating) or r.created_at < until
                )
            next_url = page.next_link()
            newest = max((r.created_at for r in records if isinstance(r, Rating)), default=None)
            if next_url is None:
                restart = max(start_time, int((began - self.config.overlap).timestamp()))
                yield Page(
                    "ratings", records, {"start_time": restart}, True, reached=began, read=len(raw)
                )
                return
            guard.followed(next_url, None, len(raw))
            guard.records_again(raw, "updated_at")
            page_cursor = {"start_time": start_time, "next_url": next_url, "began": _stamp(began)}
            yield Page("ratings", records, page_cursor, False, reached=newest, read=len(raw))
            if not self._next_page("satisfaction ratings", page):
                raise CursorStuckError(
                    f"{self.config.source} satisfaction ratings: the page said more follow "
                    "but its next link led nowhere; stopping with the cursor kept. Run "
                    "again; if it repeats, report it."
                )

    def _rating_records(self, rating: Mapping[str, Any]) -> tuple[Any, ...]:
        return (rating_from_json(self.config.source, rating),)

    def survey_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """New-CSAT survey responses (connectors/zendesk_surveys.py)."""
        return self.surveys.pages(cursor, since, until)

    def agent_pages(self, cursor: Cursor | None = None) -> Iterator[Page]:
        """Every agent and admin, read whole each pass (a desk has few)."""
        page: RawPage = self._request("agents", lambda: self._client.users(role=["agent", "admin"]))
        guard = LoopGuard(self.config, "agents")
        while True:
            # Asked for agents: a user without a role is one; a server that ignores the role
            # filter must not fill `agents` with customers.
            raw = [
                {**user, "role": user.get("role") or "agent"}
                for user in page.records("users")
                if not user.get("role") or is_agent_role(user.get("role"))
            ]
            agents = self._records("users", raw, self._agent_records)
            next_url = page.next_link()
            if next_url is None:
                yield Page("agents", agents, {}, True, read=len(raw))
                return
            guard.followed(next_url, None, len(raw))
            guard.records_again(raw, "updated_at")
            yield Page("agents", agents, {}, False, read=len(raw))
            if not self._next_page("agents", page):
                yield Page("agents", (), {}, True)
                return

    def _agent_records(self, user: Mapping[str, Any]) -> tuple[Any, ...]:
        return (agent_from_user(self.config.source, user),)

    def _records(
        self,
        stream: str,
        raw: list[dict[str, Any]],
        parse: Callable[[Mapping[str, Any]], tuple[Any, ...]],
    ) -> tuple[Any, ...]:
        """The model records of a page; a record that cannot be read stops the stream, or
        with `bad_records = "quarantine"` is set aside (and the rest of the page kept)."""
        records: list[Any] = []
        for item in raw:
            try:
                records.extend(parse(item))
            except MalformedRecordError as bad:
                if self.config.bad_records != "quarantine":
                    raise
                # Only the fields read: no subject, description or comment is kept.
                kept = kept_record(stream, item)
                records.append(
                    Quarantined.of(
                        self.config.source, stream, kept, "id", str(bad), datetime.now(UTC)
                    )
                )
        return tuple(records)

    def agents_by_id(self, agent_ids: Iterable[str]) -> list[Agent]:
        """Users not in the agent list (downgraded, deleted), 100 to a `show_many` request:
        owners of tickets, or agents stored before. One permanently deleted is left out."""
        wanted = sorted(set(agent_ids), key=lambda i: (len(i), i))
        found: list[Agent] = []
        for offset in range(0, len(wanted), SHOW_MANY_LIMIT):
            batch = [
                int(i) if i.isdigit() else i for i in wanted[offset : offset + SHOW_MANY_LIMIT]
            ]
            found.extend(agent_from_user(self.config.source, u) for u in self._users(batch))
        return found

    def _users(self, ids: list[int | str]) -> list[dict[str, Any]]:
        found: RawPage = self._request("users show_many", lambda: self._client.users(ids=ids))
        return found.records("users")

    def recall(self, cursors: Mapping[str, Cursor | None]) -> None:
        """Nothing: each Zendesk stream's cursor is all that stream needs."""

    def check(self) -> str:
        """One cheap authenticated request (`GET /api/v2/users/me.json`, for `deskmetrics
        check`): whom the token belongs to. Zendesk's incremental exports are for admins
        only, so an agent, an end user or the anonymous user is an `AuthenticationError`."""
        me: RawPage = self._request("users/me", lambda: self._client.users.me())
        found = me.body.get("user")
        user: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        who = f"{user.get('name') or 'a user'} <{user.get('email') or 'no e-mail'}>"
        if not user.get("id"):
            raise AuthenticationError(
                f"{self.config.source}: GET /api/v2/users/me.json answered for the anonymous "
                f"user: the credentials were not accepted. Check sources.{self.config.source}"
                f".email in the settings and the API token in {self.config.token_env}."
            )
        if user.get("role") != "admin":
            raise AuthenticationError(
                f"{self.config.source}: the API token belongs to {who}, whose role is "
                f"{user.get('role')!r}; Zendesk's incremental exports are for admins only. "
                f"Use an admin's e-mail in sources.{self.config.source}.email and their API "
                f"token in {self.config.token_env}."
            )
        return f"authenticated as {who}, an admin"


def _moment(stamp: Any) -> datetime | None:
    return datetime.fromtimestamp(int(stamp), UTC) if isinstance(stamp, int | float) else None


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _export_time(value: Any) -> int | None:
    """An export's `end_time` as unix seconds (a number, or its digits as text); None when
    absent or not a usable time."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    try:
        found = parse_time(value) if isinstance(value, int | float) else None
    except ValueError:
        return None
    return int(found.timestamp()) if found is not None else None


def _generated_at(ticket: Mapping[str, Any]) -> datetime:
    try:
        found = parse_time(ticket.get("generated_timestamp"))
    except ValueError:  # out of range or not a time: it only says how far the export got
        found = None
    return found or datetime.min.replace(tzinfo=UTC)


def _server_of(config: ZendeskConfig) -> tuple[str, str]:
    """(scheme, netloc) of the API: `base_url` when set, else `<subdomain>.zendesk.com`."""
    if not config.base_url:
        if not config.subdomain:
            raise ConfigError(
                f"[sources.{config.source}] has neither subdomain nor base_url: set "
                'subdomain = "yourcompany" (for yourcompany.zendesk.com) or base_url.'
            )
        return "https", f"{config.subdomain}.zendesk.com"
    parts = urlsplit(config.base_url)
    if holds_credentials(config.base_url):
        raise ConfigError(
            f"[sources.{config.source}] base_url holds a user name or password (user@host): "
            f"write the server's address alone; the API token goes in {config.token_env}."
        )
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(
            f"[sources.{config.source}] base_url = {config.base_url!r} is not a server "
            "address: use the form https://yourcompany.zendesk.com or http://127.0.0.1:8765 "
            "(no path; deskmetrics adds /api/v2)."
        )
    return parts.scheme, parts.netloc
