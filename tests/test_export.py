"""`deskmetrics export` (deskmetrics/export.py): files read back equal to the report, in CSV
and Parquet; agent and customer text that a spreadsheet would run is neutralised in CSV
unless --raw-csv; the unassigned row has an empty agent_id everywhere; Parquet without
pyarrow is an error naming the extra."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from deskmetrics.cli import main
from interactions import Agent, Interaction, OwnershipChange, Rating, StatusChange
from scoring import REPORT_COLUMNS
from tests.desks import write_settings
from warehouse.day_marks import DirtyRule
from warehouse.schema import open_engine
from warehouse.store import store_page

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = ["--since", "2026-03-02", "--until", "2026-03-03"]
NAMES = {"1": '=HYPERLINK("http://x")', "2": "Ann Lee", "3": "@risk"}
COMMENT = "=cmd|' /C calc'!A0"


def _ticket(number: str, owner: str | None, deleted: bool = False) -> list[object]:
    solved = T0 + timedelta(hours=1)
    status = "deleted" if deleted else "solved"
    records: list[object] = [
        Interaction("zendesk", number, T0, solved, status, not deleted, deleted,
                    f"customer{number}", owner, None, solved),
        StatusChange("zendesk", f"s{number}", number, f"u{number}", solved, "open", "solved",
                     False, True),
    ]  # fmt: skip
    if owner is not None:
        records.append(OwnershipChange("zendesk", f"o{number}", number, "u0", T0, None, owner))
    return records


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    """A scored warehouse: agents with formula-like names each solved a ticket on
    2026-03-02, one ticket was solved with no owner, two were rated (one of them deleted)."""
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", "http://127.0.0.1:9")
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    records: list[object] = []
    for agent, name in NAMES.items():
        email = "+cmd@x.io" if agent == "1" else f"a{agent}@x.io"
        records.append(Agent("zendesk", agent, name, email, "agent", True, T0))
        records.extend(_ticket(agent, agent))
    records.extend(_ticket("10", None))
    records.extend(_ticket("11", "2", deleted=True))
    rated = T0 + timedelta(hours=2)
    records.append(Rating("zendesk", "r1", "2", "2", "good", COMMENT, rated, rated))
    records.append(Rating("zendesk", "r2", "11", "2", "bad", "gone", rated, rated))
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    mark = T0 + timedelta(days=10)  # every repeat window closed: FCR is settled
    store_page(engine, "zendesk", "tickets", records, {"n": 1}, rule, mark, now=mark)
    engine.dispose()
    assert _cli("score", path).exit_code == 0
    return path


def _cli(command: str, settings_path: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, [command, "--config", str(settings_path), *args])
    assert result.exit_code == 0, result.output
    return result


def _export(settings_path: Path, out: Path, *args: str) -> Result:
    return _cli("export", settings_path, "--out", str(out), *args)


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_a_csv_report_export_reads_back_equal_to_the_report(
    settings_path: Path, tmp_path: Path
) -> None:
    report = _cli("report", settings_path, *PERIOD, "--format", "csv").stdout
    _export(settings_path, tmp_path / "r.csv", "--what", "report", *PERIOD)
    assert (tmp_path / "r.csv").read_text(encoding="utf-8") == report
    assert len(report.splitlines()) == 1 + 4  # three agents and the unassigned row


def test_a_parquet_report_export_reads_back_equal_to_the_report(
    settings_path: Path, tmp_path: Path
) -> None:
    report = json.loads(_cli("report", settings_path, *PERIOD, "--format", "json").stdout)
    _export(settings_path, tmp_path / "r.parquet", "--what", "report", "--format", "parquet",
            *PERIOD)  # fmt: skip
    table = pq.read_table(tmp_path / "r.parquet")
    assert tuple(table.column_names) == REPORT_COLUMNS
    assert table.to_pylist() == report
    assert str(table.schema.field("handled").type) == "int64"
    assert str(table.schema.field("fcr_pct").type) == "double"


def test_formula_like_names_are_neutralised_in_a_csv_export(
    settings_path: Path, tmp_path: Path
) -> None:
    _export(settings_path, tmp_path / "f.csv", "--what", "facts")
    rows = _csv(tmp_path / "f.csv")
    names = {row["agent_id"]: (row["agent_name"], row["agent_email"]) for row in rows}
    assert names["1"] == ('\'=HYPERLINK("http://x")', "'+cmd@x.io")
    assert names["3"] == ("'@risk", "a3@x.io")
    assert names["2"] == ("Ann Lee", "a2@x.io")


def test_a_customer_comment_is_neutralised_and_raw_csv_keeps_it(
    settings_path: Path, tmp_path: Path
) -> None:
    _export(settings_path, tmp_path / "safe.csv", "--what", "ratings")
    _export(settings_path, tmp_path / "raw.csv", "--what", "ratings", "--raw-csv")
    safe = _csv(tmp_path / "safe.csv")[0]
    raw = _csv(tmp_path / "raw.csv")[0]
    assert (safe["comment"], raw["comment"]) == (f"'{COMMENT}", COMMENT)


def test_ratings_of_deleted_interactions_are_left_out(settings_path: Path, tmp_path: Path) -> None:
    _export(settings_path, tmp_path / "r.parquet", "--what", "ratings", "--format", "parquet")
    rows = pq.read_table(tmp_path / "r.parquet").to_pylist()
    assert [(r["rating_id"], r["interaction_id"], r["score"]) for r in rows] == [
        ("r1", "2", "good")
    ]
    assert rows[0]["created_at"] == T0 + timedelta(hours=2)  # a UTC timestamp


def test_the_unassigned_row_has_an_empty_agent_id_in_every_format(
    settings_path: Path, tmp_path: Path
) -> None:
    _export(settings_path, tmp_path / "f.parquet", "--what", "facts", "--format", "parquet")
    _export(settings_path, tmp_path / "f.csv", "--what", "facts")
    facts = pq.read_table(tmp_path / "f.parquet").to_pylist()
    unassigned = [row for row in facts if row["agent_id"] is None]
    assert [(r["day"], r["resolved"], r["agent_name"]) for r in unassigned] == [
        (date(2026, 3, 2), 1, None)
    ]
    csv_rows = _csv(tmp_path / "f.csv")
    assert [row["agent_id"] for row in csv_rows if row["resolved"] == "1"].count("") == 1
    table = _cli("report", settings_path, *PERIOD).stdout
    assert "(unassigned)" in table


def test_facts_are_the_days_asked_for(settings_path: Path, tmp_path: Path) -> None:
    _export(settings_path, tmp_path / "f.csv", "--what", "facts", "--since", "2026-03-03")
    assert (tmp_path / "f.csv").read_text().splitlines()[1:] == []


def test_csv_goes_to_standard_output_with_dash(settings_path: Path) -> None:
    result = _cli("export", settings_path, "--what", "report", *PERIOD, "--out", "-")
    assert result.stdout == _cli("report", settings_path, *PERIOD, "--format", "csv").stdout


def test_parquet_without_pyarrow_is_an_error_naming_the_extra(
    settings_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if pyarrow were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = CliRunner().invoke(
        main, ["export", "--config", str(settings_path), "--what", "facts", "--format",
               "parquet", "--out", str(tmp_path / "f.parquet")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "pip install 'deskmetrics[parquet]'" in result.stderr
    assert not list(tmp_path.glob("*.parquet*"))


def test_a_report_export_needs_a_period(settings_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["export", "--config", str(settings_path), "--what", "report", "--out",
               str(tmp_path / "r.csv")],
    )  # fmt: skip
    assert result.exit_code == 1 and "--since and --until" in result.stderr


def test_a_csv_export_says_beside_it_what_it_is_of(settings_path: Path, tmp_path: Path) -> None:
    _export(settings_path, tmp_path / "r.csv", "--what", "report", *PERIOD)
    meta = json.loads((tmp_path / "r.csv.meta.json").read_text(encoding="utf-8"))
    assert meta == {
        "what": "report",
        "since": "2026-03-02",
        "until_exclusive": "2026-03-03",
        "timezone": "UTC",
        "min_sample": 30,
        "by": "agent",
        "sources": {
            "zendesk": {
                "high_water_mark": "2026-03-12T09:00:00+00:00",
                "provisional_from": "2026-03-09",
                "provisional_days": None,
            }
        },
    }


def test_a_parquet_export_carries_what_it_is_of_in_its_metadata(
    settings_path: Path, tmp_path: Path
) -> None:
    _export(settings_path, tmp_path / "f.parquet", "--what", "facts", "--format", "parquet",
            "--since", "2026-03-01", "--until", "2026-03-31")  # fmt: skip
    meta = json.loads(pq.read_schema(tmp_path / "f.parquet").metadata[b"deskmetrics"])
    assert (meta["what"], meta["since"], meta["until_exclusive"]) == (
        "facts", "2026-03-01", "2026-03-31"
    )  # fmt: skip
    assert (meta["timezone"], meta["min_sample"]) == ("UTC", 30)
    assert meta["sources"]["zendesk"]["provisional_days"] == {
        "first": "2026-03-09",
        "last": "2026-03-30",
    }


def test_the_ratings_export_names_the_agent_a_response_without_one_belongs_to(
    settings_path: Path, tmp_path: Path
) -> None:
    # A Salesforce case resolved by user 005A and answered 4 of 5: the answer records no
    # agent, so the response is its resolver's (docs/metrics.md "CSAT").
    solved, answered = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    records = [
        Interaction("salesforce", "500A", T0, solved, "Closed", True, False, "003A", "005A",
                    None, solved),
        OwnershipChange("salesforce", "o1", "500A", "u0", T0, None, "005A"),
        StatusChange("salesforce", "s1", "500A", "u1", solved, "New", "Closed", False, True),
        Rating("salesforce", "a0R1", "500A", None, "4", None, answered, answered),
    ]  # fmt: skip
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    store_page(engine, "salesforce", "cases", records, {"n": 1}, rule, now=T0)
    engine.dispose()
    _export(settings_path, tmp_path / "r.csv", "--what", "ratings", "--source", "salesforce")
    [row] = _csv(tmp_path / "r.csv")
    assert (row["agent_id"], row["response_agent_id"]) == ("", "005A")


def test_a_facts_export_after_a_time_zone_change_is_of_the_new_zones_days(
    settings_path: Path, tmp_path: Path
) -> None:
    # Facts are what a score wrote: like a report, the export scores first, so that its
    # days are those of the settings it says it is of (here 09:00 UTC is 23:00 the day
    # before in Honolulu, where each agent took their ticket).
    write_settings(settings_path, tmp_path / "w.sqlite", "http://127.0.0.1:9", "Pacific/Honolulu")
    _export(settings_path, tmp_path / "f.csv", "--what", "facts")
    handled = {
        (row["agent_id"], row["day"]) for row in _csv(tmp_path / "f.csv") if row["handled"] == "1"
    }
    assert handled == {(agent, "2026-03-01") for agent in NAMES}
