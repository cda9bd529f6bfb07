"""Salesforce error answers a test asks for: `SalesforceSandbox.inject_error`.

Owns `InjectedErrors`, the queue of error bodies (e.g. 400 `QUERY_TIMEOUT`,
`INVALID_QUERY_LOCATOR`, 503 `SERVER_UNAVAILABLE`) that answer the next matching data
requests instead of the API. Faults of the wire itself (429, resets, hangs) are
sandbox/wire/faults.py's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sandbox.salesforce.queries import Answer, error


@dataclass
class _InjectedError:
    status: int
    code: str
    message: str
    times: int
    path_contains: str | None


class InjectedErrors:
    """Error answers waiting for their requests; safe to use from the server's threads."""

    def __init__(self) -> None:
        self._waiting: list[_InjectedError] = []
        self._lock = threading.Lock()

    def add(
        self, code: str, status: int, message: str, times: int, path_contains: str | None
    ) -> None:
        """Answer the next `times` requests whose path contains `path_contains` (any path
        when None) with this error."""
        with self._lock:
            self._waiting.append(_InjectedError(status, code, message, times, path_contains))

    def take(self, path: str) -> Answer | None:
        """The error a request for `path` is answered with, if one is waiting for it."""
        with self._lock:
            for injected in self._waiting:
                if injected.path_contains is None or injected.path_contains in path:
                    injected.times -= 1
                    if injected.times == 0:
                        self._waiting.remove(injected)
                    return error(injected.status, injected.code, injected.message)
        return None
