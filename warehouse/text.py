"""What becomes of text on its way into the database: the same rule on SQLite and PostgreSQL.

PostgreSQL refuses a NUL character in a text value, and neither database driver can
encode a lone UTF-16 surrogate (JSON can carry one as `\\ud800`). A value from a source
is therefore stored with every NUL character removed and every lone surrogate replaced by
U+FFFD; nothing else changes (emoji, other control characters and any length are kept).
The rule is applied to every text value `warehouse.upserts.upsert` writes, keys included,
and to model records before they are merged with stored rows, so both see the same ids.
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


def storable_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose text values follow `storable_text` (other values as they are)."""
    return {key: storable_text(v) if isinstance(v, str) else v for key, v in row.items()}
