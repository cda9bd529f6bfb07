"""The sandbox's ground truth follows docs/metrics.md, shown on hand-made tickets and on the
desk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.model import Rating, User
from sandbox.desk.tickets import create_ticket, update_ticket

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
A, B, C = 11, 12, 13
CUSTOMER, OTHER = 21, 22
GROUP = 31


def _desk() -> Desk:
    desk = Desk(spec=DeskSpec(now=NOW, tickets=1), now=NOW)
    for uid, name in ((A, "Ann"), (B, "Bob"), (C, "Cid")):
        desk.users[uid] = User(uid, name, f"{name.lower()}@x.example", "agent", T0, T0, "UTC",
                               is_staff=True)  # fmt: skip
    for uid in (CUSTOMER, OTHER):
        desk.users[uid] = User(uid, f"C{uid}", f"c{uid}@x.example", "end-user", T0, T0, "UTC")
    return desk


def _ticket(desk: Desk, tid: int, at: datetime, owner: int | None = None, who: int = CUSTOMER):
    return create_ticket(desk, tid, at, who, GROUP, owner, "help", "web", None, [])


def _row(rows: list[dict[str, Any]], agent: int | None) -> dict[str, Any]:
    wanted = None if agent is None else str(agent)
    return next(r for r in rows if r["agent_id"] == wanted)


def _report(desk: Desk, **kw: Any) -> list[dict[str, Any]]:
    return desk_truth.report_rows(desk, date(2024, 4, 1), date(2024, 6, 2), **kw)


def test_take_and_solve_is_a_transfer_for_a_and_a_resolution_for_b() -> None:
    desk = _desk()
    t = _ticket(desk, 1, T0)
    update_ticket(desk, t, T0 + timedelta(minutes=5), A, assignee=A, status="open")
    update_ticket(desk, t, T0 + timedelta(hours=1), B, assignee=B, status="solved")
    rows = _report(desk)
    a, b = _row(rows, A), _row(rows, B)
    assert (a["handled"], a["transferred_out"], a["resolved"]) == (1, 1, 0)
    assert (b["handled"], b["transferred_out"], b["resolved"], b["fcr"]) == (1, 0, 1, 1)
    assert a["transfer_pct"] == 100.0 and a["low_sample"] == "transfer"


def test_reopened_and_handed_on_is_no_transfer_and_no_fcr() -> None:
    desk = _desk()
    t = _ticket(desk, 1, T0, owner=A)
    update_ticket(desk, t, T0 + timedelta(hours=1), A, status="solved")
    update_ticket(desk, t, T0 + timedelta(hours=5), CUSTOMER, assignee=C, status="open")
    update_ticket(desk, t, T0 + timedelta(hours=6), C, status="solved")
    rows = _report(desk)
    a, c = _row(rows, A), _row(rows, C)
    assert (a["handled"], a["transferred_out"], a["resolved"]) == (1, 0, 0)
    assert (c["handled"], c["resolved"], c["fcr_eligible"], c["fcr"]) == (1, 1, 1, 0)


def test_transfer_counted_once_on_the_handled_day() -> None:
    desk = _desk()
    t = _ticket(desk, 1, T0)
    update_ticket(desk, t, T0 + timedelta(minutes=1), A, assignee=A)
    update_ticket(desk, t, T0 + timedelta(days=2), A, assignee=B)
    update_ticket(desk, t, T0 + timedelta(days=3), B, assignee=A)
    update_ticket(desk, t, T0 + timedelta(days=4), A, assignee=None)
    facts = desk_truth.daily_facts(desk)
    a = [f for f in facts if f["agent_id"] == str(A)]
    assert [(f["day"], f["handled"], f["transferred_out"]) for f in a] == [(T0.date(), 1, 1)]


def test_repeat_window_pending_and_deleted_repeats() -> None:
    desk = _desk()
    first = _ticket(desk, 1, T0, owner=A)
    update_ticket(desk, first, T0 + timedelta(hours=1), A, status="solved")
    repeat = _ticket(desk, 2, T0 + timedelta(hours=70), owner=B)  # within 72 h of resolution
    update_ticket(desk, repeat, T0 + timedelta(hours=71), B, status="solved")
    spam = _ticket(desk, 3, T0 + timedelta(hours=72), owner=None)
    update_ticket(desk, spam, T0 + timedelta(hours=72, minutes=5), A, status="deleted")
    recent = _ticket(desk, 4, NOW - timedelta(hours=10), owner=C, who=OTHER)
    update_ticket(desk, recent, NOW - timedelta(hours=9), C, status="solved")
    rows = _report(desk)
    assert _row(rows, A)["fcr"] == 0 and _row(rows, A)["fcr_eligible"] == 1
    assert _row(rows, B)["fcr"] == 1  # the deleted ticket is no repeat contact
    c = _row(rows, C)
    assert (c["resolved"], c["fcr_eligible"], c["fcr_pct"]) == (1, 0, None)  # pending
    late = _report(desk, high_water_mark=NOW + timedelta(days=3))
    assert _row(late, C)["fcr"] == 1
    assert _row(_report(desk, repeat_window_hours=24), A)["fcr"] == 1


def test_transfer_breaks_fcr_setting() -> None:
    desk = _desk()
    t = _ticket(desk, 1, T0, owner=A)
    update_ticket(desk, t, T0 + timedelta(hours=1), A, assignee=B)
    update_ticket(desk, t, T0 + timedelta(hours=2), B, status="solved")
    assert _row(_report(desk), B)["fcr"] == 1
    assert _row(_report(desk, transfer_breaks_fcr=True), B)["fcr"] == 0


def test_csat_latest_answer_on_first_day_and_unassigned_row() -> None:
    desk = _desk()
    t = _ticket(desk, 1, T0, owner=A)
    update_ticket(desk, t, T0 + timedelta(hours=1), A, status="solved")
    answered = T0 + timedelta(days=1)
    rating = Rating(1, 1, CUSTOMER, A, GROUP, "bad", answered, answered + timedelta(days=2))
    desk.ratings[1] = rating
    lone = _ticket(desk, 2, T0, owner=None, who=OTHER)
    update_ticket(desk, lone, T0 + timedelta(hours=2), C, status="solved")
    desk.ratings[2] = Rating(2, 2, OTHER, None, None, "good", answered, answered)
    desk.ratings[3] = Rating(3, 1, CUSTOMER, None, None, "offered", T0, T0)
    facts = desk_truth.daily_facts(desk)
    a = next(f for f in facts if f["agent_id"] == str(A) and f["csat_responses"])
    assert (a["day"], a["csat_responses"], a["csat_satisfied"]) == (answered.date(), 1, 0)
    rows = _report(desk)
    assert rows[-1]["agent_id"] is None and rows[-1]["agent_name"] is None
    assert (rows[-1]["resolved"], rows[-1]["csat_satisfied"], rows[-1]["handled"]) == (1, 1, 0)
    assert rows[-1]["csat_mean_pct"] == 100.0


def test_rows_have_the_report_keys_in_order() -> None:
    desk = _desk()
    t = _ticket(desk, 1, T0, owner=B)
    update_ticket(desk, t, T0 + timedelta(hours=1), B, status="solved")
    row = _report(desk)[0]
    assert list(row) == [
        "source", "agent_id", "agent_name", "agent_email", "handled", "transferred_out",
        "transfer_pct", "transfer_ci_low", "transfer_ci_high", "resolved", "fcr_eligible",
        "fcr", "fcr_pct", "fcr_ci_low", "fcr_ci_high", "csat_responses", "csat_satisfied",
        "csat_pct", "csat_ci_low", "csat_ci_high", "csat_mean_pct", "low_sample",
    ]  # fmt: skip
    assert row["source"] == "zendesk" and row["agent_id"] == str(B)
    assert (row["fcr_pct"], row["fcr_ci_low"], row["fcr_ci_high"]) == (100.0, 20.7, 100.0)
    assert row["csat_pct"] is None and row["low_sample"] == "transfer fcr"


@pytest.fixture(scope="module")
def big() -> Desk:
    return generate_desk(DeskSpec(now=NOW))


def test_truth_invariants_on_the_generated_desk(big: Desk) -> None:
    rows = desk_truth.report_rows(big, date(2024, 4, 1), date(2024, 6, 2))
    assert rows[-1]["agent_id"] is None
    names = [r["agent_name"].casefold() for r in rows[:-1]]
    assert names == sorted(names)
    for r in rows:
        assert r["transferred_out"] <= r["handled"]
        assert r["fcr"] <= r["fcr_eligible"] <= r["resolved"]
        assert r["csat_satisfied"] <= r["csat_responses"]
    facts = desk_truth.daily_facts(big)
    for f in facts:
        assert f["transferred_out"] <= f["handled"]
    leavers = [u for u in big.agents() if u.role == "end-user" or u.suspended or not u.active]
    counted = {r["agent_id"] for r in rows}
    assert all(str(u.id) in counted for u in leavers)
    total = sum(r["resolved"] for r in rows)
    resolved = sum(1 for t in big.tickets.values() if t.status in ("solved", "closed"))
    assert total == resolved


def test_truth_by_time_zone_moves_days_not_totals(big: Desk) -> None:
    utc = desk_truth.report_rows(big, date(2024, 1, 1), date(2024, 12, 1))
    tokyo = desk_truth.report_rows(big, date(2024, 1, 1), date(2024, 12, 1), timezone="Asia/Tokyo")
    assert sum(r["handled"] for r in utc) == sum(r["handled"] for r in tokyo)
    one_day_utc = desk_truth.report_rows(big, date(2024, 5, 20), date(2024, 5, 21))
    one_day_tokyo = desk_truth.report_rows(
        big, date(2024, 5, 20), date(2024, 5, 21), timezone="Asia/Tokyo"
    )
    assert one_day_utc != one_day_tokyo
