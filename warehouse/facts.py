"""Reading the model back for scoring, and replacing the facts of recomputed days.

Scoring a set of days needs every interaction that counts on one of them: those created
on such a day (an owner known only at creation is handled then), with an owner change, a
status change or a rating there, or, resolved, with the source's own solved_at or
updated_at there (docs/metrics.md: handled, transfers, resolutions and CSAT are all counted on
the day of one of these moments). `interaction_ids_on` finds them (one indexed SELECT per
moment, joined by UNION), `histories` reads every record about them, and `contacts_of`
the customers' other interactions inside the repeat windows that matter. `dirty_marks`
reads the days to score with their tokens; `replace_day_facts` swaps a set of days' facts
in one transaction and clears only the marks that were read, so a day marked again
meanwhile is scored again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import CompoundSelect, Connection, Engine, bindparam, func, select, union

from interactions import (
    Agent,
    History,
    Interaction,
    OwnershipChange,
    Rating,
    SatisfactionChange,
    StatusChange,
)
from warehouse.day_marks import pop_dirty_days
from warehouse.json_params import among, json_param
from warehouse.ledger import replace_day_credits
from warehouse.row_insert import RowInsert
from warehouse.row_select import RowSelect
from warehouse.schema import (
    COUNTED_MOMENTS,
    FACT_COUNTS,
    agent_day_facts,
    agents,
    dirty_days,
    interactions,
    ownership_changes,
    ratings,
    satisfaction_changes,
    status_changes,
)
from warehouse.upserts import BATCH

# Moments of the interaction row itself that a count can fall on (docs/metrics.md "Handled":
# an owner known only at creation; "Resolution": solved_at, else updated_at, stands in
# for a resolving change the history lacks). The last two count only when resolved.
CREATED_MOMENT = interactions.c.created_at
RESOLUTION_MOMENTS = (interactions.c.solved_at, interactions.c.updated_at)


@dataclass(frozen=True)
class DirtyMark:
    """A day to rescore, and the token of the mark as it was read (None: marked before
    marks had tokens)."""

    day: date
    token: str | None


def dirty_marks(engine: Engine, source: str) -> list[DirtyMark]:
    """The source's dirty days with their tokens, by day."""
    with engine.connect() as conn:
        return [
            DirtyMark(row.day, row.token)
            for row in conn.execute(
                select(dirty_days.c.day, dirty_days.c.token)
                .where(dirty_days.c.source == source)
                .order_by(dirty_days.c.day)
            )
        ]


def day_ranges(days: Sequence[date], timezone: str) -> list[tuple[datetime, datetime]]:
    """Consecutive local days merged into UTC [start, end) ranges."""
    zone = ZoneInfo(timezone)
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return [
        (datetime.combine(a, time(), zone), datetime.combine(b, time(), zone)) for a, b in ranges
    ]


def interaction_ids_on(
    conn: Connection, source: str, days: Sequence[date], timezone: str
) -> set[str]:
    """Every interaction with a moment on one of these local days (a superset of those
    with a count there)."""
    ids: set[str] = set()
    for start, end in day_ranges(days, timezone):
        found = conn.execute(_IDS_BETWEEN, {"source": source, "start": start, "end": end})
        ids.update(found.scalars().all())  # one fetch of them all, not one per row
    return ids


def _ids_between() -> CompoundSelect[str]:
    """One SELECT per moment, each filtering on that moment alone so that it can use its
    index, joined by UNION so that the database drops the repeats; of the interactions of
    source `source` with a moment in [`start`, `end`)."""
    source = bindparam("source", type_=interactions.c.source.type)
    start = bindparam("start", type_=interactions.c.created_at.type)
    end = bindparam("end", type_=interactions.c.created_at.type)
    branches = []
    for column in (*COUNTED_MOMENTS, CREATED_MOMENT, *RESOLUTION_MOMENTS):
        table = column.table
        branch = select(table.c.interaction_id).where(
            table.c.source == source, column >= start, column < end
        )
        if any(column is moment for moment in RESOLUTION_MOMENTS):
            branch = branch.where(interactions.c.resolved.is_(True))
        branches.append(branch)
    return union(*branches)


# Built once: a score asks it once per marked day, and building it cost more than running it.
_IDS_BETWEEN = _ids_between()


_Record = TypeVar("_Record")

# Per model table, its columns in the order of the model's fields, so that a row builds a
# record by position (far cheaper than by name when a chunk holds many thousand histories).
_HISTORY_SELECTS: dict[str, RowSelect] = {
    table.name: RowSelect(table, [f.name for f in fields(model)])
    for table, model in (
        (interactions, Interaction),
        (ownership_changes, OwnershipChange),
        (status_changes, StatusChange),
        (ratings, Rating),
        (satisfaction_changes, SatisfactionChange),
    )
}


