"""psycopg's COPY of rows of converted values: binary where every value fits its column.

Owns `copy_statement`, `copy_types` and `copy_rows`, which the ledger's and facts' inserts
(warehouse/row_insert.py) and the upserts' staging table (warehouse/row_upsert.py) use on
PostgreSQL.

A binary COPY sends each value in its column's own form. psycopg's text COPY formats every
value through its type's text form: 241,801 ledger rows took 1.08 to 1.12 s of the client's
CPU as text and 0.18 to 0.24 s binary, and the server's wall time fell from 2.7 to 3.0 s
to 0.5 to 0.7 s (bench/PROFILE.md, "Seventh pass").

The binary form is exact about types: psycopg wraps an integer too large for an `integer`
column around, silently, where the server refuses its text. So a batch goes binary only
when each column holds the Python types of its column's type and its integers are in
range; any other batch goes as text, and the server judges it as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.exc import DBAPIError

_NONE = type(None)
# PostgreSQL type OIDs whose binary form psycopg writes from these Python types.
_BINARY_TYPES: dict[int, frozenset[type]] = {
    16: frozenset({bool, _NONE}),  # boolean
    20: frozenset({int, bool, _NONE}),  # bigint
    21: frozenset({int, bool, _NONE}),  # smallint
    23: frozenset({int, bool, _NONE}),  # integer
    25: frozenset({str, _NONE}),  # text
    700: frozenset({float, int, _NONE}),  # real
    701: frozenset({float, int, _NONE}),  # double precision
    1043: frozenset({str, _NONE}),  # character varying
    1082: frozenset({date, _NONE}),  # date
    1114: frozenset({datetime, _NONE}),  # timestamp (naive: the bind processors' UTC)
}
_INTEGER_RANGES = {20: 1 << 63, 21: 1 << 15, 23: 1 << 31}  # OID -> 2 ** (bits - 1)


def copy_statement(dialect: Dialect, table: Table, columns: Sequence[str]) -> str:
    """psycopg's `COPY … FROM STDIN` of these columns of `table`, in this order."""
    quote = dialect.identifier_preparer
    return f"COPY {quote.format_table(table)} ({', '.join(map(quote.quote, columns))}) FROM STDIN"


def copy_types(conn: Connection, table: Table, columns: Sequence[str]) -> list[int]:
    """The type (OID) of each of these columns as the database has it. Read from the catalog
    once per connection and table (again if a column is not known: a migration added it)."""
    info = conn.connection.info
    name = conn.dialect.identifier_preparer.format_table(table)
    key = f"deskmetrics_copy_types:{name}"
    known: dict[str, int] | None = info.get(key)
    if known is None or not known.keys() >= set(columns):
        found = conn.exec_driver_sql(_COLUMN_TYPES, {"table": name})
        known = info[key] = {str(column): int(oid) for column, oid in found}
    return [known[column] for column in columns]


_COLUMN_TYPES = (
    "SELECT attname, atttypid FROM pg_attribute "
    "WHERE attrelid = CAST(%(table)s AS regclass) AND attnum > 0 AND NOT attisdropped"
)


def fits_binary(rows: Sequence[tuple[Any, ...]], types: Sequence[int]) -> bool:
    """Whether every value of `rows` can go in its column's binary form (`types`, OIDs):
    its Python type is one psycopg writes for that column type, and an integer is within
    the column's range. Checked a column at a time, in C but for the integers' bounds."""
    for oid, values in zip(types, zip(*rows, strict=True), strict=True):
        allowed = _BINARY_TYPES.get(oid)
        if allowed is None or not allowed.issuperset(map(type, values)):
            return False
        bound = _INTEGER_RANGES.get(oid)
        if bound is not None:
            try:
                low, high = min(values), max(values)
            except TypeError:  # NULLs among them: the numbers alone
                numbers = [value for value in values if value is not None] or [0]
                low, high = min(numbers), max(numbers)
            if low < -bound or high >= bound:
                return False
    return True


def copy_rows(
    conn: Connection, copy: str, rows: Sequence[tuple[Any, ...]], types: Sequence[int]
) -> None:
    """Send `rows` (values as the columns' bind processors give them) as the data of
    psycopg's `COPY … FROM STDIN` (`copy_statement`), binary when they fit (`fits_binary`),
    else as text."""
    binary = fits_binary(rows, types)
    statement = f"{copy} (FORMAT BINARY)" if binary else copy
    driver: Any = conn.connection.driver_connection  # a psycopg.Connection
    refused = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as stream:
            if binary:
                stream.set_types(types)
            for row in rows:
                stream.write_row(row)
    except refused as error:
        # Wrapped as SQLAlchemy wraps a refused statement, so that a refusal (a full disk,
        # a lost server) is told apart the same way (warehouse/access.py).
        raise DBAPIError.instance(statement, None, error, refused, dialect=conn.dialect) from error
