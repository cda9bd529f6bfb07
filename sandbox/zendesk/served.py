"""What an endpoint handler of the Zendesk face reads of the sandbox serving it.

Owns `Served`, the protocol `ZendeskSandbox` meets: the desk, the login e-mail, the base URL
links are made from, whether survey response pages carry `links`, the statuses the ticket
export shows in place of the real ones, views of the desk cached per desk version, and the
export rate limit.
Handlers take a `Served`, so they need not import the sandbox that routes to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sandbox.desk import Desk


class Served(Protocol):
    desk: Desk
    email: str
    survey_links: bool  # survey response pages carry `links` (the recorded page has none)
    shown_status: dict[int, str]  # ticket id -> the status its export shows instead

    @property
    def base_url(self) -> str: ...

    def cached(self, name: str, build: Callable[[], Any]) -> Any: ...

    def over_export_limit(self) -> bool: ...
