"""The one HTTP policy every connector request goes through: timeout and deadline, failure
sorting, retries.

A connector owns a `requests.Session` built by `api_session`. It sends to the configured
server only (`wire.OriginBoundSession`: a link or redirect elsewhere is refused before
the credentials go anywhere). Its response hook sorts every answer before the client
library sees it (STYLE.md 4): 429 and 5xx become retriable errors, 401/403 an
`AuthenticationError`, other 4xx a fatal `SourceError`, a redirect to another server a
`ForeignOriginError`. `Retry-After` is read from the headers, never from the body (a 429
body may be plain text). The hook then reads the body under a whole-response deadline and
parses it once (`wire.read_body`, `wire.parsed_page`): a late, cut, non-JSON or
self-contradicting page is retried like a 5xx. Because the hook raises first, zenpy's own
sleep-on-429 loop never runs: tenacity is the only layer that waits
(`call_with_retries`), with a bound on the total time it may sleep; what still fails
then is a `SourceUnavailableError` naming the path and the fault. Every request has a
connect timeout and a read timeout of its own; the retries of one request are bounded by
the time they take in all (their waits and their tries: a try still arriving when that
bound runs out is cut), and by the run's deadline and stop request when the pipeline sets
them.

The hook also counts requests and keeps the last rate-limit headers (`ApiUsage`), which
the pipeline logs per run, and slows down when the run has used its share of the quota.
"""

from __future__ import annotations

import email.utils
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
import urllib3
from requests.adapters import HTTPAdapter

from connectors.header_deadline import WATCHED_POOLS, headers_within
from connectors.wire import (
    ForeignOriginError,
    OriginBoundSession,
    RetriableHTTPError,
    origin_of,
    parsed_page,
    read_body,
    refuse_unfollowed_redirect,
    server_text,
)
from interactions import AuthenticationError, SourceError, SourceUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Zendesk sends the same figures under several names (research/zendesk-api.md 1.4).
_LIMIT_HEADERS = ("X-Rate-Limit", "ratelimit-limit", "rate-limit")
_REMAINING_HEADERS = ("X-Rate-Limit-Remaining", "ratelimit-remaining", "rate-limit-remaining")
_RESET_HEADERS = ("ratelimit-reset", "rate-limit-reset", "X-Rate-Limit-Reset")


class NotFoundError(SourceUnavailableError):
    """404: the address speaks no such API, or what it names (a survey version) is gone."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry; `sleep` is replaced in tests so they never wait.

    `connect_timeout_seconds` bounds the wait for a connection, `timeout_seconds` each wait
    for data; `deadline_seconds` bounds a whole response, from sending the request to the
    last byte of the body. `max_wait_seconds` bounds one request with its retries: the
    waits between tries and the time the tries take (a try is cut when it runs out). The
    pipeline sets `run_deadline` (a
    `time.monotonic()` moment: no request waits past it and none is retried after it) and
    `stop` (once set, nothing is retried) for one run.
    """

    max_attempts: int = 8
    max_wait_seconds: float = 600.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    timeout_seconds: float = 60.0
    deadline_seconds: float = 300.0
    max_quota_share: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    run_deadline: float | None = None
    run_bound: str = "sync.max_run_minutes"  # the setting `run_deadline` comes from
    stop: threading.Event | None = None
    # The setting that names the server, in the words of the source's type; the connector
    # sets it (`sources.acme.subdomain`), and messages tell the user to check it.
    address_setting: str = "the source's server address"


@dataclass
class ApiUsage:
    """What one connector cost: requests made and the rate-limit headers last seen."""

    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    rate_limit: int | None = None
    rate_limit_remaining: int | None = None
    last_server_time: datetime | None = None
    by_path: dict[str, int] = field(default_factory=dict)
    clock_doubted: bool = False  # a server clock far ahead of this machine's was seen

    def summary(self) -> str:
        remaining = (
            f", rate limit {self.rate_limit_remaining}/{self.rate_limit} left"
            if self.rate_limit is not None
            else ""
        )
        return (
            f"{self.requests} requests, {self.retries} retries, "
            f"{self.waited_seconds:.0f} s waited{remaining}"
        )


