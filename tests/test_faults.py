"""429s, 5xx, resets and cut responses slow a sync down but change no figure; a budget
that runs out stops with a clear error and keeps what was stored. Waits are recorded by a
replaced sleep, never slept."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deskmetrics import pipeline
from interactions import SourceUnavailableError
from sandbox.desk import truth as desk_truth
from tests.desks import TINY, Served, served_desk, table_dump
from warehouse.schema import interactions

EXPORT = "incremental/tickets/cursor.json"
EVENTS = "incremental/ticket_events.json"
RATINGS = "satisfaction_ratings"


def _report(served: Served) -> list[dict[str, object]]:
    since, until = served.period()
    return [asdict(r) for r in pipeline.report(served.engine, served.settings, since, until)]


def test_rate_limits_and_server_errors_change_no_figure(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        served.sandbox.inject("429", times=2, path_contains=EXPORT, retry_after=7)
        served.sandbox.inject("503", path_contains=EVENTS)
        served.sandbox.inject("500", path_contains=RATINGS)
        served.sandbox.inject("reset", path_contains=EVENTS)
        served.sandbox.inject("cut", path_contains=EXPORT)
        served.sandbox.inject("502", path_contains="users")
        result = served.backfill(max_attempts=5, max_wait_seconds=600)
        faulty = _report(served)
        since, until = served.period()
        truth = desk_truth.report_rows(served.desk, since, until)
    assert faulty == truth
    assert result.usage.retries == 7
    assert served.sleeps.count(7.0) == 2, "Retry-After was not honoured"


def test_retry_after_is_read_from_the_header_of_a_plain_text_429(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sandbox.inject("429", path_contains="users", retry_after=42)
        served.backfill(max_wait_seconds=600)
    assert served.sleeps[0] == 42.0


def test_a_rate_limit_past_the_wait_budget_stops_with_a_clear_error(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        served.sandbox.inject("429", times=50, path_contains=EVENTS, retry_after=30)
        with pytest.raises(SourceUnavailableError, match=r"gave up after .*\(429\)"):
            served.backfill(max_attempts=20, max_wait_seconds=100)
        with served.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(interactions)).scalar()
    assert sum(served.sleeps) <= 100
    assert stored == len(served.desk.tickets), "tickets read before the failure were lost"


def test_a_failed_run_resumes_to_the_same_tables_as_a_clean_one(tmp_path: Path) -> None:
    with served_desk(tmp_path / "clean", **TINY) as clean:
        clean.backfill()
        expected = table_dump(clean.engine)
    with served_desk(tmp_path / "failed", **TINY) as served:
        served.sandbox.inject("503", times=10, path_contains=RATINGS)
        with pytest.raises(SourceUnavailableError):
            served.backfill(max_attempts=3)
        served.sandbox.faults.clear()
        served.backfill()
        assert table_dump(served.engine) == expected


def test_timeouts_are_retried(tmp_path: Path) -> None:
    # A small desk and a timeout far from both the normal answer time and the slow one, so
    # the machine's speed decides nothing.
    with served_desk(tmp_path, tickets=200, customers=60) as served:
        served.sandbox.inject("slow", path_contains="users", delay=30.0)
        result = served.backfill(timeout_seconds=3.0)
    assert result.usage.retries == 1
