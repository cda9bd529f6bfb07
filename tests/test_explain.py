"""`deskmetrics explain`: docs/metrics.md's worked example, stored in a real SQLite warehouse
and explained by the installed command, lists the credits the page's "Explained" table
shows, with the reasons it quotes, links into the source, and totals equal to the page's
report; a ledger that disagrees with the facts is an error."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.desks import run_cli, write_settings
from tests.test_docs import AGENTS, SOURCE, WEEK, _cell, _histories, _moment, _page, _table
from warehouse.day_marks import DirtyRule
from warehouse.schema import credit_ledger, open_engine
from warehouse.store import store_page

SANDBOX = "http://127.0.0.1:9"  # a base_url as the sandbox's; nothing is requested
PERIOD = ["--since", "2024-05-06", "--until", "2024-05-08"]


@pytest.fixture(scope="module")
def scored_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding the worked example, scored: built once, each test gets a copy."""
    folder = tmp_path_factory.mktemp("example")
    database = folder / "example.sqlite"
    engine = open_engine(f"sqlite:///{database}")
    found = re.search(r"high-water mark is \*\*(\w{3} \d\d:\d\d)\*\*", _page())
    assert found
    records: list[Any] = list(AGENTS.values())
    for history in _histories(_table("The desk")):
        records += [history.interaction, *history.ownership, *history.statuses, *history.ratings]
    rule = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
    store_page(engine, SOURCE, "tickets", records, {}, rule, _moment(found[1]), _moment(found[1]))
    engine.dispose()
    settings = folder / "settings.toml"
    write_settings(settings, database, SANDBOX)
    assert run_cli(["score", "--config", str(settings)]).returncode == 0
    return database


@pytest.fixture
def example(scored_example: Path, tmp_path: Path) -> Path:
    """Settings of a copy of the scored worked example (a test may change its copy)."""
    database = tmp_path / "example.sqlite"
    shutil.copyfile(scored_example, database)
    settings = tmp_path / "settings.toml"
    write_settings(settings, database, SANDBOX)
    return settings


def explained(settings: Path, who: str, *more: str) -> dict[str, Any]:
    done = run_cli(["explain", "--config", str(settings), "--agent", who, *PERIOD, *more])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_explain_lists_the_credits_of_the_worked_example(example: Path) -> None:
    day_name = {day.isoformat(): name for name, day in WEEK.items()}
    shown = []
    for name, agent in AGENTS.items():
        assert agent.email is not None
        for credit in explained(example, agent.email, "--format", "json")["credits"]:
            shown.append(
                {
                    "agent": name,
                    "day": day_name[credit["day"]],
                    "metric": credit["metric"],
                    "ticket": credit["interaction_id"],
                    "verdict": credit["verdict"],
                }
            )
    assert sorted(shown, key=str) == sorted(_table("Explained"), key=str)


def test_explains_totals_are_the_report_rows_of_the_worked_example(example: Path) -> None:
    printed = {line["column"]: line for line in _table("The report")}
    for name, agent in AGENTS.items():
        found = explained(example, agent.agent_id, "--format", "json")
        assert found["agrees"] is True
        for total in found["totals"]:
            assert total["credits"] == total["report"]
            assert _cell(total["credits"]) == printed[total["column"]][name]


def test_explains_reasons_are_those_the_page_quotes(example: Path) -> None:
    reasons = {
        c["interaction_id"]: c["reason"]
        for c in explained(example, "101", "--metric", "fcr", "--format", "json")["credits"]
        + explained(example, "102", "--metric", "fcr", "--format", "json")["credits"]
    }
    quoted = re.findall(r"`(resolved at [^`]+|… FCR pending[^`]+)`", _page().replace("\n", " "))
    assert reasons["2"] in quoted
    assert reasons["3"].endswith(quoted[-1].removeprefix("…").strip())


def test_explain_links_each_ticket_into_the_source(example: Path) -> None:
    credits = explained(example, "ben@example.com", "--metric", "transfer", "--format", "json")
    assert {c["link"] for c in credits["credits"]} == {
        f"{SANDBOX}/agent/tickets/1",
        f"{SANDBOX}/agent/tickets/2",
    }


def test_the_explain_table_says_the_credits_add_up_to_the_report_row(example: Path) -> None:
    done = run_cli(["explain", "--config", str(example), "--agent", "ana@example.com", *PERIOD])
    assert done.returncode == 0, done.stderr
    assert "4 credits add up to the report row: handled 3, transferred_out 2" in done.stdout


def test_explain_exits_1_when_the_ledger_disagrees_with_the_facts(example: Path) -> None:
    engine = open_engine(f"sqlite:///{example.parent / 'example.sqlite'}")
    with engine.begin() as conn:
        conn.execute(
            update(credit_ledger)
            .where(credit_ledger.c.interaction_id == "4")
            .values(transferred_out=0)
        )
    engine.dispose()
    done = run_cli(["explain", "--config", str(example), "--agent", "101", *PERIOD])
    assert done.returncode == 1
    assert done.stderr.startswith("Error: the credits of 101 do not add up to the report row")
    assert "transferred_out 1 (report: 2)" in done.stderr


def test_explain_of_an_agent_without_a_row_is_one_error_line(example: Path) -> None:
    done = run_cli(["explain", "--config", str(example), "--agent", "nobody@example.com", *PERIOD])
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "has no row in the report" in done.stderr


def test_explain_by_person_names_the_persons_credits(example: Path) -> None:
    found = explained(example, "ana@example.com", "--by", "person", "--format", "json")
    assert found["agent_id"] == "zendesk:101" and found["agrees"] is True
    assert len(found["credits"]) == 4
