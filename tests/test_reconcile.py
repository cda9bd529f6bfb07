"""`deskmetrics reconcile` against the Zendesk sandbox, whose search count answers as
Zendesk's does (deleted tickets not searched, new ones indexed after a lag): a warehouse
synced completely reconciles with no difference; one missing a page of tickets, or holding
a ticket since deleted at the source, shows the day and the size of the difference and
exits 1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import delete, select

from deskmetrics.reconcile import Reconciliation, reconcile
from sandbox.desk.tickets import update_ticket
from sandbox.zendesk.search import INDEX_LAG
from tests.desks import TINY, Served, served_desk
from warehouse.schema import interactions


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Served]:
    with served_desk(tmp_path, **TINY) as served:
        served.sync()
        yield served


def reconciled(served: Served) -> Reconciliation:
    since, until = served.period()
    with patch.dict(os.environ, served.environ):
        return reconcile(served.engine, served.settings, "zendesk", since, until, served.desk.now)


def test_a_completely_synced_warehouse_reconciles_with_no_difference(synced: Served) -> None:
    found = reconciled(synced)
    assert len(found.compared) >= 30 and found.differing == []
    assert sum(day.at_source for day in found.compared) > 0
    assert found.requests == len(found.compared)  # one search count a day


def test_days_the_source_may_not_have_indexed_are_left_out(synced: Served) -> None:
    found = reconciled(synced)
    last = synced.desk.now - INDEX_LAG
    assert found.left_out and found.left_out[0] >= (last - timedelta(days=1)).date()
    assert all(day.day < last.date() for day in found.compared)


def test_a_warehouse_missing_a_page_of_tickets_shows_the_days_and_the_sizes(
    synced: Served,
) -> None:
    with synced.engine.begin() as conn:
        page = conn.execute(
            select(interactions.c.interaction_id, interactions.c.created_at)
            .where(interactions.c.deleted.is_(False))
            .order_by(interactions.c.created_at)
            .limit(25)
        ).all()
        conn.execute(
            delete(interactions).where(
                interactions.c.interaction_id.in_([row.interaction_id for row in page])
            )
        )
    missing: dict[object, int] = {}
    for row in page:
        missing[row.created_at.date()] = missing.get(row.created_at.date(), 0) - 1
    found = reconciled(synced)
    assert {day.day: day.difference for day in found.differing} == missing


def test_a_ticket_deleted_at_the_source_since_the_sync_shows_on_its_day(synced: Served) -> None:
    desk = synced.desk
    old = desk.now - timedelta(days=5)
    ticket = next(t for t in desk.tickets.values() if not t.deleted and t.created_at < old)
    with desk.lock:
        update_ticket(desk, ticket, desk.now, 1, status="deleted")
    found = reconciled(synced)
    assert [(d.day, d.difference) for d in found.differing] == [(ticket.created_at.date(), 1)]


def test_reconcile_exits_1_naming_the_days_that_differ(synced: Served) -> None:
    desk = synced.desk
    ticket = next(
        t
        for t in desk.tickets.values()
        if not t.deleted and t.created_at < desk.now - timedelta(days=3)
    )
    with desk.lock:
        update_ticket(desk, ticket, desk.now, 1, status="deleted")
    since, until = synced.period()
    done = synced.cli(
        "reconcile", "--source", "zendesk", "--since", str(since), "--until", str(until)
    )
    day = ticket.created_at.date()
    assert done.returncode == 1
    assert f"{day}: stored " in done.stdout and "difference +1" in done.stdout
    assert done.stderr.startswith(
        f"Error: zendesk: 1 days differ from the source's own counts ({day})"
    )


def test_reconcile_of_a_complete_warehouse_exits_0(synced: Served) -> None:
    since, until = synced.period()
    done = synced.cli(
        "reconcile", "--source", "zendesk", "--since", str(since), "--until", str(until)
    )
    assert done.returncode == 0, done.stderr
    assert ", 0 differ; " in done.stdout
