"""The connector protocol: what the pipeline drives, whatever the helpdesk.

A connector reads one source instance. It names its streams in the order they are read,
takes back what it kept in the saved cursors, yields the pages of one stream from a saved
cursor, looks up former agents by id, counts its API usage, checks its credentials on
request, and closes its connections. `Page` is
the unit it yields: records and the cursor stored together with them (DESIGN.md "Data
flow").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from connectors.http import ApiUsage
from interactions import Agent

Cursor = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One API page as model records, with the cursor to save together with it.

    `reached` on a stream's last page (`done`) of a read with no end is the moment up to
    which that stream is known complete; the source's high-water mark is the earliest of
    its streams' (deskmetrics/pull.py). `high_water_mark`, set on the last page of a
    completed interaction export, is that moment for the interaction stream alone.
    """

    stream: str
    records: tuple[Any, ...]
    cursor: Cursor
    done: bool
    high_water_mark: datetime | None = None
    reached: datetime | None = None  # how far through time the stream has read (progress)
    read: int = 0  # API records on the page (tickets, events, …), not the records made of them
    # API records left out on purpose (docs/metrics.md: an offer, an answer of no case)
    left_out: int = 0


class SourceConnector(Protocol):
    """One source instance's streams, read page by page from saved cursors."""

    @property
    def streams(self) -> tuple[str, ...]:
        """The stream names, in the order a pass reads them."""
        ...

    @property
    def usage(self) -> ApiUsage:
        """Requests made and rate-limit headers seen, for the run's log and `runs` row."""
        ...

    def pages(
        self, stream: str, cursor: Cursor | None, since: datetime, until: datetime | None
    ) -> Iterator[Page]:
        """The pages of `stream` from `cursor` (None: from `since`), up to `until`."""
        ...

    def recall(self, cursors: Mapping[str, Cursor | None]) -> None:
        """Before a run's first page: every stream's saved cursor, for what the connector
        keeps in them beside its place in the stream (what it learned of the source)."""
        ...

    def check(self) -> str:
        """One cheap authenticated look at the source (`deskmetrics check`): what it found."""
        ...

    def agents_by_id(self, agent_ids: Iterable[str]) -> list[Agent]:
        """People by id as the source answers them now: owners with no agents row, and
        stored agents the agent list no longer holds (downgraded, deleted). An id the source
        no longer answers is left out."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
