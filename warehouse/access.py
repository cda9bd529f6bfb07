"""Whether the database refused a write because it is read-only: `is_read_only`, the one
test of it (SQLite SQLITE_READONLY; PostgreSQL read-only transaction or no privilege), so
a command can go on reading where it may, and every other failure stays a failure.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

SQLITE_READONLY = 8  # primary result code; extended codes keep it in the low byte
# PostgreSQL: read_only_sql_transaction, insufficient_privilege.
POSTGRES_READ_ONLY = frozenset({"25006", "42501"})


def is_read_only(error: BaseException) -> bool:
    """True when `error` is the database refusing a write because it is read-only (or the
    user may not write): SQLite SQLITE_READONLY, PostgreSQL 25006 or 42501."""
    if not isinstance(error, DBAPIError):
        return False
    cause = error.orig
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == SQLITE_READONLY
    return getattr(cause, "sqlstate", None) in POSTGRES_READ_ONLY
