"""Zendesk Support connector: the four streams of DESIGN.md, page by page, through zenpy.

    tickets   GET incremental/tickets/cursor.json?include=metric_sets   1,000 a page
    events    GET incremental/ticket_events.json?start_time=            owner/status history
    ratings   GET satisfaction_ratings?start_time=&sort_order=asc        100 a page
    agents    GET users.json?role[]=agent&role[]=admin  (+ users/show_many.json for the rest)

Each `*_pages` generator reads from a saved cursor and yields `Page`s: the records of one
API page with the cursor that reads on after it. Storing a page together with its cursor
makes every stream resumable after a crash at any page. Cursor rules (DESIGN.md "Sources"):
a finished pass saves a time no later than the moment it began, minus `overlap`, so the
next pass re-reads a few minutes; a page that does not move the cursor is an error.

Never one request per ticket: per-ticket audits are not used at all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from zenpy import Zenpy

from connectors.http import ApiUsage, RetryPolicy, api_session, call_with_retries
from connectors.zendesk_records import (
    AGENT_ROLES,
    agent_from_user,
    changes_from_event,
    interaction_from_ticket,
    rating_from_json,
    rating_state_from_ticket,
)
from interactions import Agent, ConfigError, CursorStuckError

STREAMS = ("agents", "tickets", "events", "ratings")
# Zendesk leaves out what changed in the last minute (METRICS.md "Resolution and FCR").
EXPORT_LAG = timedelta(minutes=1)
SHOW_MANY_LIMIT = 100
EXPORT_PAGE = 1000  # records in a full incremental-export page

Cursor = dict[str, Any]


@dataclass(frozen=True)
class ZendeskConfig:
    """What the connector needs; the token is never shown in a repr or a message."""

    source: str
    subdomain: str
    email: str
    token: str = field(repr=False)
    base_url: str | None = None
    token_env: str = "the token's environment variable"  # its name, for messages
    overlap: timedelta = timedelta(minutes=5)
    ratings_lookback: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class Page:
    """One API page as model records, with the cursor to save together with it.

    `high_water_mark` is set on the last page of a completed ticket export: the moment up
    to which the source's interactions are known complete (server `Date` minus one minute).
    """

    stream: str
    records: tuple[Any, ...]
    cursor: Cursor
    done: bool
    high_water_mark: datetime | None = None
    reached: datetime | None = None  # how far through time the stream has read (progress)
    read: int = 0  # API records on the page (tickets, events, …), not the records made of them


# zenpy reads ZENPY_FORCE_* from the process environment on every call; the lock keeps
# two connectors pointed at different servers from crossing.
_ENV_LOCK = threading.Lock()


class ZendeskConnector:
    """Reads the streams of one Zendesk instance (`config.source`)."""

    def __init__(self, config: ZendeskConfig, policy: RetryPolicy) -> None:
        self.config = config
        self.policy = policy
        self.usage = ApiUsage()
        self._scheme, self._netloc = _server_of(config)
        self._session = session = api_session(
            config.source,
            self.usage,
            policy,
            fix_credentials=(
                f"Check sources.{config.source}.email in the settings and the API token in "
                f"{config.token_env}."
            ),
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

    def close(self) -> None:
        """Close the HTTP connections this connector holds."""
        self._session.close()

    def __enter__(self) -> ZendeskConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def _next_page(self, what: str, generator: Any) -> bool:
        """Fetch the generator's next page in place; False at the end of the stream."""

        def advance() -> bool:
            try:
                generator.handle_pagination()
            except StopIteration:
                return False
            return True

        return bool(self._request(what, advance))

    def _server_now(self) -> datetime:
        return self.usage.last_server_time or datetime.now(UTC)

    # --- streams -------------------------------------------------------------------------

    def ticket_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """Tickets (deleted ones too, as `deleted`) from the cursor export."""
        cursor = cursor or {}
        began = datetime.now(UTC)
        start_time = int(cursor.get("start_time", since.timestamp()))
        resume = cursor.get("after_cursor")
        if resume:
            generator = self._request(
                "tickets export",
                lambda: self._client.tickets.incremental(cursor=resume, include=["metric_sets"]),
            )
        else:
            generator = self._request(
                "tickets export",
                lambda: self._client.tickets.incremental(
                    start_time=start_time, include=["metric_sets"]
                ),
            )
        began = min(began, self._server_now())
        asked = resume
        ended = False
        while True:
            raw = [ticket.to_dict() for ticket in (generator.values or [])] if not ended else []
            records = tuple(interaction_from_ticket(self.config.source, t) for t in raw) + tuple(
                s for t in raw if (s := rating_state_from_ticket(self.config.source, t))
            )
            after = getattr(generator, "after_cursor", None)
            reached_until = until is not None and any(_generated_at(t) >= until for t in raw)
            end = ended or bool(getattr(generator, "end_of_stream", False)) or not after
            if end or reached_until:
                complete = self._server_now() - EXPORT_LAG
                if until is not None:
                    complete = min(complete, until)
                restart = min(complete, began) - self.config.overlap
                yield Page(
                    "tickets",
                    records,
                    {"start_time": int(restart.timestamp())},
                    done=True,
                    high_water_mark=complete,
                    reached=complete,
                    read=len(raw),
                )
                return
            if after == asked:
                raise CursorStuckError(
                    f"{self.config.source} tickets export returned the cursor it was asked "
                    f"for ({after!r}); stopping instead of looping. Run the sync again; if "
                    "it repeats, report it."
                )
            reached = max((_generated_at(t) for t in raw), default=None)
            page_cursor = {"start_time": start_time, "after_cursor": after}
            yield Page("tickets", records, page_cursor, False, reached=reached, read=len(raw))
            asked = after
            # No link to a next page although the export is not over: end here all the same.
            ended = not self._next_page("tickets export", generator)

    def event_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """Owner and status changes from the time-based ticket-event export."""
        start_time = int((cursor or {}).get("start_time", since.timestamp()))
        began = datetime.now(UTC)
        first = True
        while True:
            asked = start_time
            generator = self._events_from(asked)
            if first:
                began, first = min(began, self._server_now()), False
            raw = [event.to_dict() for event in (generator.values or [])]
            records = tuple(
                change for event in raw for change in changes_from_event(self.config.source, event)
            )
            end_time = getattr(generator, "end_time", None)
            moved = end_time is not None and int(end_time) > asked
            end = (
                bool(getattr(generator, "end_of_stream", False))
                or not getattr(generator, "next_page", None)
                or not raw
                or end_time is None
                # A short page that does not move past its start is the tail, re-read.
                or (not moved and len(raw) < EXPORT_PAGE)
            )
            reached_until = (
                until is not None
                and end_time is not None
                and (datetime.fromtimestamp(int(end_time), UTC) >= until)
            )
            if end or reached_until:
                last = datetime.fromtimestamp(int(end_time or asked), UTC)
                restart = min(last, began) - self.config.overlap
                restart_cursor = {"start_time": int(restart.timestamp())}
                yield Page("events", records, restart_cursor, True, reached=last, read=len(raw))
                return
            if not moved:
                raise CursorStuckError(
                    f"{self.config.source} ticket events export did not move past "
                    f"start_time={asked} (more events in one second than a page holds?); "
                    "stopping instead of looping. Report it with this number."
                )
            assert end_time is not None
            start_time = int(end_time)
            reached = datetime.fromtimestamp(start_time, UTC)
            page_cursor = {"start_time": start_time}
            yield Page("events", records, page_cursor, False, reached=reached, read=len(raw))

    def _events_from(self, start_time: int) -> Any:
        return self._request(
            "ticket events export", lambda: self._client.tickets.events(start_time=start_time)
        )

    def rating_pages(
        self, cursor: Cursor | None, since: datetime, until: datetime | None = None
    ) -> Iterator[Page]:
        """Satisfaction ratings created since the cursor, re-reading `ratings_lookback`.

        Zendesk filters `start_time` on `created_at`, and a changed answer may keep its
        record: the look-back re-reads recent ratings so late changes are not missed.
        """
        saved = (cursor or {}).get("start_time")
        start = (
            datetime.fromtimestamp(int(saved), UTC) - self.config.ratings_lookback
            if saved is not None
            else since
        )
        began = datetime.now(UTC)
        newest = int(saved) if saved is not None else int(since.timestamp())
        generator = self._request(
            "satisfaction ratings",
            lambda: self._client.satisfaction_ratings(
                start_time=max(int(start.timestamp()), 1), sort_order="asc"
            ),
        )
        began = min(began, self._server_now())
        while True:
            raw = [rating.to_dict() for rating in (generator.values or [])]
            records = tuple(rating_from_json(self.config.source, r) for r in raw)
            if until is not None:
                records = tuple(r for r in records if r.created_at < until)
            for record in records:
                newest = max(newest, int(record.created_at.timestamp()))
            reached = datetime.fromtimestamp(newest, UTC)
            page_cursor = {"start_time": newest}
            yield Page("ratings", records, page_cursor, False, reached=reached, read=len(raw))
            if not self._next_page("satisfaction ratings", generator):
                break
        # The last page is only known by asking for the next one: the final cursor follows
        # as a page of its own.
        yield Page("ratings", (), {"start_time": min(newest, int(began.timestamp()))}, True)

    def agent_pages(self, cursor: Cursor | None = None) -> Iterator[Page]:
        """Every agent and admin, read whole each time (a desk has few)."""
        generator = self._request("agents", lambda: self._client.users(role=["agent", "admin"]))
        while True:
            # Asked for agents: a user without a role is one; a server that ignores the role
            # filter must not fill `agents` with customers.
            raw = [
                {**user, "role": user.get("role") or "agent"}
                for user in (u.to_dict() for u in (generator.values or []))
                if user.get("role") in AGENT_ROLES or not user.get("role")
            ]
            agents = tuple(agent_from_user(self.config.source, u) for u in raw)
            yield Page("agents", agents, {}, False, read=len(raw))
            if not self._next_page("agents", generator):
                break
        yield Page("agents", (), {}, True)

    def agents_by_id(self, agent_ids: Iterable[str]) -> list[Agent]:
        """Users that owned tickets but are no longer listed as agents (downgraded, deleted)."""
        wanted = sorted(set(agent_ids), key=lambda i: (len(i), i))
        found: list[Agent] = []
        for offset in range(0, len(wanted), SHOW_MANY_LIMIT):
            batch = [
                int(i) if i.isdigit() else i for i in wanted[offset : offset + SHOW_MANY_LIMIT]
            ]
            found.extend(agent_from_user(self.config.source, u) for u in self._users(batch))
        return found

    def _users(self, ids: list[int | str]) -> list[dict[str, Any]]:
        found = self._request("users show_many", lambda: list(self._client.users(ids=ids)))
        return [user.to_dict() for user in found]


def _generated_at(ticket: Mapping[str, Any]) -> datetime:
    stamp = ticket.get("generated_timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC)
    return datetime.min.replace(tzinfo=UTC)


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
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(
            f"[sources.{config.source}] base_url = {config.base_url!r} is not a server "
            "address: use the form https://yourcompany.zendesk.com or http://127.0.0.1:8765 "
            "(no path; deskmetrics adds /api/v2)."
        )
    return parts.scheme, parts.netloc
