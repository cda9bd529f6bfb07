"""When Python's cyclic garbage collector runs during bulk work (issue 20).

A page of a backfill (its JSON, its records) and a chunk of a score (records, credits,
rows) make hundreds of thousands of objects that hold no reference cycles: reference
counting frees them as soon as the work is done. Left to itself, the collector walks
every one of them that is still alive when it runs, and again as they age: a tenth of a
backfill's own CPU and a sixth of a score's (bench/PROFILE.md). So it is paused over such
work, and the little cyclic garbage the work leaves (the HTTP and SQL layers' own) is
collected after it.

The collector's switch is the process's: a thread that pauses it pauses it for all, and
only the one that found it running turns it back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

_Page = TypeVar("_Page")


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused, then resumed if it ran before; the cycles left
    meanwhile wait for its next run."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def pages_with_collector_paused(pages: Iterator[_Page]) -> Iterator[_Page]:
    """`pages`, each read and handled with the collector paused: from the reading of a page
    until the caller asks for the next one (its loop body, the page's store). Between two
    pages the youngest generation is collected, what the page left behind, so that a long
    backfill's cycles do not pile up. The caller drops its page at the end of its loop
    body (`del page`), so that this collection finds the page's objects freed already and
    has little to walk."""
    running = gc.isenabled()
    gc.disable()
    try:
        for page in pages:
            yield page
            del page
            if running:
                gc.collect(0)
    finally:
        if running:
            gc.enable()
