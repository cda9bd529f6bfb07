"""zenpy as the Zendesk connector's transport: its session, auth and endpoints, none of its objects.

zenpy turns every page into objects (and each object, once more, into a dict of its own
fields); the connector reads the records as the API sent them. The session's hook has
already parsed and checked each page's JSON once (`ParsedResponse.parsed`,
connectors/wire.py), so `use_raw_pages` makes the APIs the connector calls hand that JSON
back as a `RawPage`: zenpy still builds each request's URL from its arguments and sends it
through the connector's session, and builds nothing of the answer. That object building
was about half of a backfill's own CPU time (bench/PROFILE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zenpy import Zenpy

from connectors.wire import require_list


class RawPage:
    """One API page as the session's hook parsed it; `follow` reads another in its place."""

    def __init__(self, api: Any, body: Mapping[str, Any]) -> None:
        self._api = api
        self.body: Mapping[str, Any] = body

    def scalar(self, key: str) -> Any:
        """A top-level value of the page that is neither a list nor an object, else None
        (`after_cursor`, `end_time`, `end_of_stream`, `next_page`…)."""
        value = self.body.get(key)
        return None if isinstance(value, list | dict) else value

    def records(self, key: str) -> list[dict[str, Any]]:
        """The records under `key`, as the API sent them (connectors/wire.py has checked
        that every list item of a page is an object)."""
        found = self.body.get(key)
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def next_link(self) -> str | None:
        """The next-page link of a list page; None on its last page. A page with `meta`
        says whether more follow (cursor pagination); otherwise `next_page` (offset)."""
        meta, links = self.body.get("meta"), self.body.get("links")
        link = links.get("next") if isinstance(links, Mapping) else None
        if isinstance(meta, Mapping) and "has_more" in meta:
            return str(link) if meta.get("has_more") and link else None
        following = link or self.body.get("next_page")
        return str(following) if following else None

    def follow(self, url: str) -> None:
        """Read the page at `url` (a link the API gave) in place of this one."""
        # `_get` is what zenpy's own generators follow a next-page link with (zenpy is pinned).
        response = self._api._get(url, raw_response=True)
        self.body = _holding_records(response.request.path_url, response.json())


def use_raw_pages(client: Zenpy) -> None:
    """Make the APIs the connector calls answer `RawPage`s instead of zenpy objects."""
    for api in (client.tickets, client.satisfaction_ratings, client.users):
        # Every answer of an API passes `_process_response` (zenpy is pinned), which picks
        # a response handler to build objects, and first formats the whole page into a
        # debug message even when nothing logs it: neither is needed here.
        api._process_response = _raw_page_of(api)


def _raw_page_of(api: Any) -> Callable[..., RawPage]:
    def raw_page(response: Any, object_mapping: Any = None) -> RawPage:
        return RawPage(api, _holding_records(response.request.path_url, response.json()))

    return raw_page


# The list each page the connector reads holds its records in, by its path's last part.
_RECORDS_BY_PATH = {
    "cursor": "tickets",  # /api/v2/incremental/tickets/cursor.json
    "ticket_events": "ticket_events",
    "satisfaction_ratings": "satisfaction_ratings",
    "users": "users",
    "show_many": "users",  # /api/v2/users/show_many.json
}


def _holding_records(path: str, body: Any) -> Mapping[str, Any]:
    """The page, once it holds the list of records its path names (`require_list`)."""
    page = body if isinstance(body, Mapping) else {}
    path = path.split("?", 1)[0]
    key = _RECORDS_BY_PATH.get(path.rsplit("/", 1)[-1].removesuffix(".json"))
    if key is not None:
        require_list(page, key, f"GET {path}")
    return page
