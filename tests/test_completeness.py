"""Completeness (docs/metrics.md "Completeness"): a source's high-water mark is the earliest
of its streams' complete reads, and every report, export and view says per source how far
it is read and which days are provisional."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from tests.desks import TINY, Served, served_desk
from warehouse.cursors import StreamRead, complete_stream, high_water_mark
from warehouse.day_marks import DirtyRule
from warehouse.schema import open_engine

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULE = DirtyRule("UTC", timedelta(hours=72))
STREAMS = ("tickets", "events", "ratings")


def _killed_in_the_events_export(served: Served) -> None:
    """A first sync, SIGKILLed while its events export is in flight: tickets stored."""
    served.sandbox.inject("hang", path_contains="ticket_events")
    child = subprocess.Popen(
        [sys.executable, "-m", "deskmetrics", "sync", "--config", str(served.settings_path)],
        env={**os.environ, **served.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert served.sandbox.wait_for_hang(1, timeout=120)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        served.sandbox.release()


def _period(served: Served) -> list[str]:
    since, until = served.period()
    return ["--since", str(since), "--until", str(until)]


def test_a_first_sync_killed_between_streams_reports_every_day_as_provisional(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        _killed_in_the_events_export(served)
        shown = served.cli("report", *_period(served))
    assert shown.returncode == 0, shown.stderr
    assert "zendesk: never read completely; every figure is provisional" in shown.stdout
    assert "settled" not in shown.stdout


def test_a_report_file_after_a_sync_killed_between_streams_has_no_high_water_mark(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        _killed_in_the_events_export(served)
        meta = tmp_path / "report.csv.meta.json"
        shown = served.cli("report", *_period(served), "--format", "csv", "--meta", str(meta))
    assert shown.returncode == 0, shown.stderr
    since, until = served.period()
    zendesk = json.loads(meta.read_text())["sources"]["zendesk"]
    assert zendesk["high_water_mark"] is None
    assert zendesk["provisional_days"] == {
        "first": str(since),
        "last": str(until - timedelta(days=1)),
    }


def test_after_a_whole_sync_only_the_days_within_the_repeat_window_are_provisional(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sync()
        shown = served.cli("report", *_period(served))
        mark = served.desk.now - timedelta(minutes=1)  # the ticket export's minute
    first = (mark - timedelta(hours=72)).date()
    last = served.period()[1] - timedelta(days=1)
    assert shown.returncode == 0, shown.stderr
    assert (
        f"zendesk: read up to {mark:%Y-%m-%d %H:%M} UTC; provisional, may still change: "
        f"{first} to {last}"
    ) in shown.stdout


def _read(engine: Engine, stream: str, complete_to: datetime) -> None:
    with engine.begin() as conn:
        complete_stream(conn, "zendesk", StreamRead(stream, complete_to, STREAMS), RULE, T0)


def _mark(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return high_water_mark(conn, "zendesk")


def test_the_source_mark_is_the_earliest_of_its_streams_complete_reads(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    _read(engine, "tickets", T0)
    _read(engine, "events", T0 - timedelta(days=3))
    _read(engine, "ratings", T0)
    assert _mark(engine) == T0 - timedelta(days=3)


def test_a_source_with_a_stream_never_read_completely_has_no_mark(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    _read(engine, "tickets", T0)
    _read(engine, "ratings", T0)
    assert _mark(engine) is None
