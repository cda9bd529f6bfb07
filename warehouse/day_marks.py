"""Dirty days: the local days whose facts a write may change, to be scored again.

A page marks every day its interactions count on, before and after the write, and the
resolution days of their customers' other interactions whose repeat window the page may
reach (DESIGN.md "Data flow", step 3). `score` clears a day's mark by its token, so a day
marked again while it was being scored stays dirty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Text, and_, null, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from interactions import Interaction, Rating, RatingState, Removed
from warehouse.json_params import among, json_param, pairs
from warehouse.row_upsert import dialect_insert
from warehouse.schema import (
    COUNTED_MOMENTS,
    dirty_days,
    interactions,
    ratings,
    status_changes,
)
from warehouse.text import storable_text
from warehouse.upserts import BATCH


@dataclass(frozen=True)
class DirtyRule:
    """What marking days needs to know: the day boundary and the FCR repeat window."""

    timezone: str
    repeat_window: timedelta


def local_day(at: datetime, rule: DirtyRule) -> date:
    return at.astimezone(ZoneInfo(rule.timezone)).date()


# A moment is read back as its UTC hour, "YYYY-MM-DD HH" (`hour_of`): a page's thousands of
# moments fall into a few hundred hours, each turned into local days once. An hour's local
# days are all those its instants can show (`_hour_days`): more than its first and last
# instant's where the zone's offset changes within it (St. John's fell back at 00:01 local
# until 2011, so a minute of the next day lay between two instants of the same day). A
# day marked needlessly is only scored again; one left unmarked would keep wrong facts.


class _HourOf(FunctionElement[str]):
    """A stored moment's UTC hour as text, "YYYY-MM-DD HH", in the database's own words."""

    type = Text()
    inherit_cache = True


@compiles(_HourOf, "sqlite")
def _hour_of_sqlite(element: _HourOf, compiler: SQLCompiler, **kw: Any) -> str:
    # The column holds "YYYY-MM-DD HH:MM:SS.ffffff" (warehouse/schema.py `UTCDateTime`).
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


@compiles(_HourOf, "postgresql")
def _hour_of_postgresql(element: _HourOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24')"


def hour_of(column: Any) -> _HourOf:
    return _HourOf(column)


def hour_label(at: datetime) -> str:
    """The UTC hour of an aware moment, as `hour_of` reads it from the database."""
    return at.astimezone(UTC).isoformat(" ")[:13]


class _NoIndex(FunctionElement[str]):
    """A text column in a join condition whose index SQLite must not use (unary plus): it
    leaves SQLite's planner one order for the join, the one that reads by customer."""

    type = Text()
    inherit_cache = True


