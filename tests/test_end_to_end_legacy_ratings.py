"""End to end against the sandbox, legacy satisfaction ratings dated by their first answer
as the ticket events show it (docs/metrics.md "CSAT"): Zendesk re-dates a changed rating
record to the change, so a rating answered one day and changed the next counts on the first
day after a backfill and after syncs, on SQLite and PostgreSQL; each report is the
generator's ground truth, day by day."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from sqlalchemy import Engine

from deskmetrics import pipeline
from sandbox.desk import advance_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.model import Rating
from tests.desks import Served, served_desk, set_desk_now


def _sync(served: Served) -> None:
    with patch.dict(os.environ, served.environ):
        pipeline.sync(served.engine, served.settings, policy=served.policy())


def _changed_on_another_day(served: Served) -> list[Rating]:
    """The desk's ratings whose latest change is on a later day than their first answer."""
    return [
        r
        for r in served.desk.ratings.values()
        if len(r.history) > 1
        and r.history[-1][0].date() > r.history[0][0].date()
        and not served.desk.tickets[r.ticket_id].deleted
    ]


def _report(served: Served, since: date, until: date) -> list[dict[str, object]]:
    return [asdict(row) for row in pipeline.report(served.engine, served.settings, since, until)]


def _each_day_equals_truth(served: Served, days: set[date]) -> None:
    for day in sorted(days):
        after = day + timedelta(days=1)
        assert _report(served, day, after) == desk_truth.report_rows(served.desk, day, after), day
    since, until = served.period()
    until += timedelta(days=3)
    assert _report(served, since, until) == desk_truth.report_rows(served.desk, since, until)


def _answer_and_change_days(ratings: list[Rating]) -> set[date]:
    return {r.history[i][0].date() for r in ratings for i in (0, -1)}


def test_a_changed_legacy_rating_keeps_its_first_answer_day_after_a_backfill(
    tmp_path: Path, any_engine: Engine
) -> None:
    with served_desk(tmp_path) as served:
        served.engine = any_engine
        changed = _changed_on_another_day(served)
        assert changed, "the desk has no rating changed on a later day"
        served.backfill()
        _each_day_equals_truth(served, _answer_and_change_days(changed))


def test_a_legacy_rating_answered_and_changed_between_syncs_keeps_its_first_answer_day(
    tmp_path: Path, any_engine: Engine
) -> None:
    with served_desk(tmp_path) as served:
        served.engine = any_engine
        served.backfill()
        before = {r.id for r in _changed_on_another_day(served)}
        advance_desk(served.desk, minutes=2 * 24 * 60, seed=11)
        _sync(served)
        changed = [r for r in _changed_on_another_day(served) if r.id not in before]
        assert changed, "no rating answered and changed a day later between the syncs"
        _each_day_equals_truth(served, _answer_and_change_days(changed))
        advance_desk(served.desk, minutes=180, seed=12)
        _sync(served)
        _each_day_equals_truth(served, _answer_and_change_days(changed))


# A desk that switched to new CSAT a day before its clock: tickets rated under legacy CSAT
# before the switch are still solved, so an advance can reopen and survey them. Its clock is
# fixed: a desk made at the minute the test runs may bring no such survey in three hours.
SWITCHED_LATELY = {"csat_switch_days": 1}
SWITCHED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _rating_and_response_days(served: Served, tickets: list[int]) -> set[date]:
    desk = served.desk
    days = {desk.ratings[desk.sim.rating_of[t]].created_at.date() for t in tickets}
    answered = [r.answered_at for r in desk.survey_responses.values() if r.ticket_id in tickets]
    return days | {moment.date() for moment in answered if moment is not None}


def test_a_rating_before_a_switch_and_a_response_after_it_count_in_their_periods_after_a_sync(
    tmp_path: Path, any_engine: Engine
) -> None:
    set_desk_now(SWITCHED_AT)
    with served_desk(tmp_path, **SWITCHED_LATELY) as served:
        served.engine = any_engine
        served.backfill()
        changed = advance_desk(served.desk, minutes=180, seed=11)
        _sync(served)
        tickets = changed["surveyed_after_legacy_rating"]
        assert tickets, "no ticket rated before the switch was surveyed after it"
        _each_day_equals_truth(served, _rating_and_response_days(served, tickets))


def test_a_rating_before_a_switch_and_a_response_after_it_count_in_their_periods_after_a_backfill(
    tmp_path: Path, any_engine: Engine
) -> None:
    set_desk_now(SWITCHED_AT)
    with served_desk(tmp_path, **SWITCHED_LATELY) as served:
        served.engine = any_engine
        changed = advance_desk(served.desk, minutes=180, seed=11)
        served.backfill()
        tickets = changed["surveyed_after_legacy_rating"]
        assert tickets, "no ticket rated before the switch was surveyed after it"
        _each_day_equals_truth(served, _rating_and_response_days(served, tickets))
