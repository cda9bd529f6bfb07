"""The source's own counts, for `deskmetrics reconcile`: how many interactions it says were
created between two moments.

Owns `zendesk_created_count`: one request to Zendesk's search count endpoint,
`GET /api/v2/search/count.json?query=type:ticket created>=… created<…`, through the
connector's session (its retries, its usage count). Zendesk's search does not see deleted
tickets and indexes new ones with a lag of minutes: `reconcile` compares accordingly
(deskmetrics/reconcile.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.http import call_with_retries
from connectors.zendesk_surveys import ZendeskConnector
from interactions import MalformedRecordError

SEARCH_COUNT_PATH = "/api/v2/search/count.json"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_created_count(connector: ZendeskConnector, start: datetime, end: datetime) -> int:
    """Tickets Zendesk's search finds created in [start, end) (deleted ones are not)."""
    query = f"type:ticket created>={_iso(start)} created<{_iso(end)}"
    url = f"{connector._scheme}://{connector._netloc}{SEARCH_COUNT_PATH}"

    def call() -> Any:
        response = connector._session.get(
            url, params={"query": query}, timeout=connector.policy.timeout_seconds
        )
        return response.json()

    source = connector.config.source
    body = call_with_retries(f"{source} search count", call, connector.policy, connector.usage)
    count = body.get("count") if isinstance(body, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise MalformedRecordError(
            f"{source}: GET {SEARCH_COUNT_PATH} ({query}) answered without a count "
            f'({str(body)[:200]!r}); Zendesk answers {{"count": N}}. Try again later, or '
            "report it with this message."
        )
    return count
