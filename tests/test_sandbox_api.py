"""The Zendesk simulator through zenpy 2.0.57 over real HTTP, and its raw wire shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from zenpy import Zenpy

from sandbox.desk import Desk, DeskSpec, advance_desk, agent_leaves, generate_desk
from sandbox.desk.model import iso
from sandbox.desk.tickets import update_ticket
from sandbox.zendesk import ZendeskSandbox
from tests.conftest import SAMPLES

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
AUTH = ("demo@example.com/token", "sandbox-token")


@pytest.fixture(scope="module")
def desk() -> Desk:
    return generate_desk(DeskSpec(now=NOW))


@pytest.fixture(scope="module")
def sandbox(desk: Desk) -> Iterator[ZendeskSandbox]:
    with ZendeskSandbox(desk) as sb:
        yield sb


def _zenpy(sb: ZendeskSandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sb.base_url.split("//", 1)[1])
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    return Zenpy(subdomain="acme", email="demo@example.com", token="sandbox-token",
                 disable_cache=True)  # fmt: skip


@pytest.fixture
def zenpy(sandbox: ZendeskSandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    return _zenpy(sandbox, monkeypatch)


def get(sb: ZendeskSandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sb.base_url}{path}", params=params, auth=AUTH, timeout=10)


def _sample_tickets() -> list[dict[str, Any]]:
    page = json.loads((SAMPLES / "zenpy_incremental_tickets_cursor_start0.json").read_text())
    return list(page["tickets"])


def _airbyte(stream: str) -> dict[str, Any]:
    for line in (SAMPLES / "airbyte_expected_records_excerpt.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["stream"] == stream:
            return dict(record["data"])
    raise AssertionError(stream)


# ---- tickets -------------------------------------------------------------------------------


def test_cursor_export_pages_through_to_end_of_stream(
    zenpy: Any, sandbox: ZendeskSandbox, desk: Desk
) -> None:
    before = sandbox.requests_by_path.get("/api/v2/incremental/tickets/cursor.json", 0)
    gen = zenpy.tickets.incremental(start_time=0, include=["metric_sets"], per_page=700)
    tickets = list(gen)
    assert gen.end_of_stream is True and gen.after_cursor
    pages = sandbox.requests_by_path["/api/v2/incremental/tickets/cursor.json"] - before
    assert pages == 5
    assert sorted(t.id for t in tickets) == sorted(desk.tickets)
    assert {t.status for t in tickets} >= {"deleted", "solved", "closed", "open", "new"}
    assert all(t.metric_set["ticket_id"] == t.id for t in tickets)
    stamps = [(t.generated_timestamp, t.id) for t in tickets]
    assert stamps == sorted(stamps)


def test_ticket_json_has_every_key_of_the_real_export(sandbox: ZendeskSandbox) -> None:
    body = get(sandbox, "/api/v2/incremental/tickets/cursor.json", start_time=0,
               include="metric_sets", per_page=50).json()  # fmt: skip
    sample_page = json.loads((SAMPLES / "zenpy_incremental_tickets_cursor_start0.json").read_text())
    assert set(body) == set(sample_page)
    wanted = set().union(*(t.keys() for t in _sample_tickets()))
    assert all(wanted <= set(t) for t in body["tickets"])
    metric_keys = set(_airbyte("ticket_metrics"))
    assert all(metric_keys <= set(t["metric_set"]) for t in body["tickets"])
    assert len(body["tickets"]) == 50
    assert body["after_url"].startswith(sandbox.base_url)
    assert "include=metric_sets" in body["after_url"] and not body["end_of_stream"]
    plain = get(sandbox, "/api/v2/incremental/tickets/cursor.json", start_time=0, per_page=1)
    assert "metric_set" not in plain.json()["tickets"][0]


def test_cursor_export_default_page_is_1000_and_per_page_is_capped(sandbox: ZendeskSandbox) -> None:
    assert len(get(sandbox, "/api/v2/incremental/tickets/cursor.json", start_time=0)
               .json()["tickets"]) == 1000  # fmt: skip
    capped = get(sandbox, "/api/v2/incremental/tickets/cursor.json", start_time=0, per_page=5000)
    assert len(capped.json()["tickets"]) == 1000


def test_start_time_filters_on_generated_timestamp(sandbox: ZendeskSandbox, desk: Desk) -> None:
    start = int((NOW - timedelta(days=3)).timestamp())
    body = get(sandbox, "/api/v2/incremental/tickets/cursor.json", start_time=start).json()
    expected = {t.id for t in desk.tickets.values() if t.generated_timestamp >= start}
    assert {t["id"] for t in body["tickets"]} == expected and body["end_of_stream"]


def test_too_recent_start_time_is_400(sandbox: ZendeskSandbox) -> None:
    recent = int((NOW - timedelta(seconds=30)).timestamp())
    for path in (
        "/api/v2/incremental/tickets/cursor.json",
        "/api/v2/incremental/ticket_events.json",
    ):
        response = get(sandbox, path, start_time=recent)
        assert response.status_code == 400 and response.json()["error"] == "InvalidValue"


def test_bad_cursor_is_400(sandbox: ZendeskSandbox) -> None:
    response = get(sandbox, "/api/v2/incremental/tickets/cursor.json", cursor="not a cursor!")
    assert response.status_code == 400


def test_last_minute_left_out_and_after_cursor_picks_up_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk = generate_desk(DeskSpec(now=NOW, tickets=300, customers=100, days=10))
    with ZendeskSandbox(desk) as sb:
        client = _zenpy(sb, monkeypatch)
        gen = client.tickets.incremental(start_time=0)
        assert len(list(gen)) == 300
        cursor = gen.after_cursor
        summary = advance_desk(desk, 30, seed=1)
        fresh = next(t for t in desk.tickets.values() if t.status == "open")
        update_ticket(desk, fresh, desk.now - timedelta(seconds=20), fresh.requester_id,
                           status="pending")  # fmt: skip
        again = client.tickets.incremental(cursor=cursor)
        seen = {t.id for t in again}
        assert again.end_of_stream is True
        assert set(summary["touched"]) - {fresh.id} <= seen and summary["created"]
        assert fresh.id not in seen  # changed within the last minute
        events = get(sb, "/api/v2/incremental/ticket_events.json",
                     start_time=int(NOW.timestamp())).json()  # fmt: skip
        assert all(e["timestamp"] < int(desk.now.timestamp()) - 60 for e in events["ticket_events"])
        advance_desk(desk, 5, seed=2)
        later = {t.id for t in client.tickets.incremental(cursor=again.after_cursor)}
        assert fresh.id in later


# ---- ticket events -------------------------------------------------------------------------


def test_event_export_through_zenpy(zenpy: Any, desk: Desk, sandbox: ZendeskSandbox) -> None:
    before = sandbox.requests_by_path.get("/api/v2/incremental/ticket_events.json", 0)
    events = list(zenpy.tickets.events(start_time=0))
    assert {e.id for e in events} == {e["id"] for e in desk.events}
    assert sandbox.requests_by_path["/api/v2/incremental/ticket_events.json"] - before >= 17
    child = next(c for e in events for c in e.child_events if "assignee_id" in c)
    assert child["event_type"] in ("Create", "Change")


def test_event_pages_never_split_a_timestamp(sandbox: ZendeskSandbox, desk: Desk) -> None:
    first = get(sandbox, "/api/v2/incremental/ticket_events.json", start_time=0).json()
    assert set(first) >= {"ticket_events", "next_page", "end_time", "count", "end_of_stream"}
    assert first["count"] == len(first["ticket_events"]) >= 1000
    end = first["end_time"]
    assert first["ticket_events"][-1]["timestamp"] == end
    on_page = {e["id"] for e in first["ticket_events"] if e["timestamp"] == end}
    assert on_page == {e["id"] for e in desk.events if e["timestamp"] == end}
    assert first["next_page"] == (
        f"{sandbox.base_url}/api/v2/incremental/ticket_events.json?start_time={end}"
    )
    assert first["end_of_stream"] is False
    sample_child = {"id", "via", "via_reference_id", "event_type"}
    assert all(sample_child <= set(c) for e in first["ticket_events"] for c in e["child_events"])


# ---- satisfaction ratings ------------------------------------------------------------------


def test_ratings_through_zenpy(zenpy: Any, desk: Desk) -> None:
    ratings = list(zenpy.satisfaction_ratings(start_time=0))
    assert sorted(r.id for r in ratings) == sorted(desk.ratings)
    start = NOW - timedelta(days=5)
    recent = list(zenpy.satisfaction_ratings(start_time=start, score="bad"))
    assert recent and all(r.score == "bad" for r in recent)
    assert {r.id for r in recent} == {
        r.id for r in desk.ratings.values() if r.score == "bad" and r.record_created_at >= start
    }


def test_rating_pages_and_keys(sandbox: ZendeskSandbox, desk: Desk) -> None:
    for path in ("/api/v2/satisfaction_ratings", "/api/v2/satisfaction_ratings.json"):
        body = get(sandbox, path, **{"page[size]": 100}).json()
        assert len(body["satisfaction_ratings"]) == 100 and body["meta"]["has_more"] is True
        assert body["links"]["next"].startswith(f"{sandbox.base_url}{path}?")
        wanted = set(_airbyte("satisfaction_ratings")) | {"reason", "reason_code", "reason_id"}
        assert all(wanted <= set(r) for r in body["satisfaction_ratings"])
    nxt = requests.get(body["links"]["next"], auth=AUTH, timeout=10).json()
    first_ids = {r["id"] for r in body["satisfaction_ratings"]}
    assert first_ids.isdisjoint(r["id"] for r in nxt["satisfaction_ratings"])
    offered = [r for r in body["satisfaction_ratings"] if r["score"] == "offered"]
    assert offered and all(r["assignee_id"] is None for r in offered)
    too_big = get(sandbox, "/api/v2/satisfaction_ratings", **{"page[size]": 101})
    assert too_big.status_code == 400
    desc = get(sandbox, "/api/v2/satisfaction_ratings", sort_order="desc").json()
    times = [r["created_at"] for r in desc["satisfaction_ratings"]]
    assert times == sorted(times, reverse=True)


def test_a_changed_rating_keeps_its_id_and_is_re_dated_to_the_change(
    sandbox: ZendeskSandbox, desk: Desk
) -> None:
    # As a real account does (research: tap-zendesk PR #37): created_at = updated_at.
    changed = next(r for r in desk.ratings.values() if len(r.history) > 1)
    start = int(changed.updated_at.timestamp())
    body = get(sandbox, "/api/v2/satisfaction_ratings", start_time=start,
               end_time=start + 1).json()  # fmt: skip
    record = next(r for r in body["satisfaction_ratings"] if r["id"] == changed.id)
    assert record["created_at"] == record["updated_at"] == iso(changed.history[-1][0])
    assert record["score"] == changed.history[-1][1]


# ---- users ---------------------------------------------------------------------------------


def test_users_by_role_and_show_many(zenpy: Any, desk: Desk, sandbox: ZendeskSandbox) -> None:
    staff = list(zenpy.users(role=["agent", "admin"]))
    current = [u for u in desk.agents() if u.role in ("agent", "admin")]
    assert sorted(u.id for u in staff) == [u.id for u in current]
    leavers = [u.id for u in desk.agents() if u.role == "end-user" or not u.active or u.suspended]
    shown = {u.id: u for u in zenpy.users(ids=leavers)}
    assert set(shown) == set(leavers)
    assert {u.role for u in shown.values()} >= {"end-user", "agent"}
    keys = {"id", "url", "name", "email", "role", "active", "suspended", "created_at",
            "updated_at", "default_group_id", "time_zone"}  # fmt: skip
    raw = get(sandbox, "/api/v2/users.json", **{"role[]": ["agent", "admin"], "page[size]": 10})
    body = raw.json()
    assert len(body["users"]) == 10 and body["meta"]["has_more"]
    assert all(keys <= set(u) for u in body["users"])
    nxt = requests.get(body["links"]["next"], auth=AUTH, timeout=10).json()
    assert all(u["role"] in ("agent", "admin") for u in nxt["users"])
    admins = get(sandbox, "/api/v2/users.json", role="admin").json()["users"]
    assert {u["role"] for u in admins} == {"admin"}
    many = get(sandbox, "/api/v2/users/show_many.json", ids=",".join(str(i) for i in range(101)))
    assert many.status_code == 400


def test_an_agent_who_leaves_is_shown_as_zendesk_shows_each_way_of_leaving() -> None:
    """Downgraded: gone from the agent list, answered by show_many as an end-user; deleted:
    listed, not active; erased (permanently deleted): answered by no endpoint."""
    desk = generate_desk(DeskSpec(now=NOW, agents=8, customers=50, tickets=100, days=10))
    current = [u.id for u in desk.agents() if u.role == "agent" and u.active and not u.suspended]
    downgraded, deleted, erased = current[:3]
    for user_id, how in ((downgraded, "downgraded"), (deleted, "deleted"), (erased, "erased")):
        agent_leaves(desk, user_id, how)
    with ZendeskSandbox(desk) as sb:
        listed = get(sb, "/api/v2/users.json", **{"role[]": ["agent", "admin"]}).json()
        shown = get(sb, "/api/v2/users/show_many.json", ids=f"{downgraded},{deleted},{erased}")
        one = get(sb, f"/api/v2/users/{erased}.json")
    staff = {u["id"]: u for u in listed["users"]}
    assert downgraded not in staff and erased not in staff
    assert staff[deleted]["active"] is False
    answered = {u["id"]: u for u in shown.json()["users"]}
    assert set(answered) == {downgraded, deleted}
    assert answered[downgraded]["role"] == "end-user"
    assert answered[downgraded]["updated_at"] == iso(desk.now)
    assert one.status_code == 404


# ---- protocol ------------------------------------------------------------------------------


def test_auth_required(sandbox: ZendeskSandbox) -> None:
    for auth in (None, ("demo@example.com/token", "wrong")):
        response = requests.get(f"{sandbox.base_url}/api/v2/users.json", auth=auth, timeout=10)
        assert response.status_code == 401
        assert response.json() == {"error": "Couldn't authenticate you"}


def test_unknown_path_is_404(sandbox: ZendeskSandbox) -> None:
    response = get(sandbox, "/api/v2/nothing_here.json")
    assert response.status_code == 404
    assert response.json() == {"error": "InvalidEndpoint", "description": "Not found"}


def test_headers_use_the_sandbox_clock(sandbox: ZendeskSandbox, desk: Desk) -> None:
    response = get(sandbox, "/api/v2/users.json")
    assert response.headers["Date"] == format_datetime(desk.now, usegmt=True)
    assert response.headers["X-Rate-Limit"] == "700"
    assert int(response.headers["X-Rate-Limit-Remaining"]) < 700
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(
        k.lower() for k in response.headers
    )
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_export_limit_per_minute() -> None:
    desk = generate_desk(DeskSpec(now=NOW, tickets=50, customers=20, days=5))
    with ZendeskSandbox(desk, export_limit_per_minute=2) as sb:
        codes = [
            get(sb, "/api/v2/incremental/tickets/cursor.json", start_time=0).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        limited = get(sb, "/api/v2/incremental/ticket_events.json", start_time=0)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert get(sb, "/api/v2/users.json").status_code == 200
        advance_desk(desk, 3, seed=1)  # a new sandbox-clock minute
        assert get(sb, "/api/v2/incremental/tickets/cursor.json", start_time=0).status_code == 200
