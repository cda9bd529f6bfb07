"""An INSERT of many rows made from records, handed to the driver's executemany as tuples
(on PostgreSQL through psycopg, a COPY of them: warehouse/row_copy.py).

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

from warehouse.row_copy import copy_rows, copy_statement, copy_types

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