@compiles(_NoIndex)
def _no_index(element: _NoIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_NoIndex, "sqlite")
def _no_index_sqlite(element: _NoIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@lru_cache(maxsize=1 << 16)
def _hour_days(hour: str, timezone: str) -> tuple[date, ...]:
    """Every local day of an instant of this UTC hour: from its start at the smaller of its
    first and last instant's offsets to its end at the larger (an offset changes at most
    once within an hour)."""
    zone = ZoneInfo(timezone)
    start = datetime.fromisoformat(f"{hour}:00+00:00")
    end = start + _LAST_INSTANT
    offsets = (start.astimezone(zone).utcoffset(), end.astimezone(zone).utcoffset())
    low = (start + min(o for o in offsets if o is not None)).date()
    high = (end + max(o for o in offsets if o is not None)).date()
    return tuple(low + timedelta(days=n) for n in range((high - low).days + 1))


_LAST_INSTANT = timedelta(hours=1) - timedelta(microseconds=1)


def days_of_hours(hours: Iterable[str], rule: DirtyRule) -> set[date]:
    """The local days of every instant of these UTC hours (`hour_of`)."""
    days: set[date] = set()
    for hour in hours:
        days.update(_hour_days(hour, rule.timezone))
    return days


def mark_days(conn: Connection, source: str, days: Iterable[date]) -> None:
    """Mark days dirty under a fresh token, also days already dirty: a score that read an
    older mark of a day then leaves this one in place for the next score."""
    token = uuid4().hex
    rows = [{"source": source, "day": day, "token": token} for day in sorted(set(days))]
    if not rows:
        return
    for offset in range(0, len(rows), BATCH):
        statement = dialect_insert(conn, dirty_days)
        statement = statement.on_conflict_do_update(
            index_elements=["source", "day"], set_={"token": statement.excluded.token}
        )
        conn.execute(statement, rows[offset : offset + BATCH])


def mark_day_range(
    conn: Connection, source: str, start: datetime, end: datetime, rule: DirtyRule
) -> None:
    first, last = local_day(start, rule), local_day(end, rule)
    mark_days(conn, source, (first + timedelta(days=n) for n in range((last - first).days + 1)))


@dataclass(frozen=True)
class StoredBefore:
    """What a page's write may move: read before the page is written."""

    # The customers whose repeat windows the page can reach, each with the earliest
    # creation under it: those of its interactions that are new or change as a contact,
    # before and after the page.
    customers: dict[str, datetime]
    hours: set[str]  # the hours (`hour_of`) of its interactions' and ratings' moments


# What makes an interaction a repeat contact: its customer, its creation, and that it is not
# deleted (condition 2 of docs/metrics.md "Resolution and first-contact resolution (FCR)").
_Contact = tuple[str | None, datetime, bool]


def stored_before(conn: Connection, source: str, records: Sequence[Any]) -> StoredBefore:
    """What is stored now of a page's interactions and ratings: the hours of their moments
    (`hour_of`: a rating's first answer or a resolution time can move to another day), and
    the customers of those of its interactions that are new or change as a contact, as
    stored and as the page has them (a changed requester frees the old customer's earlier
    resolutions, docs/metrics.md "Resolution and first-contact resolution (FCR)"). Only
    a write of an interaction's own row changes it as a contact: a page of history or
    ratings alone, or a sync's copy of a ticket with the same customer, creation and
    deletion, reaches no other interaction's FCR, and looks up no repeat window."""
    on_page: dict[str, set[_Contact]] = {}
    removed: set[str] = set()  # known by id alone (`Removed`): deleted as stored otherwise
    for r in records:
        if isinstance(r, Interaction):
            customer = None if r.customer_id is None else storable_text(r.customer_id)
            contact = (customer, r.created_at, r.deleted)
            on_page.setdefault(storable_text(r.interaction_id), set()).add(contact)
        elif isinstance(r, Removed):
            removed.add(storable_text(r.interaction_id))
    rating_ids = sorted(
        {storable_text(r.rating_id) for r in records if isinstance(r, Rating | RatingState)}
    )
    hours: set[str] = set()
    stored = _stored_interactions(
        conn, source, sorted(on_page.keys() | removed), hours, with_contacts=True
    )
    for interaction_id in removed - on_page.keys():
        was = stored.get(interaction_id)
        if was is not None:
            on_page[interaction_id] = {(was[0], was[1], True)}
    customers: dict[str, datetime] = {}
    for interaction_id, seen in on_page.items():
        was = stored.get(interaction_id)
        if was is not None and seen == {was}:
            continue  # the same contact as stored
        # Before and after: a copy older than the stored row is not written, and its
        # customer's window is read for nothing.
        for customer, created_at, _ in seen if was is None else seen | {was}:
            if customer is not None:
                customers[customer] = min(customers.get(customer, created_at), created_at)
    if rating_ids:
        moments = select(hour_of(ratings.c.created_at)).where(
            ratings.c.source == source, among(conn, ratings.c.rating_id, "ids")
        )
        hours.update(conn.execute(moments.distinct(), {"ids": json_param(rating_ids)}).scalars())
    return StoredBefore(customers, hours)


def mark_interactions_dirty(
    conn: Connection,
    source: str,
    interaction_ids: set[str],
    rule: DirtyRule,
    before: StoredBefore,
) -> None:
    """Mark every day these interactions count on, and the resolution days of the
    customers' other interactions whose repeat window the page may reach (DESIGN.md
    "Data flow", step 3). `before` (`stored_before`) is what was stored before this page:
    a count that moved to another day leaves its old day, and a contact that moved to
    another customer no longer breaks the old one's FCR."""
    ids = sorted(interaction_ids)
    hours: set[str] = set(before.hours)
    if ids:
        # One statement for every change table (UNION leaves each hour once).
        counted = union(
            *(
                select(hour_of(column)).where(
                    column.table.c.source == source,
                    among(conn, column.table.c.interaction_id, "ids"),
                )
                for column in COUNTED_MOMENTS
            )
        )
        hours.update(conn.execute(counted, {"ids": json_param(ids)}).scalars())
    _stored_interactions(conn, source, ids, hours, with_contacts=False)
    hours.update(_repeat_window_hours(conn, source, before.customers, rule))
    mark_days(conn, source, days_of_hours(hours, rule))


def _stored_interactions(
    conn: Connection, source: str, ids: Sequence[str], hours: set[str], with_contacts: bool
) -> dict[str, _Contact]:
    """Add the hours of these interactions' stored moments (creation, update, resolution) to
    `hours`; `with_contacts`, return each stored one's contact (else nothing: after the
    write only the hours are wanted)."""
    if not ids:
        return {}
    moments = (
        hour_of(interactions.c.created_at),
        hour_of(interactions.c.updated_at),
        hour_of(interactions.c.solved_at),
    )
    contact = (
        interactions.c.interaction_id,
        interactions.c.customer_id,
        interactions.c.created_at,
        interactions.c.deleted,
    )
    stored = select(*(contact if with_contacts else ()), *moments).where(
        interactions.c.source == source, among(conn, interactions.c.interaction_id, "ids")
    )
    rows = conn.execute(stored, {"ids": json_param(ids)}).all()
    if not rows:
        return {}
    # A column at a time: a backfill's page reads thousands of rows here.
    columns = list(zip(*rows, strict=True))
    for hours_of_moment in columns[-len(moments) :]:
        hours.update(filter(None, hours_of_moment))
    if not with_contacts:
        return {}
    found, owners, created, deleted = columns[: len(contact)]
    return dict(zip(found, zip(owners, created, deleted, strict=True), strict=True))


def _repeat_window_hours(
    conn: Connection, source: str, customers: dict[str, datetime], rule: DirtyRule
) -> set[str]:
    """Hours of the resolution moments of a customer's interactions that a contact at or
    after the customer's `earliest` can be a repeat contact for (docs/metrics.md
    "Resolution and first-contact resolution (FCR)", condition 2): the resolved
    interactions' update and solve times, and every resolving status change of any of the
    customer's interactions, whatever the interaction's own row says (a source's history
    stream may be ahead of its interaction stream).

    One statement for all the customers: they go in as one JSON parameter (customer id:
    the UTC hour its window starts in, `hour_label`; warehouse/json_params.py `pairs`), and
    each customer's own start is applied in SQL, by hour, so that only the distinct hours
    come back, not every resolution (in a backfill each page's customers have hundreds of
    thousands; bench/PROFILE.md). Read by customer: the customers' interactions
    by `ix_interactions_customer_created`, their resolving status changes from
    `ix_status_interaction_resolved` alone; a time condition is an hour's text, which no
    time index answers (one that did would step through every resolution stored so far,
    for every page of a backfill)."""
    if not customers:
        return set()
    starts = pairs(conn, "window_starts", "customer_id", "since")
    labels = {
        name: hour_label(earliest - rule.repeat_window) for name, earliest in customers.items()
    }
    # Each join reads its right side by the left side's value, never the other way round
    # (`_NoIndex`): SQLite would otherwise scan every status change or interaction of the
    # source and look each one's customer up.
    of_customer = and_(
        interactions.c.source == source,
        interactions.c.customer_id == _NoIndex(starts.c.customer_id),
    )
    resolved = (
        select(hour_of(interactions.c.updated_at), hour_of(interactions.c.solved_at))
        .select_from(starts.join(interactions, of_customer))
        .where(
            interactions.c.resolved.is_(True),
            hour_of(interactions.c.updated_at) >= starts.c.since,
        )
    )
    resolving = (
        select(hour_of(status_changes.c.at), null())
        .select_from(
            starts.join(interactions, of_customer).join(
                status_changes,
                and_(
                    status_changes.c.source == interactions.c.source,
                    status_changes.c.interaction_id == _NoIndex(interactions.c.interaction_id),
                ),
            )
        )
        .where(
            status_changes.c.resolved.is_(True),
            hour_of(status_changes.c.at) >= starts.c.since,
        )
    )
    rows: Sequence[Any] = conn.execute(
        union(resolved, resolving), {"window_starts": json_param(labels)}
    ).all()
    # A row is a resolved interaction's update and solve hours, or a change's hour and NULL.
    return {hour for row in rows for hour in row if hour is not None}


def pop_dirty_days(conn: Connection, source: str, marks: Iterable[tuple[date, str | None]]) -> None:
    """Clear these (day, token) marks; a day marked again since (new token) stays dirty."""
    by_token: dict[str | None, list[date]] = {}
    for day, token in marks:
        by_token.setdefault(token, []).append(day)
    for token, days in by_token.items():
        same_mark = dirty_days.c.token.is_(None) if token is None else dirty_days.c.token == token
        for offset in range(0, len(days), BATCH):
            conn.execute(
                dirty_days.delete().where(
                    dirty_days.c.source == source,
                    dirty_days.c.day.in_(days[offset : offset + BATCH]),
                    same_mark,
                )
            )


def dirty_days_of(engine: Engine, source: str) -> list[date]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(select(dirty_days.c.day).where(dirty_days.c.source == source)).scalars()
        )
