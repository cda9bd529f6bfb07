"""interactions/model.py `Agent`: "`active` is false once the source reports the person
suspended, deleted or downgraded; they keep counting for what they handled, under the name
and e-mail last known" (docs/metrics.md "Words": Agent).

Zendesk's agent list holds current agents only: an agent downgraded to end-user after a sync
leaves it, and `users/show_many` answers them with their new role; a user permanently
deleted is answered by nothing. Each test syncs a sandbox desk over real HTTP, makes agents
leave (sandbox/desk/people.py) and syncs again."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import select

from deskmetrics import pipeline
from sandbox.desk import agent_leaves
from sandbox.desk import truth as desk_truth
from sandbox.desk.model import User
from tests.desks import TINY, Served, served_desk
from warehouse.schema import agents

SHOW_MANY = "/api/v2/users/show_many.json"


def _busiest_current_agent(served: Served) -> User:
    """The listed, active agent who owns the most tickets: one whose counts a report shows."""
    owned = Counter(t.assignee_id for t in served.desk.tickets.values())
    current = [
        u for u in served.desk.agents() if u.role == "agent" and u.active and not u.suspended
    ]
    return max(current, key=lambda u: (owned[u.id], u.id))


def _stored(served: Served, user: User) -> tuple[str | None, str | None, str | None, bool]:
    with served.engine.connect() as conn:
        row = conn.execute(
            select(agents.c.name, agents.c.email, agents.c.role, agents.c.active).where(
                agents.c.agent_id == str(user.id)
            )
        ).one()
    return row.name, row.email, row.role, row.active


def _show_many_requests(served: Served) -> int:
    return served.sandbox.requests_by_path.get(SHOW_MANY, 0)


# How an agent leaves, and the role stored for them after: what Zendesk answers for them
# (a downgraded user is an end-user now), or, for a user it no longer answers at all
# (permanently deleted), the role last known.
LEAVING = {"downgraded": "end-user", "erased": "agent"}


@pytest.mark.parametrize(("how", "role"), LEAVING.items(), ids=LEAVING.keys())
def test_an_agent_who_left_after_a_sync_is_stored_inactive_under_the_name_last_known(
    tmp_path: Path, how: str, role: str
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.sync()
        leaver = _busiest_current_agent(served)
        assert _stored(served, leaver) == (leaver.name, leaver.email, "agent", True)
        agent_leaves(served.desk, leaver.id, how)
        served.sync()
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until)
        assert _stored(served, leaver) == (leaver.name, leaver.email, role, False)
    # They keep counting for what they handled, under their name.
    assert [asdict(row) for row in report] == desk_truth.report_rows(served.desk, since, until)
    assert any(row.agent_id == str(leaver.id) and row.handled for row in report)


def test_agents_no_longer_listed_are_looked_up_100_to_a_request_and_once(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **{**TINY, "agents": 130}) as served:
        served.sync()
        leavers = [
            u for u in served.desk.agents() if u.role == "agent" and u.active and not u.suspended
        ][:120]
        for leaver in leavers:
            agent_leaves(served.desk, leaver.id, "downgraded")
        before = _show_many_requests(served)
        served.sync()
        asked = _show_many_requests(served) - before
        served.sync()
        asked_again = _show_many_requests(served) - before - asked
        stored = [_stored(served, leaver)[2:] for leaver in leavers]
    assert len(leavers) == 120
    assert stored == [("end-user", False)] * 120
    assert (asked, asked_again) == (2, 0)


def test_a_look_up_that_fails_is_an_outage_status_reports(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        # Gone before the first read: an owner the agent list never holds, looked up.
        agent_leaves(served.desk, _busiest_current_agent(served).id, "downgraded")
        served.sandbox.inject("503", times=100, path_contains="show_many")
        assert served.cli("sync").returncode == 1
        status = served.cli("status", "--format", "json")
    assert status.returncode == 2, status.stdout
    (zendesk,) = [s for s in json.loads(status.stdout)["sources"] if s["source"] == "zendesk"]
    (step,) = [s for s in zendesk["streams"] if s["stream"] == "agent_lookup"]
    assert "show_many" in step["last_error"] and zendesk["health"] == "failing"
