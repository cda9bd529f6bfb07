"""The credit ledger in the warehouse: written with the facts, read back by `explain`.

Owns the rows of `credit_ledger` (one per credit of scoring/ledger.py, replaced a set of
days at a time inside the transaction that replaces those days' `agent_day_facts`, so the
two always agree), the `source_links` rows that say how a link into a source is made, and
the reads `explain` needs: the credits of some agents over a period, each with its link.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, select

from warehouse.schema import FACT_COUNTS, credit_ledger, source_links
from warehouse.upserts import BATCH

UNASSIGNED = ""  # the agent_id of a source's unassigned row (a key column cannot be NULL)

# The columns of a ledger row taken from a credit's attributes of the same name.
_CREDIT_COLUMNS = (
    "interaction_id",
    "day",
    "kind",
    "at",
    "verdict",
    "reason",
    *FACT_COUNTS,
    "csat_score_sum",
    "transferred_at",
    "transferred_to",
    "reopened_at",
    "repeat_interaction_id",
    "repeat_created_at",
    "pending_until",
    "score",
    "answered_at",
)


def replace_day_credits(
    conn: Connection, source: str, days: Sequence[date], credits: Iterable[Any], now: datetime
) -> None:
    """In `conn`'s transaction: the ledger rows of these days of `source` become `credits`."""
    for offset in range(0, len(days), BATCH):
        conn.execute(
            credit_ledger.delete().where(
                credit_ledger.c.source == source,
                credit_ledger.c.day.in_(days[offset : offset + BATCH]),
            )
        )
    insert = _LedgerInsert(conn.dialect, source, now)
    rows: list[tuple[Any, ...]] = []
    for credit in credits:
        rows.append(insert.row(credit))
        if len(rows) == _ROWS_PER_EXECUTE:
            insert.execute(conn, rows)
            rows = []
    if rows:
        insert.execute(conn, rows)


# A score writes a row per credit, several per interaction: SQLAlchemy's per-row handling
# of an `insert()` given dicts cost more than computing the credits, so the rows go to the
# driver's executemany as plain tuples, their values converted by the columns' own bind
# processors (so what is stored is what `insert()` stores): once for the values every row
# shares, and for a credit's own values only where they are not None.
_ROWS_PER_EXECUTE = 5_000
_COLUMNS = ("source", "computed_at", "agent_id", "credit_key", *_CREDIT_COLUMNS)


class _LedgerInsert:
    """The INSERT of one source's `credit_ledger` rows, compiled for a dialect; its rows."""

    def __init__(self, dialect: Dialect, source: str, now: datetime) -> None:
        compiled = credit_ledger.insert().compile(dialect=dialect, column_keys=list(_COLUMNS))
        self._sql = str(compiled)
        self._named = not dialect.positional
        # The statement's parameters in its own order (the table's), or by name.
        self._names = _COLUMNS if self._named else tuple(compiled.positiontup or ())
        self._reorder = itemgetter(*(_COLUMNS.index(name) for name in self._names))
        process = {
            name: credit_ledger.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _COLUMNS
        }
        self._shared = tuple(
            value if process[name] is None else process[name](value)  # type: ignore[misc]
            for name, value in (("source", source), ("computed_at", now))
        )
        self._credit_values = attrgetter(*_CREDIT_COLUMNS)
        self._processors = [
            (position, function)
            for position, name in enumerate(_CREDIT_COLUMNS)
            if (function := process[name]) is not None
        ]

    def row(self, credit: Any) -> tuple[Any, ...]:
        values = list(self._credit_values(credit))
        for position, process in self._processors:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        agent = credit.agent_id if credit.agent_id is not None else UNASSIGNED
        return self._reorder((*self._shared, agent, credit.key, *values))  # type: ignore[no-any-return]

    def execute(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self._named:
            names = self._names
            conn.exec_driver_sql(self._sql, [dict(zip(names, row, strict=True)) for row in rows])
        else:
            conn.exec_driver_sql(self._sql, rows)


def write_source_link(
    conn: Connection, source: str, prefix: str, suffix: str, now: datetime
) -> None:
    """Remember how a link to an interaction of `source` is made: prefix + id + suffix."""
    conn.execute(source_links.delete().where(source_links.c.source == source))
    conn.execute(
        source_links.insert(),
        {"source": source, "link_prefix": prefix, "link_suffix": suffix, "computed_at": now},
    )


@dataclass(frozen=True)
class LedgerRow:
    """A stored credit with its link into the source (None: no link known for the source)."""

    source: str
    agent_id: str | None
    values: dict[str, Any]
    link: str | None


def credits_between(
    engine: Engine,
    agents: Sequence[tuple[str, str | None]],
    since: date,
    until: date,
) -> list[LedgerRow]:
    """The stored credits of these (source, agent) pairs (None: the source's unassigned row)
    on local days [since, until), in order of source, day, kind, interaction."""
    found: list[LedgerRow] = []
    with engine.connect() as conn:
        links = {
            row.source: (row.link_prefix, row.link_suffix)
            for row in conn.execute(select(source_links))
        }
        for source, agent in agents:
            query = (
                select(credit_ledger)
                .where(
                    credit_ledger.c.source == source,
                    credit_ledger.c.agent_id == (agent if agent is not None else UNASSIGNED),
                    credit_ledger.c.day >= since,
                    credit_ledger.c.day < until,
                )
                .order_by(credit_ledger.c.day, credit_ledger.c.at, credit_ledger.c.kind)
            )
            for row in conn.execute(query):
                values = dict(row._mapping)
                link = links.get(source)
                found.append(
                    LedgerRow(
                        source,
                        agent,
                        values,
                        None if link is None else f"{link[0]}{row.interaction_id}{link[1]}",
                    )
                )
    return found
