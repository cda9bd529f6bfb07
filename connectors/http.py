"""The one HTTP policy every connector request goes through: timeout, failure sorting, retries.

A connector owns a `requests.Session` built by `api_session`. Its response hook sorts every
answer before the client library sees it (STYLE.md 4): 429 and 5xx become retriable
errors, 401/403 an `AuthenticationError`, other 4xx a fatal `SourceError`. `Retry-After`
is read from the headers, never from the body (a 429 body may be plain text). Because the
hook raises first, zenpy's own sleep-on-429 loop never runs: tenacity is the only layer
that waits (`call_with_retries`), with a bound on the total time it may sleep.

The hook also counts requests and keeps the last rate-limit headers (`ApiUsage`), which
the pipeline logs per run, and slows down when the run has used its share of the quota.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import tenacity
import urllib3
from requests.adapters import HTTPAdapter

from interactions import AuthenticationError, SourceError, SourceUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")


class RetriableHTTPError(Exception):
    """A failure worth another try: 429, 5xx. Internal: callers see `SourceUnavailableError`."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry; `sleep` is replaced in tests so they never wait."""

    max_attempts: int = 8
    max_wait_seconds: float = 600.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    timeout_seconds: float = 60.0
    max_quota_share: float = 0.5
    sleep: Callable[[float], None] = time.sleep


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
    """`Retry-After` as seconds: an integer, a decimal, or an HTTP date; None when absent."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _int_header(headers: Any, *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                continue
    return None


def api_session(
    source: str, usage: ApiUsage, policy: RetryPolicy, fix_credentials: str
) -> requests.Session:
    """A session whose every response is counted and sorted before the client sees it.

    `fix_credentials` is the sentence an authentication failure ends with (it names the
    settings and environment variables to check, never their values).
    """
    session = requests.Session()
    # No urllib3 retries: one layer (tenacity) owns retrying.
    session.mount("https://", HTTPAdapter(max_retries=0))
    session.mount("http://", HTTPAdapter(max_retries=0))

    def sort_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        usage.requests += 1
        path = response.request.path_url.split("?", 1)[0] if response.request else "?"
        usage.by_path[path] = usage.by_path.get(path, 0) + 1
        headers = response.headers
        usage.rate_limit = (
            _int_header(headers, "X-Rate-Limit", "ratelimit-limit") or usage.rate_limit
        )
        remaining = _int_header(headers, "X-Rate-Limit-Remaining", "ratelimit-remaining")
        if remaining is not None:
            usage.rate_limit_remaining = remaining
        date = headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                usage.last_server_time = email.utils.parsedate_to_datetime(date).astimezone(UTC)
        status = response.status_code
        where = f"{source}: GET {path}"
        if status >= 400:
            # Raising here skips requests' own reading of the body: read a little and
            # close, so the connection is not left dangling.
            body = response.text[:200] if status < 500 and status != 429 else ""
            response.close()
        if status == 429:
            raise RetriableHTTPError(
                f"{where} was rate limited (429)", retry_after_seconds(headers)
            )
        if status >= 500:
            raise RetriableHTTPError(f"{where} failed with {status}", retry_after_seconds(headers))
        if status in (401, 403):
            raise AuthenticationError(
                f"{where} was refused ({status}): the credentials are wrong or lack the "
                f"rights to read this. {fix_credentials}"
            )
        if status == 404:
            raise SourceUnavailableError(
                f"{where} answered 404 Not Found: the server at this address does not "
                f"speak this API. Check the source's base_url / subdomain in settings."
            )
        if status >= 400:
            raise SourceError(
                f"{where} was rejected ({status}): {body!r}. "
                "This is a request deskmetrics should not have made; please report it."
            )
        _slow_down_past_share(usage, headers, policy)

    session.hooks["response"].append(sort_response)
    return session


def _slow_down_past_share(usage: ApiUsage, headers: Any, policy: RetryPolicy) -> None:
    """Other integrations share the customer's quota: past our share, wait for the reset."""
    limit, remaining = usage.rate_limit, usage.rate_limit_remaining
    if not limit or remaining is None:
        return
    floor = limit * (1.0 - policy.max_quota_share)
    if remaining >= floor:
        return
    reset = _int_header(headers, "ratelimit-reset", "X-Rate-Limit-Reset") or 60
    wait = float(min(max(reset, 1), 60))
    log.info(
        "rate limit %s/%s left, below this run's share: waiting %.0f s", remaining, limit, wait
    )
    usage.waited_seconds += wait
    policy.sleep(wait)


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
    jitter; gives up after `max_attempts` tries or once the total wait would pass
    `max_wait_seconds`, with a `SourceUnavailableError` that says what failed last.
    """
    backoff = tenacity.wait_exponential_jitter(
        initial=policy.backoff_initial_seconds, max=policy.backoff_max_seconds
    )

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetriableHTTPError) and error.retry_after is not None:
            return error.retry_after
        return float(backoff(state))

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        return state.idle_for + wait(state) > policy.max_wait_seconds

    def before_sleep(state: tenacity.RetryCallState) -> None:
        usage.retries += 1
        seconds = state.upcoming_sleep
        usage.waited_seconds += seconds
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: %s; retrying in %.1f s", what, _describe(error), seconds)

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
        return retrying(call)
    except requests.ConnectionError as unreachable:
        raise SourceUnavailableError(
            f"{what}: cannot connect ({type(unreachable).__name__}). Check the source's "
            "base_url / subdomain in settings and that the server is up."
        ) from None
    except tenacity.RetryError as gave_up:
        last = gave_up.last_attempt.exception()
        raise SourceUnavailableError(
            f"{what}: gave up after {gave_up.last_attempt.attempt_number} tries "
            f"({usage.waited_seconds:.0f} s waited in this run); last failure: "
            f"{_describe(last)}. Nothing of this page was stored; run the same command "
            "again later, or check the source's base_url and its status page."
        ) from last


def _never_connected(error: BaseException) -> bool:
    """Connection refused or name not resolved (not a reset of a connection that was made)."""
    if not isinstance(error, requests.ConnectionError) or not error.args:
        return False
    reason = getattr(error.args[0], "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, RetriableHTTPError):
        return str(error)
    if isinstance(error, requests.Timeout):
        return "the request timed out"
    if isinstance(error, requests.ConnectionError):
        return "the connection failed or was reset"
    return type(error).__name__ if error else "unknown"
