"""`deskmetrics reconcile` against the Zendesk sandbox, whose search count answers as
Zendesk's does (deleted tickets not searched, `solved` the latest solve, changes indexed after
a lag): a warehouse synced completely reconciles with no difference in the interactions
created or resolved per day; one missing a page of tickets, or a resolved ticket, or holding
a ticket since deleted at the source, shows the days, the counts and the size of the
difference and exits 1; ratings are said not to be compared."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from deskmetrics.reconcile import (
    CREATED,
    RATINGS,
    RESOLVED,
    ZENDESK_RATINGS_NOT_COUNTED,
    Reconciliation,
)
from sandbox.zendesk.search import INDEX_LAG
from tests.desks import TINY, Served, served_desk, set_desk_now
from tests.reconcile_desks import (
    FIXED_NOW,
    compared,
    delete_at_source,
    differences,
    drop_first_page,
    drop_interactions,
    reconcile_cli,
    reconciled,
    resolved_interaction,
)


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[Served]:
    set_desk_now(FIXED_NOW)
    with served_desk(tmp_path, **TINY) as served:
        served.sync()
        yield served


def reconcile_zendesk(served: Served) -> Reconciliation:
    return reconciled(served, "zendesk", served.environ)


def test_a_completely_synced_warehouse_reconciles_with_no_difference(synced: Served) -> None:
    found = reconcile_zendesk(synced)
    assert len(found.days) >= 30 and found.differing == []
    for what in (CREATED, RESOLVED):
        assert sum(c.at_source for c in found.counts if c.what == what) > 0, what


def test_zendesk_spends_two_search_counts_a_day(synced: Served) -> None:
    found = reconcile_zendesk(synced)
    assert found.requests == 2 * len(found.days)


def test_zendesk_ratings_are_said_not_to_be_compared(synced: Served) -> None:
    found = reconcile_zendesk(synced)
    assert found.not_compared == {RATINGS: ZENDESK_RATINGS_NOT_COUNTED}
    assert {count.what for count in found.counts} == {CREATED, RESOLVED}


def test_days_the_source_may_not_have_indexed_are_left_out(synced: Served) -> None:
    found = reconcile_zendesk(synced)
    last = synced.desk.now - INDEX_LAG
    assert found.left_out and found.left_out[0] >= (last - timedelta(days=1)).date()
    assert all(day < last.date() for day in found.days)


def test_a_warehouse_missing_a_page_of_tickets_shows_the_days_and_the_sizes(
    synced: Served,
) -> None:
    missing = drop_first_page(synced.engine)
    found = reconcile_zendesk(synced)
    assert differences(found) == compared(missing, found)


def test_a_resolved_ticket_missing_from_the_warehouse_shows_on_its_solved_day(
    synced: Served,
) -> None:
    ticket, solved_at = resolved_interaction(synced.engine, FIXED_NOW - timedelta(days=2))
    missing = drop_interactions(synced.engine, [ticket])
    found = reconcile_zendesk(synced)
    assert differences(found)[(solved_at.date(), RESOLVED)] == -1
    assert differences(found) == compared(missing, found)


def test_a_ticket_deleted_at_the_source_since_the_sync_shows_on_its_days(synced: Served) -> None:
    extra = delete_at_source(synced, 5, str)
    found = reconcile_zendesk(synced)
    assert differences(found) == compared(extra, found) != {}


def test_reconcile_exits_1_with_a_row_for_each_count_that_differs(synced: Served) -> None:
    ticket, solved_at = resolved_interaction(synced.engine, FIXED_NOW - timedelta(days=2))
    drop_interactions(synced.engine, [ticket])
    done = reconcile_cli(synced, "zendesk")
    assert done.returncode == 1
    assert "day         count              stored  zendesk  difference" in done.stdout
    assert f"{solved_at.date()}  resolved " in done.stdout and "-1\n" in done.stdout
    assert done.stderr.startswith("Error: zendesk: 2 days differ from the source's own counts")


def test_reconcile_of_a_complete_warehouse_exits_0(synced: Served) -> None:
    done = reconcile_cli(synced, "zendesk")
    assert done.returncode == 0, done.stderr
    assert ", 0 differ; " in done.stdout
    assert f"not compared: {RATINGS}: " in done.stdout
