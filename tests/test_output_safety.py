"""Output is safe to look at (deskmetrics/output.py): names and e-mails are data, never
rich markup, terminal control or a spreadsheet formula. Through `deskmetrics report`
in-process and through the output functions."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from deskmetrics.cli import main
from deskmetrics.output import as_csv, print_table, spreadsheet_safe, visible
from interactions import Agent, Interaction, OwnershipChange
from scoring import ReportRow
from tests.desks import write_settings
from warehouse.day_marks import DirtyRule
from warehouse.schema import open_engine
from warehouse.store import store_page

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = ["--since", "2026-03-02", "--until", "2026-03-03"]
NAMES = {
    "1": '=HYPERLINK("http://x")',
    "2": "[/bold]",
    "3": "\x1b[31mred",
    "4": "[link=http://x]click[/link] [bold]b :smile:",
    "5": "\u202eevil\x7f\x9b",
}


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    """A warehouse where agents with hostile names each handled one ticket on 2026-03-02."""
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", "http://127.0.0.1:9")
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    records: list[object] = []
    for agent, name in NAMES.items():
        email = "+cmd@x.io" if agent == "1" else f"a{agent}@x.io"
        records.append(Agent("zendesk", agent, name, email, "agent", True, T0))
        records.append(
            Interaction("zendesk", agent, T0, T0, "open", False, False, "c", agent, None)
        )
        records.append(OwnershipChange("zendesk", f"o{agent}", agent, "u", T0, None, agent))
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    store_page(engine, "zendesk", "tickets", records, {"n": 1}, rule, now=T0)
    engine.dispose()
    return path


def _report(settings_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["report", "--config", str(settings_path), *PERIOD, *args])


def _csv_names(text: str) -> dict[str, dict[str, str]]:
    return {row["agent_id"]: row for row in csv.DictReader(io.StringIO(text))}


def test_the_table_prints_markup_in_names_literally(settings_path: Path) -> None:
    result = _report(settings_path)
    assert result.exit_code == 0, result.output
    for literal in ("[/bold]", "[link=http://x]click[/link]", "[bold]b", ":smile:"):
        assert literal in result.stdout


def test_the_table_shows_control_characters_escaped(settings_path: Path) -> None:
    result = _report(settings_path)
    assert "\\x1b[31mred" in result.stdout and "\\u202eevil\\x7f\\x9b" in result.stdout
    assert not {"\x1b", "\u202e", "\x7f", "\x9b"} & set(result.stdout)


def test_csv_neutralises_formulas_and_escapes_controls_in_text_cells(settings_path: Path) -> None:
    result = _report(settings_path, "--format", "csv")
    rows = _csv_names(result.stdout)
    assert rows["1"]["agent_name"] == '\'=HYPERLINK("http://x")'
    assert rows["1"]["agent_email"] == "'+cmd@x.io"
    assert rows["3"]["agent_name"] == "\\x1b[31mred"
    assert rows["1"]["handled"] == "1"
    assert "\x1b" not in result.stdout


def test_raw_csv_writes_names_exactly_as_stored(settings_path: Path) -> None:
    result = _report(settings_path, "--format", "csv", "--raw-csv")
    rows = _csv_names(result.stdout)
    assert {agent: rows[agent]["agent_name"] for agent in NAMES} == NAMES


def test_json_keeps_names_and_sends_no_control_character(settings_path: Path) -> None:
    result = _report(settings_path, "--format", "json")
    assert {row["agent_id"]: row["agent_name"] for row in json.loads(result.stdout)} == NAMES
    assert not {"\x1b", "\u202e", "\x7f", "\x9b"} & set(result.stdout)


def test_raw_csv_with_another_format_is_an_error(settings_path: Path) -> None:
    result = _report(settings_path, "--raw-csv")
    assert result.exit_code == 1 and "--raw-csv" in result.stderr


# The output functions


def _row(agent_id: str, name: str, mean: float | None = None) -> ReportRow:
    return ReportRow("zendesk", agent_id, name, None, 1, 0, 0.0, 0.0, 79.3, 0, 0, 0, None, None,
                     None, 1, 0, 0.0, 0.0, 79.3, mean, "transfer csat")  # fmt: skip


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_quoted(first: str) -> None:
    assert spreadsheet_safe(f"{first}1+1").startswith("'")


def test_ordinary_text_is_left_alone() -> None:
    for text in ("Ann Lee", "José Müller 😀", "ann+x@example.com", "a=b", ""):
        assert spreadsheet_safe(text) == text == visible(text)


def test_visible_escapes_c0_c1_del_and_bidi_marks() -> None:
    assert visible("a\x00\t\n\x1b\x7f\x85\x9f\u200f\u202a\u202e\u2066\u2069\u2028z") == (
        "a\\x00\\x09\\x0a\\x1b\\x7f\\x85\\x9f\\u200f\\u202a\\u202e\\u2066\\u2069\\u2028z"
    )


def test_only_text_columns_are_neutralised_never_figures() -> None:
    (_, line) = as_csv([_row("-7", "@risk", mean=-5.0)]).splitlines()
    cells = next(csv.reader([line]))
    assert cells[1:3] == ["'-7", "'@risk"]
    assert cells[20] == "-5.0"  # csat_mean_pct: a figure, never quoted


def test_print_table_to_a_terminal_sends_no_control_from_data() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200)
    print_table([_row("1", "\x1b]8;;http://x\x07link\x1b]8;;\x07 [/bold]")], console, "t")
    shown = buffer.getvalue()
    assert "\\x1b]8;;http://x\\x07link" in shown and "[/bold]" in shown
    assert "\x07" not in shown and "\x1b]8" not in shown
