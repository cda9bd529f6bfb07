"""zenpy as the Zendesk connector's transport: its session, auth and endpoints, none of its objects.

zenpy turns every page into objects (and each object, once more, into a dict of its own
fields); the connector reads the records as the API sent them. The session's hook has
already parsed and checked each page's JSON once (`ParsedResponse.parsed`,
connectors/wire.py), so `use_raw_pages` gives the APIs the connector calls a response
handler that hands that JSON back as a `RawPage`: zenpy still builds each request's URL
from its arguments and sends it through the connector's session, and deserialises nothing.
That object building was about half of a backfill's own CPU time (bench/PROFILE.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zenpy import Zenpy


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
        self.body = self._api._get(url, raw_response=True).json()


class _RawPageHandler:
    """A zenpy response handler (zenpy.lib.response) that builds nothing."""

    def __init__(self, api: Any, object_mapping: Any = None) -> None:
        self.api = api

    @staticmethod
    def applies_to(api: Any, response: Any) -> bool:
        return True

    def build(self, response: Any) -> RawPage:
        body = response.json()
        return RawPage(self.api, body if isinstance(body, Mapping) else {})


def use_raw_pages(client: Zenpy) -> None:
    """Make the APIs the connector calls answer `RawPage`s instead of zenpy objects."""
    # zenpy picks the first of an API's `_response_handlers` that applies to a response.
    for api in (client.tickets, client.satisfaction_ratings, client.users):
        api._response_handlers = (_RawPageHandler,)
