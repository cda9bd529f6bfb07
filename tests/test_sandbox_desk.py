"""The desk generator: determinism, realism (every scenario occurs), event shapes, advance."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from sandbox.desk import Desk, DeskSpec, advance_desk, generate_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.model import RESOLVED

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def desk() -> Desk:
    return generate_desk(DeskSpec(now=NOW))


def test_same_seed_same_desk_and_truth() -> None:
    spec = DeskSpec(now=NOW, tickets=400, customers=150, days=20)
    one, two = generate_desk(spec), generate_desk(spec)
    assert one.events == two.events
    assert [r.to_json("x") for r in one.ratings.values()] == [
        r.to_json("x") for r in two.ratings.values()
    ]
    period = (date(2024, 5, 1), date(2024, 6, 2))
    assert desk_truth.report_rows(one, *period) == desk_truth.report_rows(two, *period)
    other = generate_desk(DeskSpec(now=NOW, seed=8, tickets=400, customers=150, days=20))
    assert other.events != one.events


def test_spec_needs_an_aware_utc_now() -> None:
    with pytest.raises(ValueError):
        DeskSpec(now=datetime(2024, 6, 1))


def test_default_desk_size(desk: Desk) -> None:
    assert len(desk.tickets) == 3000
    staff = desk.agents()
    assert len(staff) == 25
    assert sum(1 for u in desk.users.values() if not u.is_staff) == 900
    assert len(desk.groups) == 5
    first = min(t.created_at for t in desk.tickets.values())
    assert NOW - timedelta(days=60) <= first


def test_every_scenario_occurs(desk: Desk) -> None:
    wanted = [
        "created_assigned",
        "first_assignment_from_group",
        "transfer_agent_to_agent",
        "transfer_to_group",
        "take_and_solve",
        "take_and_solve_from_group",
        "reopen",
        "reopen_and_handoff",
        "reassigned_while_solved",
        "closed",
        "pending",
        "hold",
        "repeat_within_window",
        "repeat_after_window",
        "deleted_repeat_contact",
        "solved_never_assigned",
        "deleted",
        "rating_offered",
        "rating_good",
        "rating_bad",
        "rating_with_comment",
        "rating_changed_good_to_bad",
        "agent_downgraded",
        "agent_suspended",
        "agent_deleted",
    ]
    missing = [s for s in wanted if desk.scenarios.get(s, 0) < 1]
    assert not missing


def test_scenarios_are_in_the_data(desk: Desk) -> None:
    """Check the main scenarios from the recorded history, not only the generator's tally."""
    steps = [(t, s) for t in desk.tickets.values() for s in t.history]
    # One update that takes a ticket from another agent and solves it.
    assert any(
        s.owner_before and s.owner_after and s.owner_before != s.owner_after
        and s.status_before not in RESOLVED and s.status_after == "solved"
        for _, s in steps
    )  # fmt: skip
    # Reopened and handed to another agent in the same update.
    assert any(
        s.status_before == "solved" and s.status_after == "open"
        and s.owner_before and s.owner_after and s.owner_before != s.owner_after
        for _, s in steps
    )  # fmt: skip
    # Back to the group, and created already assigned.
    assert any(s.owner_before and s.owner_after is None for _, s in steps)
    assert any(t.history[0].owner_after is not None for t in desk.tickets.values())
    # Solved without ever having an owner.
    assert any(
        t.status in RESOLVED and all(s.owner_after is None for s in t.history)
        for t in desk.tickets.values()
    )
    statuses = Counter(t.status for t in desk.tickets.values())
    assert {"new", "open", "pending", "solved", "closed", "deleted"} <= set(statuses)
    roles = {u.role for u in desk.agents()}
    assert roles == {"admin", "agent", "end-user"}
    assert any(u.suspended for u in desk.agents())
    assert any(not u.active for u in desk.agents())
    changed = [r for r in desk.ratings.values() if len(r.history) > 1]
    assert changed and all(r.updated_at > r.created_at for r in changed)


def test_events_shape_and_noise(desk: Desk) -> None:
    keys = {"id", "ticket_id", "timestamp", "created_at", "updater_id", "via", "event_type"}
    children = [c for e in desk.events for c in e["child_events"]]
    assert all(keys <= set(e) and e["event_type"] == "Audit" for e in desk.events)
    assignee = [c for c in children if "assignee_id" in c]
    assert {type(c["assignee_id"]) for c in assignee} >= {int, str, type(None)}
    assert any(c["assignee_id"] == "" for c in assignee)
    assert all("previous_value" not in c for c in children if c["event_type"] == "Create")
    types = {c["event_type"] for c in children}
    assert {"Create", "Change", "Comment", "Notification"} <= types
    assert any("priority" in c and c["event_type"] == "Change" for c in children)
    assert any("tags" in c and c["event_type"] == "Change" for c in children)


def test_times_are_in_the_past_and_increase_per_ticket(desk: Desk) -> None:
    ids = [e["id"] for e in desk.events]
    assert len(set(ids)) == len(ids)
    stamps = [e["timestamp"] for e in desk.events]
    assert stamps == sorted(stamps)
    assert max(stamps) < int(NOW.timestamp()) - 60
    last: dict[int, int] = {}
    for e in desk.events:
        assert e["timestamp"] > last.get(e["ticket_id"], -1)
        last[e["ticket_id"]] = e["timestamp"]
    for t in desk.tickets.values():
        assert t.generated_timestamp == last[t.id]


def test_deleted_tickets_keep_their_events(desk: Desk) -> None:
    deleted = [t for t in desk.tickets.values() if t.deleted]
    assert deleted
    with_events = {e["ticket_id"] for e in desk.events}
    assert all(t.id in with_events for t in deleted)


def test_advance_moves_the_clock_and_changes_things() -> None:
    desk = generate_desk(DeskSpec(now=NOW, tickets=600, customers=200, days=20))
    before = len(desk.events)
    old_versions = {t.id: t.generated_timestamp for t in desk.tickets.values()}
    summary = advance_desk(desk, 120, seed=3)
    assert desk.now == NOW + timedelta(minutes=120)
    for kind in ("created", "reassigned", "solved", "reopened", "rated", "deleted", "touched"):
        assert summary[kind], kind
    assert summary["rating_changed"]
    assert summary["repeat_contacts"] >= 1
    assert len(desk.events) > before
    start = int(NOW.timestamp())
    for tid in summary["touched"]:
        t = desk.tickets[tid]
        assert t.generated_timestamp > start
        assert t.generated_timestamp >= old_versions.get(tid, 0)
        assert t.generated_timestamp < int(desk.now.timestamp()) - 60
    with pytest.raises(ValueError):
        advance_desk(desk, 1, seed=3)


def test_advance_is_deterministic() -> None:
    spec = DeskSpec(now=NOW, tickets=300, customers=100, days=10)
    one, two = generate_desk(spec), generate_desk(spec)
    assert advance_desk(one, 60, seed=5) == advance_desk(two, 60, seed=5)
    assert one.events == two.events
