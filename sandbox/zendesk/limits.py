"""Zendesk's rate limits on the simulated API, counted per minute of the desk clock.

Owns `RateLimits`: the account's allowance and Help Center's own (for the survey endpoints),
shown in the rate-limit headers of every answer, and the optional export limit
(`export_limit_per_minute`), past which an incremental export request is a 429.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sandbox.desk.model import unix

RATE_LIMIT = 700
HELP_CENTER_RATE_LIMIT = 400


class RateLimits:
    def __init__(self, export_limit_per_minute: int | None = None) -> None:
        self.export_limit_per_minute = export_limit_per_minute
        self._lock = threading.Lock()
        self._minute_counts: dict[tuple[str, int], int] = {}

    def _count(self, allowance: str, now: datetime) -> int:
        """Count one request against `allowance` in the current minute; the count so far."""
        key = (allowance, unix(now) // 60)
        with self._lock:
            used = self._minute_counts.get(key, 0) + 1
            self._minute_counts[key] = used
        return used

    def headers(self, path: str, now: datetime) -> dict[str, str]:
        """The rate-limit headers of an answer to `path`, the request counted."""
        # Help Center requests (the survey endpoints) have an allowance of their own.
        guide = path.startswith("/api/v2/guide/")
        limit = HELP_CENTER_RATE_LIMIT if guide else RATE_LIMIT
        left = str(max(limit - self._count("guide" if guide else "all", now), 0))
        headers = {
            "X-Rate-Limit": str(limit),
            "X-Rate-Limit-Remaining": left,
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": left,
            "ratelimit-reset": str(60 - now.second),
        }
        if guide:
            headers["zendesk-service"] = "guide-rest"
        return headers

    def over_export_limit(self, now: datetime) -> bool:
        """Count an export request against `export_limit_per_minute`; True when over it."""
        if self.export_limit_per_minute is None:
            return False
        return self._count("export", now) > self.export_limit_per_minute
