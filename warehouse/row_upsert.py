"""An upsert of many rows by primary key, handed to the driver as plain values (on
PostgreSQL, a COPY into a staging table and one INSERT … SELECT from it).

Owns `write_rows`, which every warehouse write by key goes through (warehouse/upserts.py
`upsert` and `store_records`): insert, or update by primary key, guarded so that an older
copy never overwrites a newer one. The statement is compiled once per table, columns and
driver, and values are converted by the columns' own bind processors a column at a time,
so what is stored is what SQLAlchemy's `insert()` stores.

On PostgreSQL a page's rows go in as one COPY stream (warehouse/row_copy.py) into a
temporary table of the session, and one statement moves them into the table under the
same ON CONFLICT clause: psycopg's executemany did a statement's worth of Python per row,
most of the write's own CPU (bench/PROFILE.md). Rows that repeat a key are written one
after the other instead, as executemany writes them (one INSERT … SELECT may not update a
row twice), so a later copy is judged against the one before it; so are a few rows, for
which the COPY's two extra statements cost more than they save, and every row of a role
that may not create temporary tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, case, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from warehouse.row_copy import copy_rows, copy_statement, copy_types

COPY_MIN_ROWS = 64  # fewer rows than this are written by executemany


def dialect_insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@dataclass(frozen=True)
class _Staged:
    """The COPY path of an upsert on psycopg: the staging table, the COPY into it, and the
    statement that moves its rows into the table (emptying it)."""

    create: str
    copy: str
    columns: tuple[str, ...]  # the COPY's, in its order
    move: str


@dataclass(frozen=True)
class _CompiledUpsert:
    """An upsert compiled once for a table, its columns written and the database's driver:
    the driver's SQL, where each row value goes, and the bind conversions it needs."""

    sql: str
    order: tuple[int, ...]  # the statement's parameters, as indexes into a row's values
    names: tuple[str, ...] | None  # their names, for a driver of named parameters
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]  # (parameter, conversion)
    keys: Callable[[tuple[Any, ...]], Any]  # a row's primary key, from its values
    staged: _Staged | None  # psycopg, writing every column: the COPY path


_COMPILED: dict[tuple[Any, ...], _CompiledUpsert] = {}


def _conflict_updates(
    table: Any, excluded: Any, keys: list[str], newer: str | None, keep_earliest: str | None
) -> dict[str, Any]:
    """The SET clause of ON CONFLICT: each column not in the key, from the incoming row
    when it is not older (`newer`), the smaller of the two for `keep_earliest`."""
    guard = (
        or_(table.c[newer].is_(None), excluded[newer] >= table.c[newer])
        if newer is not None
        else None
    )
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name in keys:
            continue
        incoming, current = excluded[column.name], table.c[column.name]
        if column.name == keep_earliest:
            values[column.name] = case((incoming < current, incoming), else_=current)
        elif guard is not None:
            values[column.name] = case((guard, incoming), else_=current)
        else:
            values[column.name] = incoming
    return values


def _staged(
    conn: Connection,
    table: Any,
    parameters: tuple[str, ...],
    keys: list[str],
    newer: str | None,
    keep_earliest: str | None,
) -> _Staged:
    dialect = conn.dialect
    quote = dialect.identifier_preparer
    # A temporary table lives as long as the session: made once, and empty between writes
    # (the move takes its rows out; a rolled-back write leaves none either).
    stage = Table(
        f"deskmetrics_stage_{table.name}",
        MetaData(),
        *(Column(column.name, column.type) for column in table.columns),
    )
    create = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote.format_table(stage)} "
        f"(LIKE {quote.format_table(table)})"
    )
    taken = stage.delete().returning(*(stage.c[name] for name in parameters)).cte("taken")
    move = postgresql.insert(table).from_select(
        list(parameters), select(*(taken.c[name] for name in parameters))
    )
    move = move.add_cte(taken).on_conflict_do_update(
        index_elements=keys,
        set_=_conflict_updates(table, move.excluded, keys, newer, keep_earliest),
    )
    copy = copy_statement(dialect, stage, parameters)
    return _Staged(create, copy, parameters, str(move.compile(dialect=dialect)))


def _compiled_upsert(
    conn: Connection,
    table: Any,
    names: tuple[str, ...],
    newer: str | None,
    keep_earliest: str | None,
) -> _CompiledUpsert:
    dialect = conn.dialect
    key = (dialect.name, dialect.driver, dialect.paramstyle, table, names, newer, keep_earliest)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    statement = dialect_insert(conn, table)
    keys = [c.name for c in table.primary_key.columns]
    values = _conflict_updates(table, statement.excluded, keys, newer, keep_earliest)
    statement = statement.on_conflict_do_update(index_elements=keys, set_=values)
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    parameters = tuple(compiled.positiontup or ()) if compiled.positional else names
    if sorted(parameters) != sorted(names):
        raise ValueError(f"upsert of {table.name}: parameters {parameters} for columns {names}")
    # The same conversions SQLAlchemy applies to each bound value (warehouse/schema.py
    # `UTCDateTime`; booleans and dates on SQLite), looked up once, not per row.
    conversions = tuple(
        (index, convert)
        for index, name in enumerate(parameters)
        if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    staged = (
        _staged(conn, table, parameters, keys, newer, keep_earliest)
        if dialect.driver == "psycopg" and set(names) == set(table.columns.keys())
        else None
    )
    found = _COMPILED[key] = _CompiledUpsert(
        sql=compiled.string,
        order=tuple(names.index(name) for name in parameters),
        names=None if compiled.positional else parameters,
        conversions=conversions,
        keys=itemgetter(*(parameters.index(name) for name in keys)),
        staged=staged,
    )
    return found


def write_rows(
    conn: Connection,
    table: Any,
    names: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    newer: str | None = None,
    keep_earliest: str | None = None,
) -> None:
    """Insert rows given as values in the order of `names`, already storable
    (warehouse/text.py), or update them by primary key: `newer` names the column that
    orders copies (empty values first), so that an older copy never overwrites a newer one;
    `keep_earliest` names a column that keeps the smallest value ever written."""
    if not rows:
        return
    compiled = _compiled_upsert(conn, table, names, newer, keep_earliest)
    columns = list(zip(*rows, strict=True))
    columns = [columns[index] for index in compiled.order]
    for index, convert in compiled.conversions:
        columns[index] = tuple(map(convert, columns[index]))
    values = list(zip(*columns, strict=True))
    staged = compiled.staged
    if (
        staged is not None
        and len(values) >= COPY_MIN_ROWS
        and len(set(map(compiled.keys, values))) == len(values)
        and _may_stage(conn)
    ):
        conn.exec_driver_sql(staged.create)
        # The staging table is LIKE the table: the same column types.
        copy_rows(conn, staged.copy, values, copy_types(conn, table, staged.columns))
        conn.exec_driver_sql(staged.move)
    elif compiled.names is None:
        conn.exec_driver_sql(compiled.sql, values)
    else:
        conn.exec_driver_sql(
            compiled.sql, [dict(zip(compiled.names, row, strict=True)) for row in values]
        )


def _may_stage(conn: Connection) -> bool:
    """Whether the session may create its staging tables: a role whose `TEMPORARY`
    privilege was revoked writes row by row instead. Asked once per connection."""
    info = conn.connection.info
    found = info.get(_MAY_STAGE)
    if found is None:
        asked = "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
        found = info[_MAY_STAGE] = bool(conn.exec_driver_sql(asked).scalar())
    return bool(found)


_MAY_STAGE = "deskmetrics_may_stage"
