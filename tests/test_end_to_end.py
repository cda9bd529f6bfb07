"""End to end against the sandbox: the report equals the generator's ground truth, for
every agent and every column, after a backfill and after incremental syncs."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from deskmetrics import pipeline
from scoring import ReportRow
from tests.desks import Served, served_desk


def _as_dicts(rows: list[ReportRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]


def _backfill(served: Served) -> None:
    since, _ = served.period()
    pipeline.backfill(
        served.engine,
        served.settings,
        "zendesk",
        since,
        None,
        config=served.config(),
        policy=served.policy(),
    )


def _sync(served: Served) -> None:
    connector_config, policy = served.config(), served.policy()
    for name in served.settings.enabled_sources():
        with pipeline.recorded_run(served.engine, "sync", name):
            pipeline.pull_source(
                served.engine,
                served.settings,
                name,
                served.desk.now - timedelta(days=90),
                config=connector_config,
                policy=policy,
            )
    pipeline.score(served.engine, served.settings)


def test_backfill_then_report_equals_ground_truth(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        _backfill(served)
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until)
    assert _as_dicts(report) == served.desk.truth(since, until)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_a_sub_period_in_another_time_zone_equals_ground_truth(tmp_path: Path, zone: str) -> None:
    with served_desk(tmp_path, timezone=zone) as served:
        _backfill(served)
        since, _ = served.period()
        middle = since + timedelta(days=10)
        report = pipeline.report(served.engine, served.settings, middle, middle + timedelta(days=7))
    assert _as_dicts(report) == served.desk.truth(middle, middle + timedelta(days=7), zone)


def test_incremental_sync_picks_up_changes_and_equals_ground_truth(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        _sync(served)
        changed = served.desk.advance(minutes=180, seed=11)
        before = served.sandbox.request_count
        _sync(served)
        requests = served.sandbox.request_count - before
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until + timedelta(days=1))
        truth = served.desk.truth(since, until + timedelta(days=1))
    assert changed, "the sandbox changed nothing"
    assert _as_dicts(report) == truth
    # Only the changes are re-read (plus the ratings look-back), not the whole desk.
    assert requests < 25, f"{requests} requests for an incremental sync"


def test_second_sync_with_no_change_changes_no_figure(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        _sync(served)
        since, until = served.period()
        first = pipeline.report(served.engine, served.settings, since, until)
        _sync(served)
        second = pipeline.report(served.engine, served.settings, since, until)
    assert first == second


def test_rescoring_everything_changes_no_figure(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        _backfill(served)
        since, until = served.period()
        first = pipeline.report(served.engine, served.settings, since, until)
        pipeline.score(served.engine, served.settings, everything=True)
        second = pipeline.report(served.engine, served.settings, since, until)
    assert first == second
