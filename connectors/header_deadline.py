"""A deadline on a response's headers: a server that drips them is cut off when it passes.

urllib3's timeouts bound each socket read, not the whole: headers sent a byte at a time,
each byte within the read timeout, would hold a request (and the run) for as long as the
server likes, and `wire.read_body`'s deadline only starts once they are in. A pool of
`WATCHED_POOLS` makes connections whose `getresponse` is watched: when the deadline set by
`headers_within` passes before the headers are in, a timer shuts the socket down and the
request fails with a `RetriableHTTPError` naming the bound.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

from connectors.wire import RetriableHTTPError


@dataclass
class _Watch:
    """The request being sent: its deadline (a `time.monotonic()` moment), and whether the
    timer cut its connection."""

    deadline: float
    seconds: float
    bound: str
    where: str
    fired: bool = False

    def error(self) -> RetriableHTTPError:
        return RetriableHTTPError(
            f"{self.where} sent its response headers too slowly: not all in within "
            f"{self.seconds:.3g} s ({self.bound})"
        )


# The read timeout is never set past the same deadline: a server that sends nothing is
# cut by it first, with its own message ("sent no answer"); the timer cuts only a drip.
_GRACE_SECONDS = 0.5

# Set by the adapter around a send; read by the connection in the same thread.
_watch: ContextVar[_Watch | None] = ContextVar("header_watch", default=None)


@contextlib.contextmanager
def headers_within(seconds: float, bound: str, where: str) -> Iterator[None]:
    """Within this block, a response's headers must all be in `seconds` from now (`bound`
    names the setting, `where` the request, for the message)."""
    deadline = time.monotonic() + seconds + _GRACE_SECONDS
    token = _watch.set(_Watch(deadline, seconds, bound, where))
    try:
        yield
    finally:
        _watch.reset(token)


def _watched(conn: HTTPConnection, get_response: Callable[[], HTTPResponse]) -> HTTPResponse:
    """`get_response()` of `conn` under the deadline of `headers_within`, when one is set."""
    watch = _watch.get()
    if watch is None:
        return get_response()
    timer = threading.Timer(max(watch.deadline - time.monotonic(), 0.0), _cut, (conn, watch))
    timer.daemon = True
    timer.start()
    try:
        response = get_response()
    except (OSError, HTTPException):
        if watch.fired:
            raise watch.error() from None
        raise
    finally:
        timer.cancel()
    if watch.fired:  # a read cut short can end the headers early: never take them
        response.close()
        raise watch.error()
    return response


def _cut(conn: HTTPConnection, watch: _Watch) -> None:
    watch.fired = True
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        return _watched(self, super().getresponse)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        return _watched(self, super().getresponse)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# For `PoolManager.pool_classes_by_scheme`.
WATCHED_POOLS: dict[str, Any] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
