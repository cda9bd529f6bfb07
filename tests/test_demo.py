"""`deskmetrics demo`: both sandboxes backfilled into one database, each source's rows equal
to its own desk's ground truth, and the people who work in both desks joined by e-mail."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pytest

from deskmetrics.demo import (
    DEMO_SOURCE,
    SALESFORCE_SOURCE,
    DemoResult,
    differences,
    run_demo,
)
from tests.desks import desk_now, run_cli

# Small desks: the demo's path whole, in a few seconds.
TICKETS = 300


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    database = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    return run_demo(database, seed=7, tickets=TICKETS, now=desk_now())


def test_the_demo_checks_both_sources_against_their_own_truth(demo: DemoResult) -> None:
    assert [check.source for check in demo.checks] == [DEMO_SOURCE, SALESFORCE_SOURCE]
    assert [check.differences for check in demo.checks] == [(), ()]
    assert demo.matches_truth


def test_the_demo_reports_the_agents_of_both_sources(demo: DemoResult) -> None:
    agents = {source: 0 for source in (DEMO_SOURCE, SALESFORCE_SOURCE)}
    for row in demo.rows:
        agents[row.source] += row.agent_id is not None
    assert all(count >= 20 for count in agents.values()), agents


def test_the_demo_joins_the_people_who_work_in_both_desks(demo: DemoResult) -> None:
    # Both desks share their first three agents (deskmetrics/demo.py SHARED_STAFF), and only
    # them: the desks' own agents have addresses of their own desk.
    assert [(p.source, p.agent_name, p.agent_email) for p in demo.people] == [
        ("salesforce+zendesk", "Aiko Lindqvist", "aiko.lindqvist@acme-support.example"),
        ("salesforce+zendesk", "Bruno Ferreira", "bruno.ferreira@acme-support.example"),
        ("salesforce+zendesk", "Camille Laurent", "camille.laurent@acme-support.example"),
    ]
    for person in demo.people:
        members = [r for r in demo.rows if (r.agent_email or "").casefold() == person.agent_email]
        assert sorted(r.source for r in members) == sorted((DEMO_SOURCE, SALESFORCE_SOURCE))
        assert person.handled == sum(r.handled for r in members)
    assert "3 people work in both desks" in demo.summary


def test_a_changed_cell_is_a_difference(demo: DemoResult) -> None:
    row = next(r for r in demo.rows if r.source == SALESFORCE_SOURCE and r.agent_id)
    truth = [{**asdict(row), "handled": row.handled + 1}]
    assert differences([row], truth) == [
        f"('salesforce', '{row.agent_id}') handled: report {row.handled}, truth {row.handled + 1}"
    ]
    missing = differences([replace(row, agent_id="other")], truth)
    assert f"('salesforce', '{row.agent_id}'): only in truth" in missing


def test_the_demo_command_prints_both_sources_and_the_people(tmp_path: Path) -> None:
    ran = run_cli(["demo", "--tickets", "200", "--db", str(tmp_path / "demo.sqlite")])
    assert ran.returncode == 0, ran.stderr
    assert "people in both desks" in ran.stdout
    said = " ".join(ran.stderr.split())  # the summary wraps at the console's width
    for source, generated in ((DEMO_SOURCE, "tickets"), (SALESFORCE_SOURCE, "cases")):
        assert f"demo: {source}: 200 generated {generated} read with" in said
    assert said.count("its rows match the ground truth in every cell") == 2
