"""Guarding a stream pass against a server whose pagination never ends.

`LoopGuard` remembers the cursors and links a pass has followed: one sent again is a loop,
and so is a long run of pages without records (`sync.max_empty_pages`), and so are more
records than the server said the pass holds (fresh links to the same records again). Each
stops the stream with a `CursorStuckError`, its cursor kept, instead of looping for ever.
Fewer records than it said, once it says the pass is over, is a pass cut short (`ended`);
the same records page after page under new cursors is a loop too (`records_again`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from interactions import CursorStuckError, SourceError


class Guarded(Protocol):
    """What a guard needs of a connector's config (ZendeskConfig, SalesforceConfig)."""

    @property
    def source(self) -> str: ...

    @property
    def max_empty_pages(self) -> int: ...


class LoopGuard:
    """The cursors and links one stream pass has followed: one sent again is a loop, and so
    is a long run of pages without records (issue: no endless loop, whatever the wire says).
    """

    def __init__(
        self, config: Guarded, what: str, expected: int | None = None, read: int = 0
    ) -> None:
        """`expected`: the records the server said the pass holds (a query's `totalSize`, a
        Bulk job's record count), of which `read` were read before (by an earlier run)."""
        self._where = f"{config.source} {what}"
        self._limit = config.max_empty_pages
        self._seen: set[str] = set()
        self._empty = 0
        self._last_page: tuple[Any, ...] = ()
        self._repeats = 0
        self.expected = expected
        self.read = read

    def counted(self, records: int) -> None:
        """Count a page's records; more in all than `expected` means the same ones again."""
        self.read += records
        if self.expected is not None and self.read > self.expected:
            raise CursorStuckError(
                f"{self._where}: the server sent {self.read} records for a query it said holds "
                f"{self.expected}: the same records again and again; stopping this stream "
                "with its cursor kept instead of looping. Run again; if it repeats, report it."
            )

    def records_again(self, records: Sequence[Mapping[str, Any]], stamp: str) -> None:
        """A page's `records`, told apart by their `id` and `stamp` fields. The same records
        as the page before, under a new cursor, more than `sync.max_empty_pages` times in a
        row is a loop no repeated cursor gives away (a page may repeat a changed record,
        never a whole page as it was)."""
        page = tuple((record.get("id"), record.get(stamp)) for record in records)
        # Records without ids or stamps tell nothing apart: they are never a repeat.
        same = page == self._last_page and any(map(any, page))
        self._repeats = self._repeats + 1 if same else 0
        self._last_page = page
        if self._repeats > self._limit:
            raise CursorStuckError(
                f"{self._where}: {self._repeats} pages in a row brought the same records as "
                "the page before, each under a new cursor; stopping this stream with its "
                f"cursor kept (sync.max_empty_pages = {self._limit}). Run again later; if it "
                "repeats, report it to the vendor."
            )

    def cut_short(self) -> bool:
        """Whether a pass said to be over read fewer records than `expected`: the server
        ended it early (a page taken as the last would leave the rest unread)."""
        return self.expected is not None and self.read < self.expected

    def ended(self) -> None:
        """The pass is over: a `SourceError` when it was cut short (`cut_short`)."""
        if self.cut_short():
            raise SourceError(
                f"{self._where}: the server ended a query it said holds {self.expected} "
                f"records after {self.read}; stopping this stream with its cursor kept. Run "
                "again; if it repeats, report it to the vendor."
            )

    def followed(self, position: str, link: str | None = None, records: int | None = None) -> None:
        for mark in (position, link):
            if mark is None:
                continue
            if mark in self._seen:
                raise CursorStuckError(
                    f"{self._where}: the server sent a cursor or next-page link it had sent "
                    f"before ({str(mark)[:120]!r}); stopping this stream with its cursor kept "
                    "instead of looping. Run again; if it repeats, report it to the vendor."
                )
            self._seen.add(mark)
        if records is not None:
            self._empty = self._empty + 1 if records == 0 else 0
            if self._empty > self._limit:
                raise CursorStuckError(
                    f"{self._where}: {self._empty} pages in a row brought no records although "
                    "each said more follow; stopping this stream with its cursor kept "
                    f"(sync.max_empty_pages = {self._limit}). Run again later; if it "
                    "repeats, report it to the vendor."
                )
