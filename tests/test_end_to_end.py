"""End to end against the sandbox: the report equals the generator's ground truth, for
every agent and every column, after a backfill and after incremental syncs."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connectors.zendesk import STREAMS
from deskmetrics import pipeline
from sandbox.desk import advance_desk
from sandbox.desk import truth as desk_truth
from scoring import ReportRow
from tests.desks import TINY, Served, served_desk, set_desk_now
from warehouse.cursors import load_cursor
from warehouse.schema import interactions


def _as_dicts(rows: list[ReportRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]


def test_backfill_then_report_equals_ground_truth(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        served.backfill()
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until)
    assert _as_dicts(report) == desk_truth.report_rows(served.desk, since, until)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_a_sub_period_in_another_time_zone_equals_ground_truth(tmp_path: Path, zone: str) -> None:
    with served_desk(tmp_path, timezone=zone) as served:
        served.backfill()
        since, _ = served.period()
        middle = since + timedelta(days=10)
        report = pipeline.report(served.engine, served.settings, middle, middle + timedelta(days=7))
    assert _as_dicts(report) == desk_truth.report_rows(
        served.desk, middle, middle + timedelta(days=7), zone
    )


def _cli_sync(served: Served) -> None:
    result = served.cli("sync")
    assert result.returncode == 0, result.stderr


def _interaction_rows(served: Served) -> dict[str, tuple[object, ...]]:
    with served.engine.connect() as conn:
        return {row.interaction_id: tuple(row) for row in conn.execute(select(interactions))}


def test_incremental_sync_picks_up_exactly_the_changes_and_equals_ground_truth(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path) as served:
        _cli_sync(served)
        before = _interaction_rows(served)
        changed = advance_desk(served.desk, minutes=180, seed=11)
        requests_before = served.sandbox.request_count
        _cli_sync(served)
        requests = served.sandbox.request_count - requests_before
        after = _interaction_rows(served)
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until + timedelta(days=1))
        truth = desk_truth.report_rows(served.desk, since, until + timedelta(days=1))
    assert changed["touched"], "the sandbox changed nothing"
    moved = {key for key, row in after.items() if before.get(key) != row}
    assert moved == {str(ticket) for ticket in changed["touched"]}
    assert _as_dicts(report) == truth
    # Only the changes are re-read (plus the ratings look-back), not the whole desk.
    assert requests < 25, f"{requests} requests for an incremental sync"


def _time_based_pages(count: int, size: int) -> int:
    """Pages a time-based export needs for `count` records: each page after the first starts
    at the second the last one ended, so it re-reads at least one record, and the stream
    ends only on a page shorter than `size`."""
    return count // (size - 1) + 1


def test_a_backfill_costs_the_page_minimum_not_a_request_per_ticket(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        served.backfill()
        desk = served.desk
        listed = [a for a in desk.agents() if a.role in ("agent", "admin")]
        former = len(desk.agents()) - len(listed)
        minimum = (
            math.ceil(len(desk.tickets) / 1000)
            + _time_based_pages(len(desk.events), 1000)
            # Offers are no response: only answered ratings are paged through.
            + math.ceil(sum(r.score in ("good", "bad") for r in desk.ratings.values()) / 100)
            + math.ceil(len(listed) / 100)
            # Agents no longer listed (downgraded, deleted) are looked up, 100 to a request.
            + math.ceil(former / 100)
        )
        made = served.sandbox.request_count
        # Help Center calls (new-CSAT detection) count against their own allowance.
        made -= sum(n for path, n in served.sandbox.requests_by_path.items() if "/guide/" in path)
    assert made <= 1.1 * minimum, f"{made} requests against a minimum of {minimum}"
    assert made < len(desk.tickets) / 20


def test_deleted_tickets_are_kept_and_marked_deleted(tmp_path: Path) -> None:
    # A desk that has deleted tickets (7): one made at the minute the test runs may have none.
    set_desk_now(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    with served_desk(tmp_path, **TINY) as served:
        served.backfill()
        deleted = {str(t.id) for t in served.desk.tickets.values() if t.deleted}
        with served.engine.connect() as conn:
            stored = set(
                conn.execute(
                    select(interactions.c.interaction_id).where(interactions.c.deleted.is_(True))
                ).scalars()
            )
    assert deleted and stored == deleted


def test_a_backfill_never_moves_the_scheduled_cursors(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sync()
        scheduled = {s: load_cursor(served.engine, "zendesk", s) for s in STREAMS}
        advance_desk(served.desk, minutes=60, seed=3)
        served.backfill()
        assert {s: load_cursor(served.engine, "zendesk", s) for s in STREAMS} == scheduled


def test_second_sync_with_no_change_changes_no_figure(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sync()
        since, until = served.period()
        first = pipeline.report(served.engine, served.settings, since, until)
        served.sync()
        second = pipeline.report(served.engine, served.settings, since, until)
    assert first == second


def test_rescoring_everything_changes_no_figure(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.backfill()
        since, until = served.period()
        first = pipeline.report(served.engine, served.settings, since, until)
        pipeline.score(served.engine, served.settings, everything=True)
        second = pipeline.report(served.engine, served.settings, since, until)
    assert first == second


def test_backfill_into_either_database_equals_ground_truth(
    tmp_path: Path, any_engine: Engine
) -> None:
    with served_desk(tmp_path) as served:
        served.engine = any_engine
        served.backfill()
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until)
    assert _as_dicts(report) == desk_truth.report_rows(served.desk, since, until)