def _records(
    conn: Connection, table: Any, model: type[_Record], source: str, ids: Sequence[str]
) -> list[_Record]:
    """The rows of `table` about these interactions, as `model` records."""
    reader = _HISTORY_SELECTS[table.name]
    found: list[_Record] = []
    for offset in range(0, len(ids), BATCH):
        found.extend(reader.records(conn, source, ids[offset : offset + BATCH], model))
    return found


def histories(conn: Connection, source: str, interaction_ids: Iterable[str]) -> list[History]:
    """Whole histories of these interactions (those never exported as tickets are skipped)."""
    ids = sorted(interaction_ids)
    owners: dict[str, list[OwnershipChange]] = defaultdict(list)
    statuses: dict[str, list[StatusChange]] = defaultdict(list)
    answers: dict[str, list[Rating]] = defaultdict(list)
    scores: dict[str, list[SatisfactionChange]] = defaultdict(list)
    for owner in _records(conn, ownership_changes, OwnershipChange, source, ids):
        owners[owner.interaction_id].append(owner)
    for status in _records(conn, status_changes, StatusChange, source, ids):
        statuses[status.interaction_id].append(status)
    for rating in _records(conn, ratings, Rating, source, ids):
        answers[rating.interaction_id].append(rating)
    for score in _records(conn, satisfaction_changes, SatisfactionChange, source, ids):
        scores[score.interaction_id].append(score)
    return [
        History(
            interaction=interaction,
            ownership=tuple(owners[interaction.interaction_id]),
            statuses=tuple(statuses[interaction.interaction_id]),
            ratings=tuple(answers[interaction.interaction_id]),
            satisfaction=tuple(scores[interaction.interaction_id]),
        )
        for interaction in _records(conn, interactions, Interaction, source, ids)
    ]


def contacts_of(
    conn: Connection, source: str, windows: Mapping[str, tuple[datetime, datetime]]
) -> dict[tuple[str, str], list[tuple[str, datetime]]]:
    """(interaction id, created_at) of each non-deleted interaction of these customers
    created within the customer's window [start, end]; the rest of a customer's past is
    never read."""
    names = sorted(windows)
    found: dict[tuple[str, str], list[tuple[str, datetime]]] = defaultdict(list)
    for offset in range(0, len(names), BATCH):
        batch = names[offset : offset + BATCH]
        # One query per batch over the widest window; each customer's own window below.
        start = min(windows[name][0] for name in batch)
        end = max(windows[name][1] for name in batch)
        query = select(
            interactions.c.customer_id,
            interactions.c.interaction_id,
            interactions.c.created_at,
        ).where(
            interactions.c.source == source,
            among(conn, interactions.c.customer_id, "customers"),
            interactions.c.created_at >= start,
            interactions.c.created_at <= end,
            interactions.c.deleted.is_(False),
        )
        given = {"customers": json_param(batch)}
        for customer, interaction_id, created_at in conn.execute(query, given).all():
            low, high = windows[customer]
            if low <= created_at <= high:
                found[(source, customer)].append((interaction_id, created_at))
    return found


def replace_day_facts(
    engine: Engine,
    source: str,
    marks: Sequence[DirtyMark],
    facts: Iterable[Any],
    now: datetime,
    credits: Iterable[Any] | None = None,
) -> int:
    """Replace the facts of the marked days with `facts` (and, given `credits`, their
    credit-ledger rows with those: the facts are their sums), and clear those marks unless
    a day was marked again since they were read (its new mark is left for the next score)."""
    days = sorted({mark.day for mark in marks})
    kept = list(facts)
    with engine.begin() as conn:
        if credits is not None:
            replace_day_credits(conn, source, days, credits, now)
        for offset in range(0, len(days), BATCH):
            conn.execute(
                agent_day_facts.delete().where(
                    agent_day_facts.c.source == source,
                    agent_day_facts.c.day.in_(days[offset : offset + BATCH]),
                )
            )
        shared = {"source": source, "computed_at": now}
        attributes = {name: name for name in ("agent_id", "day", *FACT_COUNTS, "csat_score_sum")}
        RowInsert(conn.dialect, agent_day_facts, shared, attributes).insert_all(conn, kept)
        pop_dirty_days(conn, source, [(mark.day, mark.token) for mark in marks])
    return len(kept)


