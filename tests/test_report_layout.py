"""A report people can read (deskmetrics/output.py `print_table`, `deskmetrics report`): the
table fits 100 columns, each rate with its sample size, intervals on --wide; the period,
time zone and database above it; the unassigned row labelled; a read-only database still
reports, with a warning; log lines never break into progress bars."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.zendesk import Page
from deskmetrics.cli import main
from deskmetrics.console import log_to, progress_bars
from deskmetrics.export import fresh_report
from deskmetrics.output import print_table
from deskmetrics.settings import settings_from
from interactions import Agent, Interaction, OwnershipChange, StatusChange
from scoring import ReportRow
from tests.desks import write_settings
from warehouse.day_marks import DirtyRule
from warehouse.schema import open_engine
from warehouse.store import store_page

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = ["--since", "2026-03-02", "--until", "2026-03-04"]
RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
LONG_NAME = "Bartholomew Maximilian Featherstonehaugh-Cholmondeley of Lower Wallop"


def _solved(number: str, owner: str | None, at: datetime) -> list[object]:
    solved = at + timedelta(hours=1)
    records: list[object] = [
        Interaction("zendesk", number, at, solved, "solved", True, False, f"c{number}", owner,
                    None, solved),
        StatusChange("zendesk", f"s{number}", number, f"u{number}", solved, "open", "solved",
                     False, True),
    ]  # fmt: skip
    if owner is not None:
        records.append(OwnershipChange("zendesk", f"o{number}", number, "u0", at, None, owner))
    return records


def _fill(url: str) -> None:
    """Two agents (one with a long name) and an unassigned resolution on 2026-03-02,
    scored; then a ticket of 2026-03-03 stored and not scored (a dirty day)."""
    engine = open_engine(url)
    records: list[object] = [
        Agent("zendesk", "1", LONG_NAME, "b@x.io", "agent", True, T0),
        Agent("zendesk", "2", "Ann Lee", "a@x.io", "agent", True, T0),
        *_solved("1", "1", T0),
        *_solved("2", "2", T0),
        *_solved("3", None, T0),
    ]
    mark = T0 + timedelta(days=10)
    store_page(engine, "zendesk", "tickets", records, {"n": 1}, RULE, mark, now=mark)
    settings = settings_from({"database": {"url": url}, "sources": {"zendesk": {}}})
    assert fresh_report(engine, settings, T0.date(), T0.date() + timedelta(days=2)).rows
    store_page(engine, "zendesk", "tickets", _solved("4", "2", T0 + timedelta(days=1)),
               {"n": 2}, RULE, now=mark)  # fmt: skip
    engine.dispose()


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    _fill(f"sqlite:///{tmp_path / 'w.sqlite'}")
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", "http://127.0.0.1:9", "UTC")
    return path


def _report(settings_path: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["report", "--config", str(settings_path), *PERIOD, *args])
    assert result.exit_code == 0, result.output
    return result


def _widest(output: str) -> int:
    return max(cell_len(line) for line in output.splitlines())


def test_the_table_fits_100_columns(settings_path: Path) -> None:
    shown = _report(settings_path).stdout
    assert _widest(shown) <= 100
    assert "Featherstonehaugh" in shown  # a long name wraps, it is not cut


def test_each_rate_is_shown_with_its_sample_size(settings_path: Path) -> None:
    shown = _report(settings_path).stdout
    assert re.search(r"Ann Lee\s+2\s+0\.0% of 2\*\s+100\.0% of 2\*", shown), shown
    assert "95 % CI" not in shown


def test_the_footnote_gives_the_min_sample_value(settings_path: Path) -> None:
    shown = _report(settings_path).stdout
    assert re.search(r"\* n below\s+30\s+\(report\.min_sample\)", shown), shown


def test_the_heading_says_how_far_each_source_is_read_and_that_its_days_are_settled(
    settings_path: Path,
) -> None:
    shown = _report(settings_path).stdout
    assert "zendesk: read up to 2026-03-12 09:00 UTC; every day shown is settled" in shown


def test_wide_adds_the_intervals(settings_path: Path) -> None:
    shown = _report(settings_path, "--wide").stdout
    assert "95 % CI" in shown and "low sample" in shown
    assert re.search(r"0\.0% of 2\*\s+0\.0-65\.8", shown), shown  # Wilson, 0 of 2


def test_the_heading_names_the_period_time_zone_and_database(settings_path: Path) -> None:
    lines = _report(settings_path).stdout.splitlines()
    assert lines[0] == "deskmetrics report: 2026-03-02 to 2026-03-03 (local days in UTC)"
    # A long database path folds onto further lines rather than widening the output.
    source_line = lines.index("source: zendesk")
    database = "".join(lines[1:source_line])
    assert database.startswith("database: sqlite:///") and database.endswith("w.sqlite")


def test_the_unassigned_row_is_labelled_and_last(settings_path: Path) -> None:
    shown = _report(settings_path).stdout.splitlines()
    rows = [line for line in shown if re.search(r"\d% of \d", line)]
    assert rows[-1].lstrip().startswith("(unassigned)")


def test_a_read_only_sqlite_database_reports_with_a_warning(
    settings_path: Path, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'w.sqlite'}"
    read_only = f"sqlite:///file:{tmp_path / 'w.sqlite'}?mode=ro&uri=true"
    settings_path.write_text(settings_path.read_text().replace(database, read_only))
    result = _report(settings_path, "--format", "csv")
    assert "read-only" in result.stderr and "1 days waiting to be scored" in result.stderr
    assert len(result.stdout.splitlines()) == 1 + 3  # the figures as last scored


def test_a_read_only_database_reports_when_min_sample_changed_since_its_views(
    settings_path: Path, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'w.sqlite'}"
    read_only = f"sqlite:///file:{tmp_path / 'w.sqlite'}?mode=ro&uri=true"
    settings = settings_path.read_text().replace(database, read_only)
    settings_path.write_text(settings + "[report]\nmin_sample = 20\n")
    result = _report(settings_path, "--format", "csv")
    assert "keep the low-sample threshold they were written with" in result.stderr
    assert len(result.stdout.splitlines()) == 1 + 3  # the figures as last scored


def test_score_on_a_read_only_database_is_one_error_line(
    settings_path: Path, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'w.sqlite'}"
    read_only = f"sqlite:///file:{tmp_path / 'w.sqlite'}?mode=ro&uri=true"
    settings_path.write_text(settings_path.read_text().replace(database, read_only))
    result = CliRunner().invoke(main, ["score", "--config", str(settings_path)])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "is read-only: score writes" in errors[0]


def test_wide_is_for_the_table_only(settings_path: Path) -> None:
    args = ["report", "--config", str(settings_path), *PERIOD, "--format", "csv", "--wide"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "--wide applies to --format table only" in result.stderr


def test_a_read_only_postgresql_database_reports_with_a_warning(
    postgres_database_url: str,
) -> None:
    _fill(postgres_database_url)
    name = make_url(postgres_database_url).database
    admin = create_engine(postgres_database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    engine = open_engine(postgres_database_url)
    settings = settings_from({"sources": {"zendesk": {}}})
    try:
        found = fresh_report(engine, settings, T0.date(), T0.date() + timedelta(days=2))
    finally:
        engine.dispose()
    assert found.warning is not None and "1 days waiting" in found.warning
    assert [row.handled for row in found.rows] == [1, 1, 0]  # as last scored


# Any rows, any names: the compact table never passes 100 columns.

_names = st.text(min_size=0, max_size=80)
_rates = st.one_of(st.none(), st.floats(0, 100).map(lambda x: round(x, 1)))
_counts = st.integers(0, 10**6)


@st.composite
def _rows(draw: st.DrawFn) -> ReportRow:
    pct = [draw(_rates) for _ in range(3)]
    return ReportRow(
        draw(st.sampled_from(["zendesk", "zendesk_emea", "salesforce+zendesk_emea"])),
        draw(st.one_of(st.none(), _names)), draw(st.one_of(st.none(), _names)), None,
        draw(_counts), draw(_counts), pct[0], pct[0], pct[0],
        draw(_counts), draw(_counts), draw(_counts), pct[1], pct[1], pct[1],
        draw(_counts), draw(_counts), pct[2], pct[2], pct[2], draw(_rates),
        draw(st.sampled_from(["", "transfer", "transfer fcr csat"])),
    )  # fmt: skip


def _rate_words(pct: float | None, sample: int, flagged: bool) -> list[str]:
    """How a rate reads in the table: `12.5% of 40`, with `*` for a low sample."""
    return [] if pct is None else [f"{pct:.1f}%", "of", f"{sample}{'*' if flagged else ''}"]


def _figures(row: ReportRow) -> list[str]:
    """Every figure of a row in the compact table, as whitespace-separated words."""
    low = row.low_sample.split()
    mean = [] if row.csat_mean_pct is None else [f"{row.csat_mean_pct:.1f}"]
    return [
        str(row.handled),
        *_rate_words(row.transfer_pct, row.handled, "transfer" in low),
        *_rate_words(row.fcr_pct, row.fcr_eligible, "fcr" in low),
        *_rate_words(row.csat_pct, row.csat_responses, "csat" in low),
        *mean,
    ]


@given(st.lists(_rows(), max_size=6), st.sampled_from([80, 100]))
def test_any_report_table_fits_its_terminal_and_cuts_no_figure(
    rows: list[ReportRow], width: int
) -> None:
    buffer = io.StringIO()
    print_table(rows, Console(file=buffer, width=width), ["deskmetrics report: a period"])
    shown = buffer.getvalue()
    assert _widest(shown) <= width
    words = set(shown.split())
    assert all(set(_figures(row)) <= words for row in rows), shown


TWO_SOURCES = [
    ReportRow("salesforce", "005A", LONG_NAME, None, 1234, 12, 1.0, 0.5, 1.7, 800, 700, 650,
              92.9, 90.7, 94.6, 1234, 900, 72.9, 70.4, 75.3, 81.2, ""),
    ReportRow("zendesk", "7", "Ann Lee", None, 99, 12, 12.1, 7.1, 20.0, 80, 70, 65, 92.9,
              84.3, 96.9, 134, 90, 67.2, 58.8, 74.6, 70.0, ""),
]  # fmt: skip


def test_the_table_at_80_columns_breaks_figures_at_their_spaces_and_cuts_none() -> None:
    buffer = io.StringIO()
    print_table(TWO_SOURCES, Console(file=buffer, width=80), ["deskmetrics report: a period"])
    shown = buffer.getvalue()
    assert _widest(shown) <= 80 and "…" not in shown
    assert "salesforce" in shown.split()  # a source name is not broken either
    assert all(set(_figures(row)) <= set(shown.split()) for row in TWO_SOURCES), shown


def test_the_table_at_100_columns_shows_each_rate_on_one_line() -> None:
    buffer = io.StringIO()
    print_table(TWO_SOURCES, Console(file=buffer, width=100), ["deskmetrics report: a period"])
    shown = buffer.getvalue()
    assert _widest(shown) <= 100
    assert re.search(r"Ann Lee\s+99\s+12\.1% of 99\s+92\.9% of 70\s+67\.2% of 134\s+70\.0", shown)


def test_wide_in_a_100_column_terminal_keeps_every_row_on_one_line_and_cuts_nothing() -> None:
    buffer = io.StringIO()
    print_table(TWO_SOURCES, Console(file=buffer, width=100), ["a period"], wide=True)
    shown = buffer.getvalue()
    assert "…" not in shown
    assert re.search(
        r"zendesk\s+Ann Lee\s+99\s+12\.1% of 99\s+7\.1-20\.0\s+80\s+92\.9% of 70\s+"
        r"84\.3-96\.9\s+67\.2% of 134\s+58\.8-74\.6\s+70\.0 *\n",
        shown,
    ), shown


# Logs and progress bars


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.usefixtures("root_logging")
def test_a_log_line_during_progress_bars_is_printed_above_them_whole() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    log_to(console, logging.INFO)
    page = Page("tickets", (), {}, False, reached=T0, read=1000)
    with progress_bars(console) as update:
        update("tickets", page, T0 + timedelta(days=1))
        logging.getLogger("deskmetrics.test").warning("a line of its own")
        update("tickets", Page("tickets", (), {}, True, reached=T0 + timedelta(days=1)), None)
    lines = re.split(r"[\r\n]", ANSI.sub("", buffer.getvalue()))
    logged = [line for line in lines if "a line of its own" in line]
    assert len(logged) == 1
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING deskmetrics\.test: a line of its own\s*",
        logged[0],
    ), logged


def test_a_period_with_nothing_stored_says_how_to_read_it(settings_path: Path) -> None:
    args = ["report", "--config", str(settings_path), "--since", "2020-01-01"]
    result = CliRunner().invoke(main, [*args, "--until", "2020-02-01"])
    assert result.exit_code == 0
    assert "nothing stored for 2020-01-01 to 2020-01-31" in result.stderr
    assert "backfill --source NAME --since 2020-01-01 --until 2020-02-01" in result.stderr