def retry_after_seconds(headers: Any) -> float | None:
    """`Retry-After` as seconds: an integer, a decimal, or an HTTP date; None when absent
    or unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = _aware(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _aware(moment: datetime) -> datetime:
    """An HTTP date in UTC; one that names no zone (`-0000`) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _int_header(headers: Any, *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return int(float(value))
            except (ValueError, OverflowError):  # not a number, or not a finite one
                continue
    return None


def api_session(
    source: str,
    usage: ApiUsage,
    policy: RetryPolicy,
    fix_credentials: str,
    origin: str | None = None,
) -> requests.Session:
    """A session whose every response is counted, read, checked and sorted before the client.

    `fix_credentials` is the sentence an authentication failure ends with (it names the
    settings and environment variables to check, never their values). `origin` is the
    configured server (`https://acme.zendesk.com`): the session sends nothing anywhere
    else. Without it, the origin of the first request sent is the only one allowed (a
    connector's first request is built from its settings, never from a server's answer).
    """
    session = timed_session(OriginBoundSession(source, origin), policy)

    def sort_response(response: requests.Response, *args: Any, **kwargs: Any) -> Any:
        usage.requests += 1
        path = response.request.path_url.split("?", 1)[0] if response.request else "?"
        usage.by_path[path] = usage.by_path.get(path, 0) + 1
        _note_rate_limit(usage, response.headers)
        status = response.status_code
        where = f"{source}: GET {path}"
        if status == 429 or status >= 500 or status in (401, 403, 404):
            # Raising here skips requests' own reading of the body: close the connection
            # instead of reading a body nobody needs.
            response.close()
        if status == 429:
            raise RetriableHTTPError(
                f"{where} was rate limited (429)", retry_after_seconds(response.headers)
            )
        if status >= 500:
            raise RetriableHTTPError(
                f"{where} failed with {status}", retry_after_seconds(response.headers)
            )
        if status in (401, 403):
            raise AuthenticationError(
                f"{where} was refused ({status}): the credentials are wrong or lack the "
                f"rights to read this. {fix_credentials}"
            )
        if status == 404:
            raise NotFoundError(
                f"{where} answered 404 Not Found: the server at this address does not "
                f"speak this API. Check {policy.address_setting} in the settings."
            )
        if response.is_redirect:
            target = urljoin(response.url, response.headers["location"])
            if origin_of(target) != session.origin:
                response.close()
                raise ForeignOriginError(session.refusal(target, "a redirect"))
        refuse_unfollowed_redirect(response, where)
        streamed = bool(kwargs.get("stream"))
        if streamed:
            body = b""
        else:
            seconds, bound = response_bound(policy)
            body = read_body(response, seconds, kwargs.get("timeout"), where, bound)
        if response.is_redirect:
            return None  # to the same server: requests follows it, through `send` again
        if status >= 400:
            snippet = server_text(body[:1000].decode("utf-8", "replace"))
            raise SourceError(
                f"{where} was rejected ({status}): {snippet!r}. "
                "This is a request deskmetrics should not have made; please report it."
            )
        parsed = None if streamed else parsed_page(response, body, where, path)
        _slow_down_past_share(usage, response.headers, policy)
        return parsed

    session.hooks["response"].append(sort_response)
    return session


S = TypeVar("S", bound=requests.Session)


def timed_session(session: S, policy: RetryPolicy) -> S:
    """`session` with the policy's timeouts on every request and no retries of its own."""
    if isinstance(session, OriginBoundSession):
        session.address_setting = policy.address_setting  # for its refusals
    # No urllib3 retries: one layer (tenacity) owns retrying.
    session.mount("https://", _TimedAdapter(policy))
    session.mount("http://", _TimedAdapter(policy))
    # The API never needs a chain of redirects; a loop must end early and clearly.
    session.max_redirects = 5
    return session


class _TimedAdapter(HTTPAdapter):
    """Sends with the policy's connect timeout beside the read timeout the client gives
    (zenpy passes one number, which requests would use for both), never waits past the
    run's deadline, and bounds the wait for the headers as `read_body` bounds the body
    (connectors/header_deadline.py)."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(max_retries=0)
        self.policy = policy

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        seconds, bound = response_bound(self.policy)
        where = f"{request.method} {urlsplit(request.url or '').path}"
        with headers_within(seconds, bound, where):
            return super().send(
                request, stream, _timeouts(self.policy, timeout), verify, cert, proxies
            )


# A request started just before the run's deadline still gets this long.
_LEAST_WAIT_SECONDS = 1.0
# A timeout of 0 is refused by urllib3: a try begun as its request's bound runs out gets this.
_LEAST_TRY_SECONDS = 0.01

# When (a `time.monotonic()` moment) the request being tried must be done by: what was left
# of `http.max_wait_seconds` as its try began. `call_with_retries` sets it around each try;
# the adapter and the response hook, run by the same thread within that try, read it.
_request_bound: ContextVar[float | None] = ContextVar("request_bound", default=None)

_WHOLE_RESPONSE = "http.deadline_seconds bounds a whole response"
_REQUEST_WAIT = "what was left of http.max_wait_seconds, the bound of a request and its retries"


def _timeouts(
    policy: RetryPolicy, timeout: float | tuple[float, float] | tuple[float, None] | None
) -> tuple[float, float]:
    """(connect, read) seconds: the policy's connect timeout and the given read timeout,
    neither past the run's deadline nor past the bound of the request being tried."""
    if isinstance(timeout, tuple):
        connect, read = timeout[0], timeout[1] or policy.timeout_seconds
    else:
        connect, read = policy.connect_timeout_seconds, timeout or policy.timeout_seconds
    for left, _bound in _bounds_left(policy):
        connect, read = min(connect, left), min(read, left)
    return connect, read


def response_bound(policy: RetryPolicy) -> tuple[float, str]:
    """Seconds a whole response may take, and the bound that sets them: the nearest of
    `http.deadline_seconds`, the run's deadline and what is left of the request's
    `http.max_wait_seconds` (a try in progress is cut when its request's bound runs out)."""
    return min([(policy.deadline_seconds, _WHOLE_RESPONSE), *_bounds_left(policy)])


def _bounds_left(policy: RetryPolicy) -> list[tuple[float, str]]:
    """Seconds left before the run's deadline and before the bound of the request being
    tried, each with the setting it comes from; those that are not set are left out."""
    now = time.monotonic()
    bounds = []
    if policy.run_deadline is not None:
        left = max(policy.run_deadline - now, _LEAST_WAIT_SECONDS)
        bounds.append((left, f"{policy.run_bound} bounds the run"))
    request_bound = _request_bound.get()
    if request_bound is not None:
        bounds.append((max(request_bound - now, _LEAST_TRY_SECONDS), _REQUEST_WAIT))
    return bounds


def _run_time_left(policy: RetryPolicy) -> float | None:
    return None if policy.run_deadline is None else policy.run_deadline - time.monotonic()


def _note_rate_limit(usage: ApiUsage, headers: Any) -> None:
    """Keep the rate-limit headers and the server's clock, under any of Zendesk's names."""
    usage.rate_limit = _int_header(headers, *_LIMIT_HEADERS) or usage.rate_limit
    remaining = _int_header(headers, *_REMAINING_HEADERS)
    if remaining is not None:
        usage.rate_limit_remaining = remaining
    note_server_clock(usage, headers)


# A server's clock further ahead of this machine's than this is not believed: a window read
# to a `Date` in the future would move every cursor past changes not made yet, and they
# would never be read. Clocks drift by minutes; a server that simulates time may run ahead.
MAX_SERVER_CLOCK_LEAD = timedelta(days=7)


def note_server_clock(usage: ApiUsage, headers: Any) -> None:
    """Keep the server's clock (`Date`): the source's "now", whatever the local clock says,
    unless it is more than `MAX_SERVER_CLOCK_LEAD` ahead of it (then this machine's clock
    stands in, and a warning says so once)."""
    date = headers.get("Date")
    if not date:
        return
    try:
        moment = _aware(email.utils.parsedate_to_datetime(date))
    except (TypeError, ValueError, OverflowError):
        return
    if moment - datetime.now(UTC) > MAX_SERVER_CLOCK_LEAD:
        if not usage.clock_doubted:
            log.warning(
                "the server's clock (Date: %s) is more than %d days ahead of this machine's: "
                "windows end at this machine's time instead",
                server_text(date, 60),
                MAX_SERVER_CLOCK_LEAD.days,
            )
        usage.clock_doubted = True
        return
    usage.last_server_time = moment


def _slow_down_past_share(usage: ApiUsage, headers: Any, policy: RetryPolicy) -> None:
    """Other integrations share the customer's quota: past our share, wait for the reset."""
    limit, remaining = usage.rate_limit, usage.rate_limit_remaining
    if not limit or remaining is None:
        return
    floor = limit * (1.0 - policy.max_quota_share)
    if remaining >= floor:
        return
    reset = _int_header(headers, *_RESET_HEADERS) or 60
    wait = float(min(max(reset, 1), 60))
    log.info(
        "rate limit %s/%s left, below this run's share: waiting %.0f s", remaining, limit, wait
    )
    usage.waited_seconds += wait
    policy.sleep(wait)


class _StopAsked(Exception):
    """A stop came while a request waited to be tried again (never retried itself)."""


_RETRIABLE = (
    RetriableHTTPError,
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def call_with_retries(what: str, call: Callable[[], T], policy: RetryPolicy, usage: ApiUsage) -> T:
    """Run `call` (one request, or one page) under the retry policy.

    Waits `Retry-After` when the server says so, else capped exponential backoff with
    jitter. Gives up after `max_attempts` tries; or once the time spent on this call (its
    waits, and its failed tries: a server that never answers costs a timeout a try)
    would pass `max_wait_seconds` (which also cuts a try still going when it runs out); or
    at once when the run's deadline would pass or a stop is asked for. Then a
    `SourceUnavailableError` says why and what failed last.
    """
    backoff = tenacity.wait_exponential_jitter(
        # `multiplier` is the first wait (tenacity 9.2 deprecates `initial`, its old name).
        multiplier=policy.backoff_initial_seconds,
        max=policy.backoff_max_seconds,
    )
    tried_seconds = 0.0  # time spent in tries that failed
    waited_seconds = 0.0  # time spent waiting between tries
    tries = 0
    why = ""  # why the retries stopped

    def timed_call() -> T:
        nonlocal tried_seconds, tries
        if tries and policy.stop is not None and policy.stop.is_set():
            # Asked to stop during the wait before this try: no new try.
            raise _StopAsked
        tries += 1
        started = time.monotonic()
        # This try may take what the earlier tries and the waits left of max_wait_seconds.
        bound = _request_bound.set(
            started + policy.max_wait_seconds - tried_seconds - waited_seconds
        )
        try:
            return call()
        except BaseException:
            tried_seconds += time.monotonic() - started
            raise
        finally:
            _request_bound.reset(bound)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetriableHTTPError) and error.retry_after is not None:
            return error.retry_after
        return float(backoff(state))

    def stop(state: tenacity.RetryCallState) -> bool:
        nonlocal why
        upcoming = state.upcoming_sleep
        left = _run_time_left(policy)
        if state.attempt_number >= policy.max_attempts:
            why = "http.max_attempts"
        elif policy.stop is not None and policy.stop.is_set():
            why = "a stop was asked for"
        elif left is not None and upcoming >= left:
            why = f"the run's time bound, {policy.run_bound}, is reached"
        elif state.idle_for + tried_seconds + upcoming > policy.max_wait_seconds:
            why = f"{state.idle_for + tried_seconds:.0f} s spent on it; http.max_wait_seconds"
        return bool(why)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        nonlocal waited_seconds
        usage.retries += 1
        seconds = state.upcoming_sleep
        usage.waited_seconds += seconds
        waited_seconds += seconds
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: %s; retrying in %.1f s", what, _describe(error, policy), seconds)

    def retriable(error: BaseException) -> bool:
        # A server never reached in this run is a wrong address, not a blip: say so at once.
        if usage.requests == 0 and _never_connected(error):
            return False
        return isinstance(error, _RETRIABLE)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retriable),
        wait=wait,
        stop=stop,
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=False,
    )
    try:
        return retrying(timed_call)
    except _StopAsked:
        raise SourceUnavailableError(
            f"{what}: a stop was asked for while its request was being retried; nothing of "
            "this page was stored, and the next run reads it."
        ) from None
    except requests.ConnectionError as unreachable:
        raise SourceUnavailableError(
            f"{what}: cannot connect to {_shown_origin(unreachable)} "
            f"({_connection_fault(unreachable)}). Check {policy.address_setting} in the "
            "settings and that the server is up."
        ) from None
    except requests.TooManyRedirects:
        raise SourceError(
            f"{what}: the server's redirects went round in circles; check "
            f"{policy.address_setting} in the settings."
        ) from None
    except requests.RequestException as unusable:
        # Never its text: it may quote a header, and a header holds the credentials.
        raise SourceError(
            f"{what}: the request could not be made ({type(unusable).__name__}): the server "
            "sent a link that cannot be followed, or a setting holds characters an HTTP "
            "header cannot carry. Check the source's settings; if they are right, report it."
        ) from None
    except tenacity.RetryError as gave_up:
        last = gave_up.last_attempt.exception()
        raise SourceUnavailableError(
            f"{what}: gave up after {gave_up.last_attempt.attempt_number} tries ({why}; "
            f"{usage.waited_seconds:.0f} s waited in this run); last failure: "
            f"{_describe(last, policy)}. Nothing of this page was stored; run the same command "
            f"again later, or check {policy.address_setting} and the service's status page."
        ) from last


