"""A SELECT of one source's rows about a list of interactions, read through the driver.

Owns `RowSelect`, which scoring's reads of whole histories use (warehouse/facts.py): a
score reads every row of several tables about each interaction it scores, and
SQLAlchemy's per-statement work (an IN list of literals coerced and compiled per batch)
and per-row work (a `Row` per row, each value through its column's processor) cost more
than the database's own. The ids are one JSON parameter (warehouse/json_params.py
`among`, as the write path binds its lists), so the statement is compiled once per
dialect and run with `exec_driver_sql` (engine events still see it); values are converted
by the columns' own result processors, a column at a time and only for columns that have
one, so a record holds what `select()` would have given it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, bindparam, select

from warehouse.json_params import among, json_param

_Record = TypeVar("_Record")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters ("source", "ids") in the statement's order
    positional: bool


class RowSelect:
    """The SELECT of `columns` of `table` (which has `source` and `interaction_id`
    columns) for one source and a list of interaction ids."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._compiled: dict[tuple[str, str, str], _Compiled] = {}

    def _compile(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        found = self._compiled.get(key)
        if found is not None:
            return found
        table = self._table
        query = select(*(table.c[name] for name in self._columns)).where(
            table.c.source == bindparam("source", type_=table.c.source.type),
            among(conn, table.c.interaction_id, "ids"),
        )
        compiled = query.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else ("source", "ids")
        found = self._compiled[key] = _Compiled(compiled.string, names, compiled.positional)
        return found

    def records(
        self,
        conn: Connection,
        source: str,
        ids: Sequence[str],
        model: Callable[..., _Record],
    ) -> list[_Record]:
        """`model(*values)` for each row about these interactions (values in the order of
        `columns`); one statement, so `ids` should be a batch of a few hundred."""
        if not ids:
            return []
        compiled = self._compile(conn)
        given = {"source": source, "ids": json_param(ids)}
        if compiled.positional:
            result = conn.exec_driver_sql(compiled.sql, tuple(given[n] for n in compiled.names))
        else:
            result = conn.exec_driver_sql(compiled.sql, given)
        # A processor may depend on the type the driver reports (PostgreSQL numerics).
        types = [entry[1] for entry in result.cursor.description]
        rows = result.cursor.fetchall()
        result.close()
        if not rows:
            return []
        dialect = conn.dialect
        columns: list[Any] = list(zip(*rows, strict=True))
        for index, name in enumerate(self._columns):
            kind = self._table.c[name].type.dialect_impl(dialect)
            process = kind.result_processor(dialect, types[index])
            if process is not None:
                columns[index] = map(process, columns[index])
        return list(map(model, *columns))
