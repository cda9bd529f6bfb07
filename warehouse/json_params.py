"""Many values bound as one JSON parameter and read as a table, on SQLite and PostgreSQL.

`column IN (:a, :b, …)` binds one parameter per value: SQLAlchemy renders the list again at
each execution, and psycopg prepares a statement it sees five times, after which PostgreSQL
may keep a generic plan that matches each row against the parameters one by one. In a
backfill that plan is made while the tables are still nearly empty, and a page's reads then
compared every stored row with 500 ids (bench/PROFILE.md, Salesforce "Third pass"). One
JSON parameter, read as a table (SQLite's `json_each`, PostgreSQL's `jsonb_each_text` and
`jsonb_array_elements_text`), makes every list one statement, compiled once, which either
database joins by its indexes whatever the list's length.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement


def json_param(values: Iterable[str] | Mapping[str, str]) -> str:
    """The text of a JSON parameter: a list of texts, or an object of texts by text."""
    return json.dumps(dict(values) if isinstance(values, Mapping) else list(values))


def among(conn: Connection, column: Any, name: str) -> ColumnElement[bool]:
    """`column` IN the texts of the JSON list bound as `name` (`json_param`)."""
    payload = bindparam(name, type_=Text())
    if conn.dialect.name == "postgresql":
        texts = select(func.jsonb_array_elements_text(cast(payload, JSONB)))
    else:
        texts = select(func.json_each(payload).table_valued("value").c.value)
    result: ColumnElement[bool] = column.in_(texts)
    return result


def pairs(conn: Connection, name: str, key: str, value: str) -> Any:
    """The JSON object bound as `name` (`json_param`) as a table of (`key`, `value`) texts,
    a common table expression materialized once: as the inner side of a join SQLite would
    read it again for each row of the other side."""
    payload = bindparam(name, type_=Text())
    if conn.dialect.name == "postgresql":
        rows = func.jsonb_each_text(cast(payload, JSONB))
    else:
        rows = func.json_each(payload)
    table = rows.table_valued("key", "value").alias(f"{name}_rows")
    return (
        select(table.c.key.label(key), table.c.value.label(value))
        .cte(name)
        .prefix_with("MATERIALIZED")
    )
