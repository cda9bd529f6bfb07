"""The command line: every command has help with an example; bad input and bad settings
give one `Error:` line that says what to fix, exit 1, and lose nothing already stored."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from deskmetrics.cli import main
from sandbox.desk import truth as desk_truth
from scoring import REPORT_COLUMNS
from tests.desks import TINY, TOKEN_ENV, Served, run_cli, served_desk, write_settings
from tests.static_server import serving
from warehouse.schema import interactions, open_engine

ROOT = Path(__file__).resolve().parent.parent
# Every command the CLI has, so a new one cannot go without help or a README entry.
COMMANDS = sorted(main.commands)


def _stored(served: Served) -> int:
    with served.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(interactions)).scalar() or 0)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output or "deskmetrics " in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"deskmetrics {command}" in (ROOT / "README.md").read_text()


def test_sync_then_report_as_csv_and_json(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        assert served.cli("sync").returncode == 0
        since, until = served.period()
        period = ["--since", str(since), "--until", str(until)]
        as_csv = served.cli("report", *period, "--format", "csv")
        as_json = served.cli("report", *period, "--format", "json")
        truth = desk_truth.report_rows(served.desk, since, until)
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert len(rows) - 1 == len(truth)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["handled"] == str(truth[0]["handled"])
    assert first["transfer_pct"] == (
        "" if truth[0]["transfer_pct"] is None else f"{truth[0]['transfer_pct']:.1f}"
    )
    assert json.loads(as_json.stdout) == truth


def test_missing_token_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "deskmetrics", "sync", "--config", str(tmp_path / "s.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert TOKEN_ENV in _one_error_line(result)


def _without_token(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    command = [sys.executable, "-m", "deskmetrics", args[0], "--config", str(tmp_path / "s.toml")]
    return subprocess.run(
        [*command, *args[1:]], capture_output=True, text=True, timeout=120, env=env
    )


READING_COMMANDS = {
    "sync": ("sync",),
    "backfill": ("backfill", "--source", "zendesk", "--since", "2026-01-01"),
    "run": ("run",),
}


@pytest.mark.parametrize("command", sorted(READING_COMMANDS))
def test_a_missing_token_creates_no_database(tmp_path: Path, command: str) -> None:
    result = _without_token(tmp_path, *READING_COMMANDS[command])
    assert TOKEN_ENV in _one_error_line(result)
    assert not (tmp_path / "w.sqlite").exists()


def test_a_missing_token_is_said_once(tmp_path: Path) -> None:
    result = _without_token(tmp_path, "sync")
    said = [line for line in result.stderr.splitlines() if TOKEN_ENV in line]
    assert len(said) == 1, result.stderr


def test_wrong_url_is_one_line_and_keeps_what_was_stored(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        assert served.cli("sync").returncode == 0
        before = _stored(served)
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        text = served.settings_path.read_text().replace(
            served.sandbox.base_url, f"http://127.0.0.1:{port}"
        )
        served.settings_path.write_text(text)
        result = served.cli("sync")
        line = _one_error_line(result)
        assert "cannot connect" in line and "base_url" in line
        assert _stored(served) == before


def test_wrong_token_is_one_line_that_never_shows_it(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        result = run_cli(
            ["sync", "--config", str(served.settings_path)], {TOKEN_ENV: "wrong-s3cret"}
        )
    line = _one_error_line(result)
    assert "401" in line and TOKEN_ENV in line
    assert "wrong-s3cret" not in result.stderr + result.stdout


def test_unknown_time_zone_is_one_line(tmp_path: Path) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9", "Mars/Base")
    line = _one_error_line(
        run_cli(
            [
                "report",
                "--config",
                str(tmp_path / "s.toml"),
                "--since",
                "2026-01-01",
                "--until",
                "2026-02-01",
            ]
        )
    )
    assert "timezone" in line and "Mars/Base" in line


def test_bad_date_is_one_line(tmp_path: Path) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    line = _one_error_line(
        run_cli(
            [
                "report",
                "--config",
                str(tmp_path / "s.toml"),
                "--since",
                "01/02/2026",
                "--until",
                "2026-02-01",
            ]
        )
    )
    assert "YYYY-MM-DD" in line


def test_malformed_record_is_one_line_and_keeps_what_was_stored(tmp_path: Path) -> None:
    good = {
        "id": 1,
        "status": "open",
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": "2026-01-05T10:00:00Z",
        "requester_id": 5,
        "generated_timestamp": 1,
    }
    bad = {**good, "id": 2, "created_at": "last tuesday"}
    export = "/api/v2/incremental/tickets/cursor.json"
    pages = [
        {"tickets": [good], "after_cursor": "c1", "after_url": None, "end_of_stream": False},
        {"tickets": [bad], "after_cursor": "c2", "after_url": None, "end_of_stream": True},
    ]
    users = {"users": [], "meta": {"has_more": False}, "links": {"next": None}}
    ratings = {"satisfaction_ratings": [], "meta": {"has_more": False}, "links": {}}
    routes = {
        export: pages,
        "/api/v2/users.json": [users],
        "/api/v2/incremental/ticket_events.json": [{"ticket_events": [], "end_of_stream": True}],
        "/api/v2/satisfaction_ratings": [ratings],
    }
    with serving(routes) as base_url:
        pages[0]["after_url"] = f"{base_url}{export}?cursor=c1"
        write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", base_url)
        result = run_cli(["sync", "--config", str(tmp_path / "s.toml")], {TOKEN_ENV: "t"})
    line = _one_error_line(result)
    assert re.search(r"ticket record id=2.*created_at.*last tuesday", line)
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(select(interactions.c.interaction_id)).scalars().all() == ["1"]


def _two_sources(served: Served, second_url: str) -> None:
    text = served.settings_path.read_text()
    second = (
        text[text.index("[sources.zendesk]") :]
        .replace("[sources.zendesk]", "[sources.zendesk_emea]")
        .replace(served.sandbox.base_url, second_url)
    )
    served.settings_path.write_text(text + second)


def test_a_failing_source_does_not_stop_the_others(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        _two_sources(served, "http://127.0.0.1:9")
        result = served.cli("sync")
        assert "zendesk_emea" in _one_error_line(result)
        assert _stored(served) == len(served.desk.tickets)


def test_two_instances_report_by_agent_and_by_person(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        _two_sources(served, served.sandbox.base_url)
        assert served.cli("sync").returncode == 0
        since, until = served.period()
        period = ["--since", str(since), "--until", str(until), "--format", "json"]
        by_agent = json.loads(served.cli("report", *period).stdout)
        by_person = json.loads(served.cli("report", *period, "--by", "person").stdout)
        truth = desk_truth.report_rows(served.desk, since, until)
    assert {row["source"] for row in by_agent} == {"zendesk", "zendesk_emea"}
    assert len(by_agent) == 2 * len(truth)
    people = {row["agent_email"]: row for row in by_person if row["agent_email"]}
    for agent in truth:
        if agent["agent_email"] is None:
            continue
        person = people[agent["agent_email"].lower()]
        assert person["source"] == "zendesk+zendesk_emea"
        assert person["handled"] == 2 * agent["handled"]
        assert person["agent_id"] == f"zendesk:{agent['agent_id']}+zendesk_emea:{agent['agent_id']}"


def test_a_backfill_from_the_future_is_refused(tmp_path: Path) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    line = _one_error_line(
        run_cli(
            [
                "backfill",
                "--config",
                str(tmp_path / "s.toml"),
                "--source",
                "zendesk",
                "--since",
                "2999-01-01",
            ],
            {TOKEN_ENV: "t"},
        )
    )
    assert "future" in line


def test_status_shows_each_stream_the_high_water_mark_and_the_last_error(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        assert served.cli("sync").returncode == 0
        served.sandbox.inject("503", times=20, path_contains="satisfaction_ratings")
        assert served.cli("sync").returncode == 1
        status = served.cli("status")
    assert status.returncode == 0
    # The second pass got through three streams, not the ratings: not "complete up to".
    for stream in ("agents", "tickets", "events"):
        assert f"zendesk {stream}: pass 2 finished" in status.stdout
    assert "zendesk ratings: pass 1 finished" in status.stdout
    assert "zendesk: pass 2 not finished (ratings to go)" in status.stdout
    assert "zendesk: complete up to" not in status.stdout
    assert "LAST ERROR" in status.stdout and "503" in status.stdout
    assert "sync zendesk failed" in status.stdout


def test_status_says_complete_once_every_stream_of_the_pass_finished(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        assert served.cli("sync").returncode == 0
        status = served.cli("status")
    assert "zendesk: complete up to" in status.stdout
    assert "(pass 1 finished)" in status.stdout


def test_debug_logs_and_the_database_never_hold_the_token(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        result = run_cli(["-v", "sync", "--config", str(served.settings_path)], served.environ)
        token = served.sandbox.token
        database = b"".join(f.read_bytes() for f in tmp_path.glob("warehouse.sqlite*"))
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr
    assert token not in result.stderr + result.stdout
    assert token.encode() not in database


def test_report_of_an_unknown_source_names_the_known_ones(tmp_path: Path) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    args = ["report", "--config", str(tmp_path / "s.toml"), "--since", "2026-01-01",
            "--until", "2026-02-01", "--source", "salesforce"]  # fmt: skip
    line = _one_error_line(run_cli(args))
    assert "'salesforce'" in line and "zendesk" in line


def test_a_new_database_logs_no_third_party_info_lines(tmp_path: Path) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    result = run_cli(["status", "--config", str(tmp_path / "s.toml")])
    assert "alembic" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("option", "named"),
    [("--wide", "--format table only"), ("--raw-csv", "--format csv only")],
)
def test_an_option_the_page_does_not_use_is_refused_in_one_line(
    tmp_path: Path, option: str, named: str
) -> None:
    write_settings(tmp_path / "s.toml", tmp_path / "w.sqlite", "http://127.0.0.1:9")
    page = tmp_path / "page.html"
    args = ["report", "--config", str(tmp_path / "s.toml"), "--since", "2026-10-01",
            "--until", "2026-11-01", "--format", "html", "--out", str(page), option]  # fmt: skip
    line = _one_error_line(run_cli(args))
    assert option in line and named in line and "--format html" in line
    assert not page.exists()