def _never_connected(error: BaseException) -> bool:
    """Connection refused or name not resolved (not a reset of a connection that was made)."""
    if not isinstance(error, requests.ConnectionError) or not error.args:
        return False
    reason = getattr(error.args[0], "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _describe(error: BaseException | None, policy: RetryPolicy) -> str:
    if isinstance(error, RetriableHTTPError):
        return str(error)
    if isinstance(error, requests.ConnectTimeout):
        return (
            f"GET {_shown_url(error)} was not accepted within "
            f"{policy.connect_timeout_seconds:g} s (http.connect_timeout_seconds)"
        )
    if isinstance(error, requests.Timeout):
        return (
            f"GET {_shown_url(error)} sent no answer within {policy.timeout_seconds:g} s "
            "(http.timeout_seconds)"
        )
    if isinstance(error, requests.ConnectionError):
        return f"the connection to {_shown_url(error)} failed or was reset"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the response was cut off"
    return type(error).__name__ if error else "unknown"


def _connection_fault(error: requests.ConnectionError) -> str:
    """What kept the connection from being made, in words: never the exception's text,
    which may quote the request."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return "its name does not resolve"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return "the connection was refused or could not be made"
    return f"the connection failed: {type(error).__name__}"


def _shown_origin(error: requests.RequestException) -> str:
    """The failed request's scheme, host and port: the server that could not be reached."""
    url = getattr(error.request, "url", None)
    return (origin_of(url) if url else None) or "the server"


def _shown_url(error: requests.RequestException) -> str:
    """The failed request's origin and path: never its query, which may carry a cursor
    or a token, nor credentials in the address."""
    url = getattr(error.request, "url", None)
    if not url:
        return "the server"
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
