"""Whatever the wire brings, the HTTP layer ends in correct records or a clear error: no
credentials sent to another server, no traceback on a broken body, no quiet end on a page
that contradicts itself, no response that lasts for ever, no time outside the calendar,
no message body in the debug log. Each case is served by a misbehaving server on
127.0.0.1 and read through the real zenpy client; waits are recorded, never slept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from zenpy import Zenpy

from connectors.http import ApiUsage, RetryPolicy, api_session, retry_after_seconds
from connectors.wire import ForeignOriginError, origin_of
from connectors.zendesk_records import interaction_from_ticket
from interactions import (
    Interaction,
    MalformedRecordError,
    SourceError,
    SourceUnavailableError,
)
from tests.desks import run_cli, served_desk
from tests.hostile_server import HostileServer, Reply, hostile_server, zendesk_connector

EXPORT = "/api/v2/incremental/tickets/cursor.json"
RATINGS = "/api/v2/satisfaction_ratings"
USERS = "/api/v2/users.json"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "hostile-wire-token"


@pytest.fixture
def other() -> Iterator[HostileServer]:
    """Another server (another port): nothing with credentials may reach it."""
    with hostile_server() as server:
        yield server


def _agents(server: HostileServer, sleeps: list[float], **policy: Any) -> list[str]:
    with zendesk_connector(server, sleeps, **policy) as connector:
        pages = list(connector.agent_pages())
    return [agent.agent_id for page in pages for agent in page.records]


def _ratings(server: HostileServer, sleeps: list[float], **policy: Any) -> list[str]:
    with zendesk_connector(server, sleeps, **policy) as connector:
        pages = list(connector.rating_pages(None, SINCE))
    return [rating.rating_id for page in pages for rating in page.records]


def _user(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": f"Agent {user_id}",
        "email": f"agent{user_id}@acme.test",
        "role": "agent",
        "active": True,
        "updated_at": "2026-01-05T10:00:00Z",
    }


def _users_page(*ids: int, next_page: str | None = None) -> dict[str, Any]:
    return {
        "users": [_user(i) for i in ids],
        "next_page": next_page,
        "previous_page": None,
        "count": len(ids),
    }


def _rating(rating_id: int, created_at: Any = "2026-01-05T10:00:00Z") -> dict[str, Any]:
    return {
        "id": rating_id,
        "ticket_id": rating_id + 1000,
        "assignee_id": 1,
        "score": "good",
        "created_at": created_at,
        "updated_at": "2026-01-05T10:00:00Z",
    }


def _ratings_page(*ratings: dict[str, Any], next_url: str | None) -> dict[str, Any]:
    return {
        "satisfaction_ratings": list(ratings),
        "meta": {"has_more": next_url is not None, "after_cursor": "x", "before_cursor": None},
        "links": {"next": next_url, "prev": None},
    }


def _ticket(ticket_id: int, created_at: Any = "2026-01-05T10:00:00Z") -> dict[str, Any]:
    return {
        "id": ticket_id,
        "status": "open",
        "created_at": created_at,
        "updated_at": "2026-01-05T10:00:00Z",
        "generated_timestamp": 1767607200,
    }


def _export_page(*tickets: dict[str, Any], after_url: str | None) -> dict[str, Any]:
    return {
        "tickets": list(tickets),
        "after_cursor": "c2" if after_url else None,
        "after_url": after_url,
        "before_cursor": None,
        "before_url": None,
        "end_of_stream": after_url is None,
    }


def _page_after(server: HostileServer, path: str, cursor: str) -> str:
    return server.url(f"{path}?page%5Bafter%5D={cursor}")


def _with_authorization(server: HostileServer) -> list[str]:
    return [r.path for r in server.requests if "authorization" in (h.lower() for h in r.headers)]


# --- 1. credentials go only to the configured server -------------------------------------


@pytest.mark.parametrize(
    ("path", "first_page", "read"),
    [
        (EXPORT, lambda url: _export_page(_ticket(1), after_url=url), "tickets"),
        (RATINGS, lambda url: _ratings_page(_rating(1), next_url=url), "ratings"),
        (USERS, lambda url: _users_page(1, next_page=url), "users"),
    ],
    ids=["after_url", "links.next", "next_page"],
)
def test_zenpy_following_a_link_to_another_server_sends_it_nothing(
    ours: HostileServer,
    other: HostileServer,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    first_page: Any,
    read: str,
) -> None:
    ours.route(path, Reply(body=first_page(other.url(f"{path}?page=2"))))
    other.route(path, Reply(body=first_page(None)))
    session = api_session("zendesk", ApiUsage(), RetryPolicy(), "fix", origin=ours.base_url)
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", ours.base_url.split("//", 1)[1])
    client = Zenpy(subdomain="acme", email="agent@acme.test", token=TOKEN, session=session)
    calls = {
        "tickets": lambda: client.tickets.incremental(start_time=1),
        "ratings": lambda: client.satisfaction_ratings(start_time=1),
        "users": lambda: client.users(),
    }
    with session, pytest.raises(ForeignOriginError) as refused:
        list(calls[read]())
    assert ours.requests and _with_authorization(ours), "the configured server was not asked"
    assert _with_authorization(other) == []
    assert other.requests == []
    message = str(refused.value)
    assert other.base_url in message and "refuses to send credentials" in message
    assert "page=2" not in message


def test_a_ratings_link_to_another_server_ends_the_run_with_a_clear_error(
    ours: HostileServer, other: HostileServer, sleeps: list[float]
) -> None:
    ours.route(RATINGS, Reply(body=_ratings_page(_rating(1), next_url=other.url(RATINGS))))
    other.route(RATINGS, Reply(body=_ratings_page(_rating(2), next_url=None)))
    with pytest.raises(ForeignOriginError, match=r"zendesk: .*127\.0\.0\.1.*refuses to send"):
        _ratings(ours, sleeps)
    assert _with_authorization(other) == []
    assert other.requests == []


def test_a_redirect_to_another_server_is_refused_and_not_followed(
    ours: HostileServer, other: HostileServer, sleeps: list[float]
) -> None:
    ours.route(USERS, Reply(302, b"", {"Location": other.url(f"{USERS}?token=abc")}))
    other.route(USERS, Reply(body=_users_page(1)))
    with pytest.raises(ForeignOriginError, match="a redirect") as refused:
        _agents(ours, sleeps)
    assert other.requests == []
    assert "token=abc" not in str(refused.value)


def test_a_redirect_within_the_configured_server_is_followed(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(USERS, Reply(301, b"", {"Location": f"{USERS}?moved=1"}))
    ours.route(USERS, Reply(body=_users_page(1, 2)), params={"moved": "1"})
    assert _agents(ours, sleeps) == ["1", "2"]


def test_a_redirect_loop_is_a_clear_error(ours: HostileServer, sleeps: list[float]) -> None:
    ours.route(USERS, Reply(302, b"", {"Location": USERS}))
    with pytest.raises(SourceError, match="round in circles"):
        _agents(ours, sleeps)
    assert ours.served(USERS) <= 6


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://acme.zendesk.com/api/v2/x.json?a=1", "https://acme.zendesk.com:443"),
        ("https://user:secret@ACME.zendesk.com:443/", "https://acme.zendesk.com:443"),
        ("http://acme.zendesk.com/", "http://acme.zendesk.com:80"),
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765"),
        ("http://[::1]:80/", "http://[::1]:80"),
        ("http://127.0.0.1:notaport/", None),
        ("/api/v2/users.json", None),
    ],
)
def test_an_origin_is_scheme_host_and_port_without_user_or_path(
    url: str, origin: str | None
) -> None:
    assert origin_of(url) == origin


# --- 2. a malformed response is retried, then a clear error -------------------------------

GOOD_USERS = json.dumps(_users_page(1, 2)).encode()
MALFORMED = {
    "json cut in half": (Reply(body=GOOD_USERS[: len(GOOD_USERS) // 2]), "does not parse"),
    "html page": (
        Reply(body=b"<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"}),
        "'text/html', not JSON",
    ),
    "json list": (Reply(body=[1, 2, 3]), "JSON list, not the object"),
    "object without records": (Reply(body={"error": None}), "object that holds no records"),
    "empty body": (Reply(body=b""), "does not parse"),
    "cut short of its length": (
        Reply(body=GOOD_USERS[:40], declared_length=len(GOOD_USERS)),
        "cut off after 40 bytes",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_response_is_retried_and_then_read(
    ours: HostileServer, sleeps: list[float], case: str
) -> None:
    broken, _ = MALFORMED[case]
    ours.route(USERS, broken, Reply(body=GOOD_USERS))
    assert _agents(ours, sleeps) == ["1", "2"]
    assert len(sleeps) == 1


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_response_that_persists_is_a_clear_error(
    ours: HostileServer, sleeps: list[float], case: str
) -> None:
    broken, fault = MALFORMED[case]
    ours.route(USERS, broken)
    with pytest.raises(SourceUnavailableError) as failed:
        _agents(ours, sleeps)
    message = str(failed.value)
    assert "gave up after 3 tries" in message
    assert f"GET {USERS}" in message and fault in message
    assert ours.served(USERS) == 3


def test_a_page_is_parsed_once_and_kept(ours: HostileServer) -> None:
    ours.route(USERS, Reply(body=GOOD_USERS))
    session = api_session("zendesk", ApiUsage(), RetryPolicy(), "fix", origin=ours.base_url)
    with session:
        response = session.get(ours.url(USERS), timeout=5)
    first = response.json()
    assert first == json.loads(GOOD_USERS)
    assert response.json() is first
    assert response.content == GOOD_USERS


# --- 3. a page that contradicts itself is retried, never a quiet end ----------------------


def _three_rating_pages(server: HostileServer, middle: list[Reply]) -> None:
    """Ratings 1-2, then `middle` (asked for again on each retry), then rating 5."""
    second = _page_after(server, RATINGS, "p2")
    last = Reply(body=_ratings_page(_rating(5), next_url=None))
    server.route(RATINGS, Reply(body=_ratings_page(_rating(1), _rating(2), next_url=second)))
    server.route(RATINGS, *middle, params={"page[after]": "p2"})
    server.route(RATINGS, last, params={"page[after]": "p3"})


def test_an_empty_page_that_says_more_follow_is_read_again(
    ours: HostileServer, sleeps: list[float]
) -> None:
    third = _page_after(ours, RATINGS, "p3")
    empty = Reply(body=_ratings_page(next_url=third))
    full = Reply(body=_ratings_page(_rating(3), _rating(4), next_url=third))
    _three_rating_pages(ours, [empty, full])
    assert _ratings(ours, sleeps) == ["1", "2", "3", "4", "5"]
    assert len(sleeps) == 1


def test_an_empty_page_that_always_says_more_follow_is_a_clear_error(
    ours: HostileServer, sleeps: list[float]
) -> None:
    third = _page_after(ours, RATINGS, "p3")
    _three_rating_pages(ours, [Reply(body=_ratings_page(next_url=third))])
    contradiction = (
        r"satisfaction_ratings says more records follow \(meta\.has_more\) but holds none"
    )
    with pytest.raises(SourceUnavailableError, match=contradiction):
        _ratings(ours, sleeps)
    assert ours.served(RATINGS) == 1 + 3


def test_a_page_that_says_more_follow_without_a_link_is_a_clear_error(
    ours: HostileServer, sleeps: list[float]
) -> None:
    page = _ratings_page(_rating(1), next_url="x")
    page["links"]["next"] = None
    ours.route(RATINGS, Reply(body=page))
    with pytest.raises(SourceUnavailableError, match=r"gives no links\.next"):
        _ratings(ours, sleeps)


# --- 4. a whole-response deadline ---------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_response_that_drips_ends_at_the_deadline(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(USERS, Reply(body=GOOD_USERS, drip_seconds=0.05))
    with pytest.raises(SourceUnavailableError, match=r"still arriving after 0\.3 s") as failed:
        _agents(ours, sleeps, deadline_seconds=0.3, timeout_seconds=5.0, max_attempts=2)
    assert "http.deadline_seconds" in str(failed.value)
    assert ours.served(USERS) == 2
    assert len(sleeps) == 1


@pytest.mark.timeout(60)
def test_a_slow_response_within_the_deadline_is_read_whole(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(USERS, Reply(body=GOOD_USERS, drip_seconds=0.002))
    assert _agents(ours, sleeps, deadline_seconds=30.0) == ["1", "2"]
    assert sleeps == []


@pytest.mark.timeout(60)
def test_a_dripping_try_is_cut_when_its_requests_max_wait_runs_out(
    ours: HostileServer, sleeps: list[float]
) -> None:
    # The case, scaled down: a try may take deadline_seconds, the request less.
    ours.route(USERS, Reply(body=GOOD_USERS, drip_seconds=0.05))
    with pytest.raises(SourceUnavailableError, match=r"gave up after 1 tries") as failed:
        _agents(
            ours,
            sleeps,
            timeout_seconds=3.0,
            max_attempts=4,
            max_wait_seconds=0.5,
            deadline_seconds=300.0,
        )
    message = str(failed.value)
    assert "http.max_wait_seconds" in message
    assert "what was left of http.max_wait_seconds" in message  # the try itself was cut
    received = int(message.split(" bytes so far")[0].rsplit("(", 1)[1])
    assert 0 < received < len(GOOD_USERS)
    assert ours.served(USERS) == 1
    assert sleeps == []


@pytest.mark.timeout(60)
def test_the_waits_before_a_try_shorten_what_it_may_take(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(USERS, Reply(503), Reply(body=GOOD_USERS, drip_seconds=0.05))
    with pytest.raises(SourceUnavailableError, match=r"gave up after 2 tries") as failed:
        _agents(
            ours,
            sleeps,
            max_attempts=4,
            max_wait_seconds=1.0,
            deadline_seconds=300.0,
            backoff_initial_seconds=0.6,
            backoff_max_seconds=0.6,
        )
    assert sleeps == [0.6]  # recorded, never slept
    message = str(failed.value)
    assert "what was left of http.max_wait_seconds" in message
    # 1 s less the 0.6 s wait and the first try: the second try's bound, not 300 s.
    allowed = float(message.split("was still arriving after ")[1].split(" s ")[0])
    assert 0 < allowed <= 0.4


# --- 5. times out of range are malformed records ------------------------------------------

OUT_OF_RANGE = [
    1e20,
    10**30,
    -1e20,
    float("inf"),
    float("nan"),
    253402300800,  # 10000-01-01 in unix seconds
    "10000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "1899-12-31T23:59:59Z",
]


@pytest.mark.parametrize("created_at", OUT_OF_RANGE, ids=repr)
def test_a_time_out_of_range_is_a_malformed_record(created_at: Any) -> None:
    with pytest.raises(
        MalformedRecordError, match=r"record id=7: field 'created_at' is not a time"
    ):
        interaction_from_ticket("zendesk", _ticket(7, created_at))


@pytest.mark.parametrize(
    ("reopens", "kept"),
    [(3, 3), ("4", 4), (None, None), ("x", None), ({"n": 1}, None), (float("inf"), None),
     (1e20, None), (2**31, None), (-(2**31) - 1, None), (2**31 - 1, 2**31 - 1)],
    ids=repr,
)  # fmt: skip
def test_a_metric_count_no_column_holds_is_kept_as_unknown(reopens: Any, kept: Any) -> None:
    # JSON reads 1e400 as infinity; PostgreSQL's integer column holds less than 2**31.
    ticket = {**_ticket(7), "metric_set": {"reopens": reopens, "assignee_stations": reopens}}
    interaction = interaction_from_ticket("zendesk", ticket)
    assert (interaction.reopens, interaction.assignee_stations) == (kept, kept)


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(),
        st.datetimes().map(lambda d: d.isoformat()),
    )
)
def test_any_created_at_is_an_interaction_or_a_malformed_record(created_at: Any) -> None:
    try:
        interaction = interaction_from_ticket("zendesk", _ticket(7, created_at))
    except MalformedRecordError:
        return
    assert isinstance(interaction, Interaction)
    assert interaction.created_at.tzinfo is not None


def test_a_time_out_of_range_on_the_wire_names_the_record_and_field(
    ours: HostileServer, sleeps: list[float]
) -> None:
    # Written as JSON text: 1e20 is what the wire carries, not a Python float's repr.
    page = b'{"tickets": [{"id": 41, "status": "open", "created_at": 1e20}], "end_of_stream": true}'
    ours.route(EXPORT, Reply(body=page))
    with (
        zendesk_connector(ours, sleeps) as connector,
        pytest.raises(MalformedRecordError, match=r"ticket record id=41: field 'created_at'"),
    ):
        list(connector.ticket_pages(None, SINCE))


# --- 6. -v never logs message bodies ------------------------------------------------------


def test_verbose_logs_never_hold_message_bodies(tmp_path: Path) -> None:
    with served_desk(tmp_path, tickets=150, customers=60) as served:
        result = run_cli(["-v", "sync", "--config", str(served.settings_path)], served.environ)
        tickets = list(served.desk.tickets.values())
        agents = [u for u in served.desk.users.values() if u.role in ("agent", "admin")]
    assert result.returncode == 0, result.stderr[-2000:]
    assert "DEBUG" in result.stderr, "-v logged no debug detail at all"
    bodies = [t.description for t in tickets] + [t.subject for t in tickets]
    leaked = [text for text in bodies if text in result.stderr]
    assert leaked == [], f"{len(leaked)} message bodies in the -v log, e.g. {leaked[0]!r}"
    assert not [a.email for a in agents if a.email in result.stderr]


# --- 7. rate-limit headers under every name Zendesk uses ----------------------------------


def test_the_quota_slow_down_waits_the_reset_given_as_rate_limit_reset(
    ours: HostileServer, sleeps: list[float]
) -> None:
    headers = {"X-Rate-Limit": "100", "X-Rate-Limit-Remaining": "10", "rate-limit-reset": "17"}
    ours.route(USERS, Reply(body=GOOD_USERS, headers=headers))
    _agents(ours, sleeps, max_quota_share=0.5)
    assert sleeps == [17.0]


def test_the_limit_and_remaining_are_read_under_the_rate_limit_names(
    ours: HostileServer, sleeps: list[float]
) -> None:
    headers = {"rate-limit": "100", "rate-limit-remaining": "10", "rate-limit-reset": "9"}
    ours.route(USERS, Reply(body=GOOD_USERS, headers=headers))
    with zendesk_connector(ours, sleeps, max_quota_share=0.5) as connector:
        list(connector.agent_pages())
    assert (connector.usage.rate_limit, connector.usage.rate_limit_remaining) == (100, 10)
    assert sleeps == [9.0]


def test_unreadable_rate_limit_headers_are_ignored(
    ours: HostileServer, sleeps: list[float]
) -> None:
    headers = {"X-Rate-Limit": "1e999", "X-Rate-Limit-Remaining": "nan", "Date": "yesterday"}
    ours.route(USERS, Reply(body=GOOD_USERS, headers=headers))
    assert _agents(ours, sleeps) == ["1", "2"]
    assert sleeps == []


def test_a_retry_after_date_without_a_zone_is_read_as_utc() -> None:
    past = CaseInsensitiveDict({"Retry-After": "Mon, 01 Jan 2024 00:00:00 -0000"})
    assert retry_after_seconds(past) == 0.0
    assert retry_after_seconds(CaseInsensitiveDict({"Retry-After": "inf"})) is None
