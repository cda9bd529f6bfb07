"""What becomes of text on its way into the database: the same rule on SQLite and PostgreSQL.

PostgreSQL refuses a NUL character in a text value, and neither database driver can
encode a lone UTF-16 surrogate (JSON can carry one as `\\ud800`). A value from a source
is therefore stored with every NUL character removed and every lone surrogate replaced by
U+FFFD; nothing else changes (emoji, other control characters and any length are kept).
The rule is applied to every text value `warehouse.upserts.upsert` writes, keys included,
and to model records before they are merged with stored rows, so both see the same ids.
`storable_rows` checks a batch's text at once: nearly every page needs no change.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def storable_text(value: str) -> str:
    """`value` without NUL characters and with lone surrogates replaced by U+FFFD."""
    if NUL in value:
        value = value.replace(NUL, "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def storable_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of values whose text values follow `storable_text`: `rows` itself when they all
    do already (checked on the batch's text joined, in C), else rows with each text value
    made storable."""
    joined = "".join([value for row in rows for value in row if isinstance(value, str)])
    if NUL not in joined:
        try:
            joined.encode("utf-8")  # a lone surrogate anywhere fails; two never pair up
        except UnicodeEncodeError:
            pass
        else:
            return rows
    return [
        tuple(storable_text(value) if isinstance(value, str) else value for value in row)
        for row in rows
    ]
