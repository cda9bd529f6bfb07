"""An INSERT of many rows made from records, handed to the driver's executemany as tuples
(on PostgreSQL through psycopg, a binary COPY of them).

Owns `RowInsert`, which scoring's writes use (the credit ledger, warehouse/ledger.py, and
`agent_day_facts`, warehouse/facts.py): a score writes several rows per interaction, and
SQLAlchemy's per-row handling of an `insert()` given dicts cost more than computing them.
Values are converted by the columns' own bind processors, so what is stored is what
`insert()` stores: once for the values every row shares, a column at a time for a
record's own values where they are not None (a day once per distinct day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection, Date, Dialect, Table
from sqlalchemy.exc import DBAPIError

UNASSIGNED = ""  # the agent_id of a source's unassigned row (a key column cannot be NULL)
ROWS_PER_EXECUTE = 5_000  # rows handed to one executemany


class RowInsert:
    """The INSERT of rows of `table` compiled for a dialect: `shared` values in every row,
    the other columns from a record's attributes (`attributes`: column -> attribute); an
    `agent_id` of None is stored as UNASSIGNED."""

    def __init__(
        self,
        dialect: Dialect,
        table: Table,
        shared: Mapping[str, Any],
        attributes: Mapping[str, str],
    ) -> None:
        columns = (*shared, *attributes)
        compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        self._sql = str(compiled)
        self._named = not dialect.positional
        # The statement's parameters in its own order (the table's), or by name.
        self._names = columns if self._named else tuple(compiled.positiontup or ())
        self._reorder = itemgetter(*(columns.index(name) for name in self._names))
        # psycopg: the rows as one COPY stream. Its executemany (pipelined) did a statement's
        # worth of Python per row, most of a score's own CPU on PostgreSQL.
        self._table = table
        self._copy = (
            copy_statement(dialect, table, self._names) if dialect.driver == "psycopg" else None
        )
        process = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in columns
        }
        self._shared = tuple(
            value if process[name] is None else process[name](value)  # type: ignore[misc]
            for name, value in shared.items()
        )
        self._values = attrgetter(*attributes.values())
        own = tuple(attributes)
        self._agent = own.index("agent_id") if "agent_id" in own else None
        self._processors = [
            (position, function, isinstance(table.c[name].type, Date))
            for position, name in enumerate(own)
            if (function := process[name]) is not None
        ]

    def rows(self, records: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of these records, converted a column at a time, None left as it is; a
        date column (the day: a chunk's rows fall on a few dozen days) once per distinct
        day."""
        if not records:
            return []
        count = len(records)
        columns: list[Any] = [[value] * count for value in self._shared]
        columns.extend(zip(*map(self._values, records), strict=True))
        if self._agent is not None:
            position = len(self._shared) + self._agent
            columns[position] = [UNASSIGNED if v is None else v for v in columns[position]]
        for position, process, by_value in self._processors:
            values = columns[len(self._shared) + position]
            if by_value:
                converted = {value: process(value) for value in set(values)}
                columns[len(self._shared) + position] = map(converted.__getitem__, values)
            else:  # most moments of a credit are None (no transfer, no repeat contact, …)
                columns[len(self._shared) + position] = [
                    None if value is None else process(value) for value in values
                ]
        return list(zip(*self._reorder(columns), strict=True))

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self._copy is not None:
            copy_rows(conn, self._copy, rows, copy_types(conn, self._table, self._names))
        elif self._named:
            names = self._names
            conn.exec_driver_sql(self._sql, [dict(zip(names, row, strict=True)) for row in rows])
        else:
            conn.exec_driver_sql(self._sql, rows)

    def insert_all(self, conn: Connection, records: Any) -> None:
        """Insert a row per record, ROWS_PER_EXECUTE rows built at a time."""
        held: list[Any] = []
        for record in records:
            held.append(record)
            if len(held) == ROWS_PER_EXECUTE:
                self.execute(conn, self.rows(held))
                held = []
        if held:
            self.execute(conn, self.rows(held))


def copy_statement(dialect: Dialect, table: Table, columns: Sequence[str]) -> str:
    """psycopg's binary `COPY … FROM STDIN` of these columns of `table`, in this order."""
    quote = dialect.identifier_preparer
    return (
        f"COPY {quote.format_table(table)} ({', '.join(map(quote.quote, columns))}) "
        "FROM STDIN (FORMAT BINARY)"
    )


def copy_types(conn: Connection, table: Table, columns: Sequence[str]) -> list[int]:
    """The type (OID) of each of these columns as the database has it, for a binary COPY,
    which sends every value in its column's own format. Read from the catalog once per
    connection and table (again if a column is not known: a migration added it)."""
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


def copy_rows(
    conn: Connection, copy: str, rows: Sequence[tuple[Any, ...]], types: Sequence[int]
) -> None:
    """Send `rows` (converted values) as the data of psycopg's binary `COPY … FROM STDIN`,
    each value as its column's type (`copy_types`). Binary, because psycopg writes a row
    of text format a value at a time through each type's text form: 241,801 ledger rows
    took 1.08 to 1.12 s of the client's CPU in text, 0.18 to 0.24 s in binary, and the
    server's wall time fell from 2.7 to 3.0 s to 0.5 to 0.7 s (bench/PROFILE.md)."""
    driver: Any = conn.connection.driver_connection  # a psycopg.Connection
    refused = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(copy) as stream:
            stream.set_types(types)
            for row in rows:
                stream.write_row(row)
    except refused as error:
        # Wrapped as SQLAlchemy wraps a refused statement, so that a refusal (a full disk,
        # a lost server) is told apart the same way (warehouse/access.py).
        raise DBAPIError.instance(copy, None, error, refused, dialect=conn.dialect) from error
