"""`deskmetrics status` for monitors (deskmetrics/status.py, status_view.py): exit 0
healthy, 1 lagging, 2 failing, 3 unknown; what it shows per source and stream; the JSON
shape. Warehouses are built row by row, and `now` is passed in."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from connectors.zendesk import STREAMS
from deskmetrics.cli import main
from deskmetrics.settings import Settings, settings_from
from deskmetrics.status import read_status
from deskmetrics.status_view import status_json, status_lines
from tests.desks import write_settings
from warehouse.schema import leases, open_engine, quarantine, runs, sync_state

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = settings_from(
    {
        "sources": {"zendesk": {}},
        "status": {"lag_alert_minutes": 120, "failing_alert_minutes": 60},
    }
)


def _stream(
    engine: Engine,
    stream: str,
    succeeded: datetime | None,
    error: str | None = None,
    source: str = "zendesk",
    **cursor: Any,
) -> None:
    row = {
        "source": source,
        "stream": stream,
        "cursor": json.dumps({"pass": 1, "done": True, **cursor}),
        "high_water_mark": None,
        "updated_at": NOW - timedelta(minutes=1),
        "last_success_at": succeeded,
        "last_error": error,
    }
    with engine.begin() as conn:
        conn.execute(sync_state.insert().values(**row))


def _read_through(engine: Engine, mark: datetime, source: str = "zendesk") -> None:
    """A source whose every stream finished pass 1, complete up to `mark`."""
    for stream in STREAMS:
        _stream(engine, stream, mark, source=source, start_time=int(mark.timestamp()))
    with engine.begin() as conn:
        conn.execute(
            sync_state.insert().values(
                source=source, stream="*", cursor=None, high_water_mark=mark, updated_at=mark
            )
        )


def _fail_stream(engine: Engine, stream: str, last_success: datetime, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sync_state.update()
            .where(sync_state.c.source == "zendesk", sync_state.c.stream == stream)
            .values(last_success_at=last_success, last_error=error)
        )


def test_a_source_complete_within_the_limit_is_healthy(any_engine: Engine) -> None:
    _read_through(any_engine, NOW - timedelta(minutes=20))
    found = read_status(any_engine, NOW, SETTINGS)
    assert (found.health, found.exit_code) == ("ok", 0)
    assert found.sources[0].lag_minutes == 20


def test_a_source_behind_more_than_the_limit_is_lagging(any_engine: Engine) -> None:
    _read_through(any_engine, NOW - timedelta(minutes=121))
    found = read_status(any_engine, NOW, SETTINGS)
    assert (found.health, found.exit_code) == ("lagging", 1)
    assert found.sources[0].problems == (
        "zendesk is 121 min behind (its high-water mark; alert after 120)",
    )


def test_a_stream_failing_longer_than_the_limit_is_failing(any_engine: Engine) -> None:
    _read_through(any_engine, NOW - timedelta(minutes=5))
    _fail_stream(any_engine, "events", NOW - timedelta(minutes=61), "events export: 503")
    found = read_status(any_engine, NOW, SETTINGS)
    assert (found.health, found.exit_code) == ("failing", 2)
    assert "zendesk events has been failing for 61 min" in found.sources[0].problems[0]


def test_an_error_newer_than_the_limit_is_not_failing_yet(any_engine: Engine) -> None:
    _read_through(any_engine, NOW - timedelta(minutes=5))
    _fail_stream(any_engine, "events", NOW - timedelta(minutes=59), "events export: 503")
    assert read_status(any_engine, NOW, SETTINGS).exit_code == 0


def test_failing_wins_over_lagging(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(hours=5))
    _fail_stream(engine, "tickets", NOW - timedelta(hours=5), "tickets export: 401")
    found = read_status(engine, NOW, SETTINGS)
    assert found.exit_code == 2
    assert len(found.sources[0].problems) == 2  # both are said


def test_a_stream_that_never_succeeded_is_failing_at_once(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=5))
    _stream(engine, "backlog", None, "refused (401)")
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                command="sync", source="zendesk", started_at=NOW - timedelta(hours=3),
                status="failed", pages=0, records=0, requests=1,
            )
        )  # fmt: skip
    found = read_status(engine, NOW, SETTINGS)
    assert found.exit_code == 2
    assert found.sources[0].problems[0] == (
        "zendesk backlog has never been read successfully (failing for 180 min)"
    )


def test_a_source_whose_only_sync_failed_is_failing_within_the_alert_time(
    engine: Engine,
) -> None:
    _stream(engine, "agents", None, "users: refused (401)")
    _failed_sync(engine, NOW - timedelta(seconds=10))
    found = read_status(engine, NOW, SETTINGS)
    assert (found.health, found.exit_code) == ("failing", 2)


def test_failing_time_counts_from_the_first_failure_since_the_last_success(
    engine: Engine,
) -> None:
    _read_through(engine, NOW - timedelta(minutes=5))
    _fail_stream(engine, "events", NOW - timedelta(minutes=4), "events export: 503")
    _failed_sync(engine, NOW - timedelta(minutes=30))  # before that success: not counted
    _failed_sync(engine, NOW - timedelta(seconds=10))
    events = next(t for t in read_status(engine, NOW, SETTINGS).sources[0].streams
                  if t.stream == "events")  # fmt: skip
    assert events.failing_minutes is not None and round(events.failing_minutes, 2) == 0.17


def _failed_sync(engine: Engine, finished: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                command="sync", source="zendesk", started_at=finished - timedelta(seconds=5),
                finished_at=finished, status="failed", pages=0, records=0, requests=1,
            )
        )  # fmt: skip


def test_an_enabled_source_never_read_is_lagging(engine: Engine) -> None:
    found = read_status(engine, NOW, SETTINGS)
    assert found.exit_code == 1
    assert found.sources[0].problems == ("zendesk has never been read: run `deskmetrics sync`",)


def test_a_source_never_read_completely_is_lagging_not_healthy(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                command="sync", source="zendesk", started_at=NOW - timedelta(minutes=30),
                status="running", pages=0, records=0, requests=0,
            )
        )  # fmt: skip
    _stream(engine, "agents", NOW - timedelta(minutes=29))
    found = read_status(engine, NOW, SETTINGS)
    assert (found.health, found.exit_code) == ("lagging", 1)
    assert "never been read completely" in found.sources[0].problems[0]


def test_records_in_quarantine_make_the_source_degraded(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=5))
    with engine.begin() as conn:
        conn.execute(
            quarantine.insert().values(
                source="zendesk", stream="tickets", record_id="7", error="bad created_at",
                record=None, first_seen_at=NOW, last_seen_at=NOW,
            )
        )  # fmt: skip
    found = read_status(engine, NOW, SETTINGS)
    assert (found.health, found.exit_code) == ("degraded", 1)
    assert "1 records in quarantine" in found.sources[0].problems[0]


def test_a_lease_of_a_process_of_this_machine_that_ended_is_abandoned_at_once(
    engine: Engine,
) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    holder = f"{socket.gethostname()}:{ended.stdout.strip()}:abc123"
    _read_through(engine, NOW - timedelta(minutes=5))
    _lease(engine, holder, NOW + timedelta(minutes=9))
    with engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                command="sync", source="zendesk", started_at=NOW - timedelta(minutes=2),
                status="running", pages=0, records=0, requests=0, holder=holder,
            )
        )  # fmt: skip
    found = read_status(engine, NOW, SETTINGS)
    text = "\n".join(status_lines(engine, NOW, SETTINGS))
    assert found.sources[0].lease is not None and found.sources[0].lease.abandoned
    assert [run["status"] for run in found.recent_runs] == ["abandoned"]
    assert "zendesk lease: free (abandoned" in text


def test_a_source_not_enabled_in_the_settings_is_shown_and_not_judged(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=5))
    _read_through(engine, NOW - timedelta(days=30), source="retired")
    found = read_status(engine, NOW, SETTINGS)
    assert found.exit_code == 0
    assert [(s.source, s.health) for s in found.sources] == [
        ("retired", "not_checked"),
        ("zendesk", "ok"),
    ]
    assert any("retired:" in line and "not judged" in line for line in status_lines(
        engine, NOW, SETTINGS
    ))  # fmt: skip


def test_a_failed_backfill_window_sets_no_exit_code(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=5))
    _stream(engine, "backfill:2026-01-01:open:events", NOW - timedelta(days=9), "stuck cursor")
    found = read_status(engine, NOW, SETTINGS)
    assert found.exit_code == 0
    assert found.sources[0].backfills[0].streams[0].last_error == "stuck cursor"


def test_thresholds_come_from_the_settings(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=20))
    strict = settings_from({"sources": {"zendesk": {}}, "status": {"lag_alert_minutes": 10}})
    assert read_status(engine, NOW, strict).exit_code == 1


def _lease(engine: Engine, holder: str, expires: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            leases.insert().values(
                source="zendesk", holder=holder, acquired_at=NOW - timedelta(minutes=7),
                renewed_at=NOW - timedelta(minutes=1), expires_at=expires,
            )
        )  # fmt: skip


def test_the_lines_name_the_lease_holder_last_success_and_error(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=20))
    _fail_stream(engine, "ratings", NOW - timedelta(minutes=15), "ratings: 503\x1b[2J")
    _lease(engine, "worker-1:4242", NOW + timedelta(minutes=4))
    text = "\n".join(status_lines(engine, NOW, SETTINGS))
    assert "zendesk lease: held by worker-1:4242 since 2026-11-30 11:53 UTC" in text
    assert "expires 2026-11-30 12:04 UTC" in text
    assert "zendesk tickets: pass 1 finished; next read from 2026-11-30 11:40" in text
    assert "last success 2026-11-30 11:40 UTC" in text
    assert "LAST ERROR (failing 15 min): ratings: 503\\x1b[2J" in text  # shown, not run
    assert text.endswith("health: ok (exit 0)")


def test_an_expired_lease_is_shown_as_free(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=20))
    _lease(engine, "worker-1:4242", NOW - timedelta(seconds=1))
    text = "\n".join(status_lines(engine, NOW, SETTINGS))
    assert "zendesk lease: free (the lease of worker-1:4242 expired at 2026-11-30 11:59" in text


def test_json_has_the_documented_shape(engine: Engine) -> None:
    _read_through(engine, NOW - timedelta(minutes=130))
    _fail_stream(engine, "events", NOW - timedelta(minutes=70), "events export: 503")
    _lease(engine, "worker-1:4242", NOW + timedelta(minutes=4))
    shape = json.loads(status_json(read_status(engine, NOW, SETTINGS), "sqlite:///w.sqlite"))
    assert set(shape) == {
        "version", "checked_at", "database", "health", "exit_code", "lag_alert_minutes",
        "failing_alert_minutes", "sources", "dirty_days", "recent_runs",
    }  # fmt: skip
    assert (shape["version"], shape["health"], shape["exit_code"]) == (1, "failing", 2)
    assert shape["checked_at"] == "2026-11-30T12:00:00+00:00"
    (source,) = shape["sources"]
    assert set(source) == {
        "source", "checked", "health", "problems", "high_water_mark", "lag_minutes", "pass",
        "streams_to_go", "lease", "streams", "backfills", "quarantined", "csat_read",
    }  # fmt: skip
    assert source["lag_minutes"] == 130.0
    assert source["high_water_mark"] == "2026-11-30T09:50:00+00:00"
    assert source["lease"] == {
        "holder": "worker-1:4242",
        "acquired_at": "2026-11-30T11:53:00+00:00",
        "renewed_at": "2026-11-30T11:59:00+00:00",
        "expires_at": "2026-11-30T12:04:00+00:00",
        "expired": False,
        "abandoned": False,
    }
    events = next(s for s in source["streams"] if s["stream"] == "events")
    assert set(events) == {
        "stream", "state", "pass", "read_up_to", "next_read_from", "last_success_at",
        "last_error", "failing_minutes", "cursor",
    }  # fmt: skip
    assert (events["state"], events["failing_minutes"]) == ("finished", 70.0)
    assert events["last_error"] == "events export: 503"
    assert [s["stream"] for s in source["streams"]] == list(STREAMS)


# The command


def _settings_file(tmp_path: Path) -> tuple[Path, Engine]:
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", "http://127.0.0.1:9")
    return path, open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")


@pytest.mark.parametrize(("behind", "code"), [(timedelta(minutes=3), 0), (timedelta(hours=3), 1)])
def test_the_command_exits_with_the_health_code(
    tmp_path: Path, behind: timedelta, code: int
) -> None:
    path, engine = _settings_file(tmp_path)
    _read_through(engine, datetime.now(UTC) - behind)
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == code, result.output
    assert result.stdout.startswith("database: sqlite:///")
    assert f"(exit {code})" in result.stdout


def test_the_command_prints_json_and_exits_2_when_failing(tmp_path: Path) -> None:
    path, engine = _settings_file(tmp_path)
    _read_through(engine, datetime.now(UTC))
    _fail_stream(engine, "agents", datetime.now(UTC) - timedelta(hours=2), "agents: 401")
    result = CliRunner().invoke(main, ["status", "--config", str(path), "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["health"] == "failing"


def test_the_command_exits_3_when_it_cannot_tell(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: no settings file")


def test_settings_default_thresholds_are_documented() -> None:
    assert Settings().status.lag_alert_minutes == 120
    assert Settings().status.failing_alert_minutes == 60


def test_a_wrong_option_before_the_status_command_exits_3(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "s.toml"), "status"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: --config goes after the command")
