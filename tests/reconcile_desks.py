"""What the `deskmetrics reconcile` tests of both sources share: a synced desk at a fixed
moment, a warehouse made to miss interactions or ratings, an interaction deleted at the
source since the sync, and the differences per (day, count) each must show."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from unittest.mock import patch

from sqlalchemy import Engine, delete, select

from deskmetrics.reconcile import CREATED, RATINGS, RESOLVED, Reconciliation, reconcile
from deskmetrics.settings import Settings
from interactions import is_answer_score
from sandbox.desk import Desk
from sandbox.desk.tickets import update_ticket
from warehouse.schema import interactions, ratings

# Desks of these tests are generated for this moment, so each has the state a test needs
# (resolved tickets, answered ratings) whatever minute it runs.
FIXED_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

Differences = dict[tuple[date, str], int]


class SyncedDesk(Protocol):
    desk: Desk
    engine: Engine
    settings: Settings

    def period(self) -> tuple[date, date]: ...

    def cli(self, command: str, *args: str) -> Any: ...


def reconciled(
    served: SyncedDesk, source: str, environ: dict[str, str], settings: Settings | None = None
) -> Reconciliation:
    """`reconcile` of the served desk's whole period, at the desk's moment."""
    since, until = served.period()
    with patch.dict(os.environ, environ):
        return reconcile(
            served.engine, settings or served.settings, source, since, until, served.desk.now
        )


def reconcile_cli(served: SyncedDesk, source: str) -> Any:
    since, until = served.period()
    return served.cli("reconcile", "--source", source, "--since", str(since), "--until", str(until))


def differences(found: Reconciliation) -> Differences:
    return {(count.day, count.what): count.difference for count in found.differing}


def compared(expected: Differences, found: Reconciliation) -> Differences:
    """The expected differences on the days `found` compared."""
    return {(day, what): n for (day, what), n in expected.items() if day in found.days and n}


def _add(into: Differences, moment: datetime | None, what: str, by: int) -> None:
    if moment is not None:
        key = (moment.astimezone(UTC).date(), what)
        into[key] = into.get(key, 0) + by


def drop_interactions(engine: Engine, ids: Iterable[str]) -> Differences:
    """Delete these interactions from the warehouse: each is then missing from its created
    day, and, when stored as resolved, from its resolved day (settings in UTC)."""
    missing: Differences = {}
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                interactions.c.interaction_id,
                interactions.c.created_at,
                interactions.c.resolved,
                interactions.c.solved_at,
            ).where(interactions.c.interaction_id.in_(list(ids)))
        ).all()
        conn.execute(
            delete(interactions).where(
                interactions.c.interaction_id.in_([row.interaction_id for row in rows])
            )
        )
    for row in rows:
        _add(missing, row.created_at, CREATED, -1)
        _add(missing, row.solved_at if row.resolved else None, RESOLVED, -1)
    return missing


def drop_first_page(engine: Engine, size: int = 25) -> Differences:
    """Delete the `size` earliest-created interactions the warehouse holds (not deleted)."""
    with engine.connect() as conn:
        page = conn.scalars(
            select(interactions.c.interaction_id)
            .where(interactions.c.deleted.is_(False))
            .order_by(interactions.c.created_at)
            .limit(size)
        ).all()
    return drop_interactions(engine, page)


def resolved_interaction(engine: Engine, before: datetime) -> tuple[str, datetime]:
    """An interaction stored resolved (not deleted) at its latest resolution before
    `before`, created on another day, so both differences show apart; and that resolution."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                interactions.c.interaction_id, interactions.c.created_at, interactions.c.solved_at
            )
            .where(
                interactions.c.deleted.is_(False),
                interactions.c.resolved.is_(True),
                interactions.c.solved_at < before,
            )
            .order_by(interactions.c.interaction_id)
        ).all()
    row = next(r for r in rows if r.solved_at.date() != r.created_at.date())
    return row.interaction_id, row.solved_at


def drop_answered_rating(engine: Engine, before: datetime) -> Differences:
    """Delete one stored answered rating first answered before `before`."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(ratings.c.rating_id, ratings.c.created_at, ratings.c.score)
            .where(ratings.c.created_at < before)
            .order_by(ratings.c.rating_id)
        ).all()
        rating = next(row for row in rows if is_answer_score(row.score))
        conn.execute(delete(ratings).where(ratings.c.rating_id == rating.rating_id))
    missing: Differences = {}
    _add(missing, rating.created_at, RATINGS, -1)
    return missing


def delete_at_source(
    served: SyncedDesk, days_before: int, interaction_id: Callable[[int], str]
) -> Differences:
    """Delete at the source a ticket the warehouse holds (not deleted), created more than
    `days_before` days ago: the warehouse holds one more on its created day, and on its
    resolved day when it holds it resolved. `interaction_id` names a ticket's interaction."""
    desk = served.desk
    ticket = next(
        t
        for t in desk.tickets.values()
        if not t.deleted and t.created_at < desk.now - timedelta(days=days_before)
    )
    with desk.lock:
        update_ticket(desk, ticket, desk.now, 1, status="deleted")
    extra: Differences = {}
    with served.engine.connect() as conn:
        stored = conn.execute(
            select(
                interactions.c.created_at, interactions.c.resolved, interactions.c.solved_at
            ).where(interactions.c.interaction_id == interaction_id(ticket.id))
        ).one()
    _add(extra, stored.created_at, CREATED, 1)
    _add(extra, stored.solved_at if stored.resolved else None, RESOLVED, 1)
    return extra
