"""A SELECT of one source's rows about a list of interactions, read through the driver.

Owns `RowSelect`, which scoring's reads of whole histories use (warehouse/facts.py): a
score reads every row of several tables about each interaction it scores, and
SQLAlchemy's per-statement work (an IN list of literals coerced and compiled per batch)
and per-row work (a `Row` per row, each value through its column's processor) cost more
than the database's own. The statement is compiled once per dialect and IN-list length
(padded to a power of two; on PostgreSQL one array parameter instead) and run with
`exec_driver_sql` (so engine events still see it); values are converted by the columns'
own result processors, a column at a time and only for columns that have one, so a
record holds what `select()` would have given it. `one_of` is the same choice of IN list
or array for a statement built with SQLAlchemy (the customers' contacts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Dialect, Table, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

_Record = TypeVar("_Record")
_SOURCE = -1  # the slot of the source in a statement's parameters; ids are 0, 1, …
_ALL_IDS = -2  # the slot of an array of every id (PostgreSQL)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple[int, ...]  # per parameter in the statement's order: _SOURCE or an id's index
    names: tuple[str, ...] | None  # the parameters' names (None: positional)


class RowSelect:
    """The SELECT of `columns` of `table` (which has `source` and `interaction_id`
    columns) for one source and a list of interaction ids."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._compiled: dict[tuple[str, str, str, int], _Compiled] = {}

    def _compile(self, dialect: Dialect, length: int) -> _Compiled:
        array = dialect.name == "postgresql"
        key = (dialect.name, dialect.driver, dialect.paramstyle, 0 if array else length)
        found = self._compiled.get(key)
        if found is not None:
            return found
        table = self._table
        # Each parameter's value at compile time is its slot, so the compiled parameters
        # say which value goes where, whatever the dialect names or orders them; their type
        # is the column's (PostgreSQL casts each parameter to it).
        ids = table.c.interaction_id
        if array:
            # One array parameter: psycopg parses a long statement's placeholders again at
            # every execution, and an IN list of hundreds makes it long.
            among = ids == any_(bindparam("ids", _ALL_IDS, type_=ARRAY(ids.type)))
        else:
            among = ids.in_(bindparam("ids", list(range(length)), type_=ids.type, expanding=True))
        query = select(*(table.c[name] for name in self._columns)).where(
            table.c.source == bindparam("source", _SOURCE, type_=table.c.source.type), among
        )
        compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        values = compiled.params
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(values)
        found = self._compiled[key] = _Compiled(
            sql=compiled.string,
            slots=tuple(values[name] for name in names),
            names=None if compiled.positional else names,
        )
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
        # An IN list padded to a power of two with the last id again (which finds no row
        # twice), so that a long-running process compiles a few lengths, not every one.
        length = 1 << (len(ids) - 1).bit_length()
        padded = [*ids, *[ids[-1]] * (length - len(ids))]
        compiled = self._compile(conn.dialect, length)
        values = tuple(
            source if slot == _SOURCE else list(ids) if slot == _ALL_IDS else padded[slot]
            for slot in compiled.slots
        )
        if compiled.names is None:
            result = conn.exec_driver_sql(compiled.sql, values)
        else:
            result = conn.exec_driver_sql(
                compiled.sql, dict(zip(compiled.names, values, strict=True))
            )
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


def one_of(column: ColumnElement[Any], values: Sequence[Any], dialect: Dialect) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`, one parameter, as in
    `RowSelect` (psycopg parses a long list of placeholders again at every execution)."""
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