def period_totals(
    engine: Engine, since: date, until: date, source: str | None = None
) -> list[dict[str, Any]]:
    """Summed counts per (source, agent) over local days [since, until)."""
    sums = [func.sum(agent_day_facts.c[name]).label(name) for name in FACT_COUNTS]
    query = (
        select(
            agent_day_facts.c.source,
            agent_day_facts.c.agent_id,
            *sums,
            func.sum(agent_day_facts.c.csat_score_sum).label("csat_score_sum"),
        )
        .where(agent_day_facts.c.day >= since, agent_day_facts.c.day < until)
        .group_by(agent_day_facts.c.source, agent_day_facts.c.agent_id)
    )
    if source is not None:
        query = query.where(agent_day_facts.c.source == source)
    with engine.connect() as conn:
        return [
            {
                **row._mapping,
                "agent_id": row.agent_id or None,
                "csat_score_sum": float(row.csat_score_sum or 0.0),
            }
            for row in conn.execute(query)
        ]


def recent_activity(conn: Connection, source: str, since: datetime) -> tuple[int, int]:
    """(resolutions, satisfaction records) of a source since a moment."""
    resolutions = conn.execute(
        select(func.count())
        .select_from(status_changes)
        .where(
            status_changes.c.source == source,
            status_changes.c.resolved.is_(True),
            status_changes.c.at >= since,
        )
    ).scalar()
    answers = conn.execute(
        select(func.count())
        .select_from(ratings)
        .where(ratings.c.source == source, ratings.c.created_at >= since)
    ).scalar()
    return int(resolutions or 0), int(answers or 0)


@dataclass(frozen=True)
class HistoryEvidence:
    """How many stored interactions of a source are resolved, and how many have an owner
    (each counted up to a cap), and whether any status or ownership change is stored."""

    resolved: int
    owned: int
    status_changes: bool
    ownership_changes: bool


def history_evidence(conn: Connection, source: str, cap: int) -> HistoryEvidence:
    def capped(*where: Any) -> int:
        first = select(interactions.c.interaction_id).where(
            interactions.c.source == source, interactions.c.deleted.is_(False), *where
        )
        return int(
            conn.execute(select(func.count()).select_from(first.limit(cap).subquery())).scalar()
            or 0
        )

    def any_of(table: Any) -> bool:
        return (
            conn.execute(select(table.c.change_id).where(table.c.source == source).limit(1)).first()
            is not None
        )

    return HistoryEvidence(
        capped(interactions.c.resolved.is_(True)),
        capped(interactions.c.owner_id.is_not(None)),
        any_of(status_changes),
        any_of(ownership_changes),
    )


def known_agents(engine: Engine) -> dict[tuple[str, str], Agent]:
    with engine.connect() as conn:
        return {
            (row.source, row.agent_id): _stored_agent(row) for row in conn.execute(select(agents))
        }


def _stored_agent(row: Any) -> Agent:
    return Agent(
        source=row.source,
        agent_id=row.agent_id,
        name=row.name,
        email=row.email,
        role=row.role,
        active=row.active,
        updated_at=row.updated_at,
    )


def active_agents(conn: Connection, source: str, excluding: Iterable[str] = ()) -> dict[str, Agent]:
    """The agents of `source` stored as active, by id, but for the ids `excluding`."""
    left_out = set(excluding)
    rows = conn.execute(select(agents).where(agents.c.source == source, agents.c.active.is_(True)))
    return {row.agent_id: _stored_agent(row) for row in rows if row.agent_id not in left_out}


def owners_without_agent(conn: Connection, source: str) -> set[str]:
    """Ids that owned or rated-for an interaction but have no agents row yet: an owner
    before the first change read (a previous owner) too, who may have left before any."""
    known = select(agents.c.agent_id).where(agents.c.source == source)
    ids: set[str] = set()
    for column, table in (
        (ownership_changes.c.new_owner, ownership_changes),
        (ownership_changes.c.previous_owner, ownership_changes),
        (ratings.c.agent_id, ratings),
        (interactions.c.owner_id, interactions),
    ):
        ids.update(
            conn.execute(
                select(column)
                .where(table.c.source == source, column.is_not(None), column.not_in(known))
                .distinct()
            ).scalars()
        )
    return ids


def all_fact_days(conn: Connection, source: str, timezone: str) -> list[date]:
    """Every local day from the source's first recorded moment to its last."""
    bounds: list[date | datetime] = []
    for column in (*COUNTED_MOMENTS, CREATED_MOMENT, *RESOLUTION_MOMENTS):
        table = column.table
        low, high = conn.execute(
            select(func.min(column), func.max(column)).where(table.c.source == source)
        ).one()
        bounds.extend(b for b in (low, high) if b is not None)
    bounds.extend(
        conn.execute(
            select(agent_day_facts.c.day).where(agent_day_facts.c.source == source).distinct()
        ).scalars()
    )
    zone = ZoneInfo(timezone)
    days = {
        b if isinstance(b, date) and not isinstance(b, datetime) else b.astimezone(zone).date()
        for b in bounds
    }
    if not days:
        return []
    first, last = min(days), max(days)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
