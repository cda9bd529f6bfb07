"""Who may make a data request of the simulated org, and what it costs: sessions and the daily
API allowance.

Owns `Access`: session ids (issued by the login endpoints in logins.py, each serving a set
number of requests, then 401 `INVALID_SESSION_ID`), the org's daily allowance (every admitted
data request uses one unit; once used up, 403 `REQUEST_LIMIT_EXCEEDED`), the
`Sforce-Limit-Info` value every answer carries and the `limits` resource. Knows no HTTP.
"""

from __future__ import annotations

import threading
from typing import Any

from sandbox.salesforce.logins import ORG_ID
from sandbox.salesforce.queries import Answer, error


class Access:
    """Sessions and the daily allowance of one org; safe to use from the server's threads."""

    def __init__(self, session_lifetime: int | None, daily_allowance: int, api_usage: int) -> None:
        self.session_lifetime = session_lifetime  # requests a session serves; None: forever
        self.daily_allowance = daily_allowance
        self.api_usage = api_usage
        self._sessions: dict[str, int | None] = {}  # session id -> requests it has left
        self._lock = threading.Lock()

    def new_session(self) -> str:
        """Issue a session id, as a login does."""
        with self._lock:
            token = f"{ORG_ID}!SANDBOX.{len(self._sessions) + 1:08d}"
            self._sessions[token] = self.session_lifetime
        return token

    def expire_sessions(self) -> None:
        """End every session now: the next request with one is a 401 INVALID_SESSION_ID."""
        with self._lock:
            self._sessions = {token: 0 for token in self._sessions}

    def admit(self, authorization: str) -> Answer | None:
        """Charge a data request with this `Authorization` header to its session and to the
        allowance; None when it may be served, else the error it is answered with."""
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            left = self._sessions.get(token, 0) if scheme in ("Bearer", "OAuth") else 0
            if left is not None and left <= 0:
                return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            if self.api_usage >= self.daily_allowance:
                return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            if left is not None:
                self._sessions[token] = left - 1
            self.api_usage += 1
        return None

    def limit_info(self) -> str:
        """The `Sforce-Limit-Info` header's value now."""
        with self._lock:
            return f"api-usage={self.api_usage}/{self.daily_allowance}"

    def limits(self) -> dict[str, Any]:
        """The `limits` resource: the daily allowance and what is left of it."""
        with self._lock:
            remaining = max(self.daily_allowance - self.api_usage, 0)
        return {"DailyApiRequests": {"Max": self.daily_allowance, "Remaining": remaining}}
