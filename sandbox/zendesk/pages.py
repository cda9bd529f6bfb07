"""Pagination of the simulated API: cursors, page slicing, absolute next-page URLs.

Owns the three pagination styles the connector meets: the cursor ticket export
(`after_cursor`, opaque base64 of "generated_timestamp.0||id|" as Zendesk's), the time-based
event export (`end_time`/`next_page`, never splitting records that share the last timestamp)
and cursor-based pagination (CBP: `page[size]`, `page[after]`, `meta`/`links`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

T = TypeVar("T")


class BadCursor(ValueError):
    """A cursor the server did not make."""


def export_cursor(generated_timestamp: int, ticket_id: int) -> str:
    raw = f"{generated_timestamp}.0||{ticket_id}|".encode()
    return base64.b64encode(raw).decode()


def read_export_cursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        stamp, _, rest = text.partition("||")
        return int(float(stamp)), int(rest.rstrip("|"))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc


def cbp_cursor(key: Sequence[int]) -> str:
    inner = base64.b64encode(":".join(str(k) for k in key).encode()).decode()
    return base64.b64encode(json.dumps({"o": "created_at,id", "v": inner}).encode()).decode()


def read_cbp_cursor(cursor: str) -> tuple[int, ...]:
    try:
        outer = json.loads(base64.b64decode(cursor.encode(), validate=True))
        inner = base64.b64decode(str(outer["v"]).encode(), validate=True).decode()
        return tuple(int(part) for part in inner.split(":"))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc


def url(base: str, path: str, params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def after(
    items: Sequence[T], keys: Sequence[Any], position: Any, size: int
) -> tuple[list[T], bool]:
    """Up to `size` items whose key is greater than `position`; and whether more remain."""
    first = bisect.bisect_right(keys, position)
    chunk = list(items[first : first + size])
    return chunk, first + size < len(items)


def time_page(
    items: Sequence[T], stamps: Sequence[int], start: int, minimum: int, stamp: Callable[[T], int]
) -> tuple[list[T], bool]:
    """Records with timestamp >= start: at least `minimum` of them (when there are), then every
    further record sharing the last one's timestamp. Returns the page and whether it is the end."""
    first = bisect.bisect_left(stamps, start)
    last = min(first + minimum, len(items))
    if last > first:
        last = bisect.bisect_right(stamps, stamp(items[last - 1]))
    return list(items[first:last]), last >= len(items)
