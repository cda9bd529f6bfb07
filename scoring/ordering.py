"""Order of ids that sources hand out as text (docs/metrics.md "Words": Update).

Owns `id_key`: numeric ids order numerically ("9" before "10"), others as text after them.
"""

from __future__ import annotations


def id_key(value: str) -> tuple[int, int, str]:
    """Sort key that orders digit strings numerically and any other id as text."""
    if value.isascii() and value.isdigit():
        stripped = value.lstrip("0") or "0"
        return (0, len(stripped), stripped)
    return (1, 0, value)
