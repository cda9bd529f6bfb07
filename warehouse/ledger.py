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
from typing import Any

from sqlalchemy import Connection, Engine, select

from warehouse.row_insert import UNASSIGNED, RowInsert
from warehouse.schema import FACT_COUNTS, credit_ledger, source_links
from warehouse.upserts import BATCH

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
    shared = {"source": source, "computed_at": now}
    attributes = {"agent_id": "agent_id", "credit_key": "key"}
    attributes.update({name: name for name in _CREDIT_COLUMNS})
    RowInsert(conn.dialect, credit_ledger, shared, attributes).insert_all(conn, credits)


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
