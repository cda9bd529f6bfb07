"""An INSERT of many rows made from records, handed to the driver's executemany as tuples.

Owns `RowInsert`, which scoring's writes use (the credit ledger, warehouse/ledger.py, and
`agent_day_facts`, warehouse/facts.py): a score writes several rows per interaction, and
SQLAlchemy's per-row handling of an `insert()` given dicts cost more than computing them.
Values are converted by the columns' own bind processors, so what is stored is what
`insert()` stores: once for the values every row shares, and for a record's own values
only where they are not None.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table

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
            (position, function)
            for position, name in enumerate(own)
            if (function := process[name]) is not None
        ]

    def row(self, record: Any) -> tuple[Any, ...]:
        values = list(self._values(record))
        if self._agent is not None and values[self._agent] is None:
            values[self._agent] = UNASSIGNED
        for position, process in self._processors:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        return self._reorder((*self._shared, *values))  # type: ignore[no-any-return]

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self._named:
            names = self._names
            conn.exec_driver_sql(self._sql, [dict(zip(names, row, strict=True)) for row in rows])
        else:
            conn.exec_driver_sql(self._sql, rows)

    def insert_all(self, conn: Connection, records: Any) -> None:
        """Insert a row per record, ROWS_PER_EXECUTE rows built at a time."""
        rows: list[tuple[Any, ...]] = []
        for record in records:
            rows.append(self.row(record))
            if len(rows) == ROWS_PER_EXECUTE:
                self.execute(conn, rows)
                rows = []
        if rows:
            self.execute(conn, rows)
