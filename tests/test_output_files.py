"""What `export --out`, `report --meta` and `demo --db` do with a path that is already
something: a file is replaced whole or not at all, anything else is refused, and nothing is
deleted; and dates no command can work with. Through the real command line on a real
SQLite warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deskmetrics.cli import main
from deskmetrics.demo import run_demo
from interactions import InputError
from tests.desks import write_settings

PERIOD = ("--since", "2026-10-01", "--until", "2026-10-08")


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", "http://127.0.0.1:9")
    return path


def _run(settings_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [args[0], "--config", str(settings_path), *args[1:]])


def _error(result: Result) -> str:
    assert result.exit_code == 1 and result.exception is not None, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error: ")]
    return line


def test_an_export_into_a_named_pipe_is_refused_and_the_pipe_kept(
    settings_path: Path, tmp_path: Path
) -> None:
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    line = _error(_run(settings_path, "export", "--out", str(pipe), "--what", "facts"))
    assert "exists and is not a file" in line
    assert pipe.is_fifo() and not (tmp_path / "pipe.csv.meta.json").exists()


@pytest.mark.parametrize("target", ["folder", ""], ids=["a folder", "no name"])
def test_an_export_to_what_is_no_file_is_one_error_line(
    settings_path: Path, tmp_path: Path, target: str
) -> None:
    (tmp_path / "folder").mkdir()
    out = str(tmp_path / target) if target else ""
    line = _error(_run(settings_path, "export", "--out", out, "--what", "facts"))
    assert line.startswith("Error: --out ")


def test_an_export_whose_metadata_file_cannot_be_written_keeps_the_old_export(
    settings_path: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old.csv"
    old.write_text("the export of last month\n", encoding="utf-8")
    (tmp_path / "old.csv.meta.json").mkdir()  # in the way of the sidecar
    line = _error(_run(settings_path, "export", "--out", str(old), "--what", "facts"))
    assert "the metadata file" in line
    assert old.read_text(encoding="utf-8") == "the export of last month\n"


def test_a_report_page_into_a_folder_is_refused_with_exit_1(
    settings_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "page.html"
    out.mkdir()
    result = _run(settings_path, "report", *PERIOD, "--format", "html", "--out", str(out))
    assert "is a directory" in _error(result)  # click's own check, and exit 1 (not 2)
    assert out.is_dir()


def test_a_report_page_into_a_named_pipe_is_refused(settings_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    os.mkfifo(out)
    result = _run(settings_path, "report", *PERIOD, "--format", "html", "--out", str(out))
    assert "exists and is not a file" in _error(result)
    assert out.is_fifo()


def test_a_wrong_option_of_status_exits_3_as_unreadable_settings(settings_path: Path) -> None:
    result = _run(settings_path, "status", "--format", "yaml")
    assert result.exit_code == 3
    assert "Error: Invalid value for '--format'" in result.output


def test_a_report_meta_into_a_missing_folder_is_one_error_line(
    settings_path: Path, tmp_path: Path
) -> None:
    meta = tmp_path / "missing" / "m.json"
    result = _run(settings_path, "report", *PERIOD, "--format", "csv", "--meta", str(meta))
    assert "does not exist" in _error(result)


def test_the_demo_never_writes_over_an_existing_file(tmp_path: Path) -> None:
    precious = tmp_path / "warehouse.sqlite"
    precious.write_bytes(b"a warehouse of a year")
    with pytest.raises(InputError, match="exists: the demo writes a new database"):
        run_demo(precious, seed=7, tickets=20)
    assert precious.read_bytes() == b"a warehouse of a year"


def test_the_demo_never_writes_over_a_file_where_its_page_would_go(tmp_path: Path) -> None:
    report = tmp_path / "october.html"
    report.write_text("the October report")
    with pytest.raises(InputError, match="exists: the demo writes its manager's page"):
        run_demo(tmp_path / "october.sqlite", seed=7, tickets=20)
    assert report.read_text() == "the October report"
    assert not (tmp_path / "october.sqlite").exists()


def test_the_demo_names_its_db_option_for_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--db .*the folder .*missing does not exist"):
        run_demo(tmp_path / "missing" / "demo.sqlite", seed=7, tickets=20)


def test_the_demo_refuses_a_database_named_like_its_page(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"ends in \.html"):
        run_demo(tmp_path / "weird.html", seed=7, tickets=20)
    assert not (tmp_path / "weird.html").exists()


# --- dates a command cannot do anything with ------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        ("--since", "2026-11-01", "--until", "2026-10-01"),
        ("--until", "2026-10-01"),
        ("--since", "0001-01-01", "--until", "2026-10-01"),
    ],
    ids=["reversed", "until alone", "two thousand years"],
)
def test_a_score_window_it_cannot_score_is_one_error_line(
    settings_path: Path, window: tuple[str, ...]
) -> None:
    assert _error(_run(settings_path, "score", *window)).startswith("Error: --")


@pytest.mark.parametrize("since", ["0001-01-01", "0001-01-08"])
def test_a_page_whose_period_before_falls_off_the_calendar_is_one_error_line(
    settings_path: Path, tmp_path: Path, since: str
) -> None:
    out = tmp_path / "p.html"
    window = ("--since", since, "--until", "2026-11-01")
    result = _run(settings_path, "report", *window, "--format", "html", "--out", str(out))
    assert "outside the calendar" in _error(result)
    assert not out.exists()


# --- settings that leave nothing to read ---------------------------------------------------


def _nothing_enabled(settings_path: Path) -> Path:
    settings_path.write_text(settings_path.read_text() + "enabled = false\n")
    return settings_path


def test_a_sync_with_no_enabled_source_is_one_error_line(settings_path: Path) -> None:
    line = _error(_run(_nothing_enabled(settings_path), "sync"))
    assert "no enabled source in the settings" in line
    assert not (settings_path.parent / "w.sqlite").exists()


def test_check_fails_when_no_source_is_enabled(settings_path: Path) -> None:
    result = _run(_nothing_enabled(settings_path), "check")
    assert result.exit_code == 1
    assert "sources: FAILED: no enabled source in the settings" in result.output, result.output


def test_a_wrong_option_before_any_command_is_one_error_line() -> None:
    result = CliRunner().invoke(main, ["-x", "sync"])
    assert result.exit_code == 1 and result.stderr.startswith("Error: No such option '-x'")


def test_deskmetrics_alone_prints_its_help_and_exits_0() -> None:
    result = CliRunner().invoke(main, [], prog_name="deskmetrics")
    assert result.exit_code == 0 and "Usage: deskmetrics [OPTIONS] COMMAND" in result.stdout


# --- options given where they do nothing are refused, never ignored ------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("report", *PERIOD, "--format", "json", "--out", "x.json"), "--out applies to"),
        (("report", *PERIOD, "--format", "html"), "--format html needs --out FILE"),
        (("report", *PERIOD, "--weeks", "5"), "--weeks applies to --format html only"),
        (("export", "--what", "facts", "--by", "person", "--out", "-"), "--by applies to"),
        (("score", "--all", "--since", "2026-11-01"), "--all recomputes every day"),
    ],
    ids=["report --out with json", "html without --out", "--weeks with the table",
         "export --by with facts", "score --all with --since"],
)  # fmt: skip
def test_an_option_that_would_do_nothing_is_one_error_line(
    settings_path: Path, args: tuple[str, ...], said: str
) -> None:
    assert said in _error(_run(settings_path, *args))
