"""One bad record does not block a source for ever: a `Quarantined` record is stored one row
per (source, stream, record id), counted for `status`, and listed and shown by
`deskmetrics quarantine`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from deskmetrics.cli import main
from interactions import Quarantined
from tests.desks import write_settings
from warehouse.cursors import load_cursor
from warehouse.day_marks import DirtyRule, dirty_days_of
from warehouse.quarantine import QuarantineEntry, quarantine_counts, quarantined
from warehouse.schema import open_engine
from warehouse.store import store_page

RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RAW = {"id": 7, "status": "open", "created_at": "last tuesday", "note": "\x1b[31m"}


def _bad(record_id: str, seen_at: datetime, error: str = "created_at is 'last tuesday'",
         stream: str = "tickets") -> Quarantined:  # fmt: skip
    return Quarantined("zendesk", stream, record_id, error, json.dumps(RAW), seen_at)


def _store(engine: Engine, *records: Quarantined, page: int = 1) -> None:
    store_page(engine, "zendesk", "tickets", list(records), {"page": page}, RULE, now=T0)


def test_a_quarantined_record_is_stored_with_its_page_cursor_and_no_dirty_day(
    any_engine: Engine,
) -> None:
    _store(any_engine, _bad("7", T0))
    assert quarantined(any_engine) == [
        QuarantineEntry(
            "zendesk", "tickets", "7", "created_at is 'last tuesday'", json.dumps(RAW), T0, T0
        )
    ]
    assert load_cursor(any_engine, "zendesk", "tickets") == {"page": 1}
    assert dirty_days_of(any_engine, "zendesk") == []


def test_a_record_seen_again_keeps_its_first_sighting_and_takes_the_latest_error(
    any_engine: Engine,
) -> None:
    later, earlier = T0 + timedelta(hours=2), T0 - timedelta(hours=1)
    _store(any_engine, _bad("7", T0))
    _store(any_engine, _bad("7", later, "status is 42"), page=2)
    _store(any_engine, _bad("7", earlier, "an older complaint"), page=3)
    (entry,) = quarantined(any_engine)
    assert (entry.first_seen_at, entry.last_seen_at) == (earlier, later)
    assert entry.error == "status is 42"


def test_a_page_holding_one_bad_record_twice_stores_one_row(any_engine: Engine) -> None:
    later = T0 + timedelta(minutes=1)
    _store(any_engine, _bad("7", later, "second"), _bad("7", T0, "first"))
    (entry,) = quarantined(any_engine)
    assert (entry.first_seen_at, entry.last_seen_at, entry.error) == (T0, later, "second")


def test_counts_per_source_and_stream_for_status(any_engine: Engine) -> None:
    _store(any_engine, _bad("7", T0), _bad("8", T0), _bad("7", T0, stream="events"))
    assert quarantine_counts(any_engine) == {("zendesk", "events"): 1, ("zendesk", "tickets"): 2}


# `deskmetrics quarantine`


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", "http://127.0.0.1:9")
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    _store(engine, _bad("7", T0), _bad("[/bold]", T0, "\x1b[2J cleared"))
    _store(engine, _bad("7", T0, stream="events"), page=2)
    engine.dispose()
    return path


def _run(settings_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["quarantine", "--config", str(settings_path), *args])


def test_the_command_lists_each_record_with_its_error_and_sightings(settings_path: Path) -> None:
    result = _run(settings_path)
    assert result.exit_code == 0, result.output
    assert "created_at is 'last tuesday'" in result.stdout
    assert "[/bold]" in result.stdout and "\\x1b[2J cleared" in result.stdout
    assert "\x1b" not in result.stdout
    assert "2026-03-02 09:00" in result.stdout


def test_the_command_lists_as_json_by_source(settings_path: Path) -> None:
    result = _run(settings_path, "--format", "json", "--source", "zendesk")
    listed = json.loads(result.stdout)
    assert [(e["stream"], e["record_id"]) for e in listed] == [
        ("events", "7"),
        ("tickets", "7"),
        ("tickets", "[/bold]"),
    ]
    assert listed[0]["first_seen_at"] == T0.isoformat()
    assert "\x1b" not in result.stdout


def test_show_prints_the_record_as_received(settings_path: Path) -> None:
    result = _run(settings_path, "--show", "7", "--stream", "tickets")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == RAW
    assert "\x1b" not in result.stdout


def test_show_of_an_id_in_two_streams_asks_which(settings_path: Path) -> None:
    result = _run(settings_path, "--show", "7")
    assert result.exit_code == 1
    assert "zendesk events, zendesk tickets" in result.stderr and "--stream" in result.stderr


def test_show_of_an_unknown_id_is_one_error_line(settings_path: Path) -> None:
    result = _run(settings_path, "--show", "404")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "'404'" in errors[0]


def test_an_unknown_source_is_one_error_line_naming_the_known_ones(settings_path: Path) -> None:
    result = _run(settings_path, "--source", "nosuch")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "'nosuch'" in errors[0] and "zendesk" in errors[0]
