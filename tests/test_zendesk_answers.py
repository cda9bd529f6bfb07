"""Zendesk answers of the wrong shape, over real HTTP through zenpy against a misbehaving
server on 127.0.0.1: a value of another JSON type than the API documents, a 200 that is
not the page asked for, an answer of 300, headers that drip, a body that inflates, an
error page that echoes the credentials, a clock years ahead, the same records under new
cursors. None is taken for a whole read or stored as data, and no secret is shown; each
is read again, read as the API means it, or ends in one clear error. Waits are recorded,
never slept."""

from __future__ import annotations

import base64
import gzip
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connectors.http import RetryPolicy
from connectors.wire import RetriableHTTPError, read_body
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from connectors.zendesk_kept import kept_record
from connectors.zendesk_records import (
    agent_from_user,
    interaction_from_ticket,
    optional_id,
    survey_scale,
)
from interactions import (
    ConfigError,
    CursorStuckError,
    MalformedRecordError,
    SourceError,
    SourceUnavailableError,
)
from tests.hostile_server import HostileServer, Reply, exported_ticket, zendesk_connector

EXPORT = "/api/v2/incremental/tickets/cursor.json"
EVENTS = "/api/v2/incremental/ticket_events.json"
USERS = "/api/v2/users.json"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
RATING = "rating_scale_numeric"


def _user(user_id: int, role: Any = "agent") -> dict[str, Any]:
    return {"id": user_id, "name": f"Agent {user_id}", "role": role, "active": True}


def _export_page(*tickets: dict[str, Any], after: Any, end: Any) -> dict[str, Any]:
    return {"tickets": list(tickets), "after_cursor": after, "end_of_stream": end}


def _status_event(event_id: int, created_at: str, status: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "ticket_id": 1,
        "created_at": created_at,
        "child_events": [{"id": event_id * 10, "event_type": "Change", "status": status}],
    }


def _events_page(*events: dict[str, Any], end_time: Any, next_page: Any) -> dict[str, Any]:
    return {
        "ticket_events": list(events),
        "end_time": end_time,
        "next_page": next_page,
        "count": len(events),
        "end_of_stream": next_page is None,
    }


def _tickets(server: HostileServer, sleeps: list[float], **policy: Any) -> list[str]:
    with zendesk_connector(server, sleeps, **policy) as connector:
        pages = list(connector.ticket_pages(None, SINCE))
    return [r.interaction_id for page in pages for r in page.records]


def _status_changes(server: HostileServer, sleeps: list[float]) -> list[str]:
    with zendesk_connector(server, sleeps) as connector:
        pages = list(connector.event_pages(None, SINCE))
    return [r.new_status for page in pages for r in page.records]


# --- values of another JSON type than the API documents ---------------------------------------


def test_a_user_whose_role_is_not_text_is_no_agent(
    ours: HostileServer, sleeps: list[float]
) -> None:
    odd = [_user(2, {"name": "agent"}), _user(3, ["agent"])]
    ours.route(USERS, Reply(body={"users": [_user(1), *odd], "next_page": None}))
    with zendesk_connector(ours, sleeps) as connector:
        pages = list(connector.agent_pages())
    assert [agent.agent_id for page in pages for agent in page.records] == ["1"]


def test_a_looked_up_user_whose_role_is_not_text_is_an_inactive_agent_without_a_role() -> None:
    agent = agent_from_user("zendesk", _user(7, {"name": "agent"}))
    assert (agent.agent_id, agent.role, agent.active) == ("7", None, False)


@pytest.mark.parametrize("assignee", [{"id": 7}, [7]], ids=["object", "list"])
def test_an_assignee_id_that_is_not_an_id_is_a_malformed_record(assignee: Any) -> None:
    with pytest.raises(MalformedRecordError, match=r"'assignee_id' is not an id"):
        interaction_from_ticket("zendesk", exported_ticket(1, assignee_id=assignee))


def test_a_ticket_id_that_is_a_list_is_a_malformed_record() -> None:
    with pytest.raises(MalformedRecordError, match=r"'id' is missing or empty \(\[2\]\)"):
        interaction_from_ticket("zendesk", exported_ticket(1, id=[2]))


@pytest.mark.parametrize("value", [{"id": 7}, [7], {"a"}])
def test_an_id_held_in_an_object_or_a_list_names_no_one(value: Any) -> None:
    assert optional_id(value) is None


def test_a_set_aside_event_whose_child_names_its_field_with_a_list_keeps_only_what_reads() -> None:
    event = {
        "id": 5,
        "ticket_id": None,
        "child_events": [{"id": 50, "event_type": "Change", "field_name": ["status"]}],
    }
    kept = kept_record("ticket_events", event)
    assert kept["child_events"] == [{"id": 50, "event_type": "Change"}]


@pytest.mark.parametrize(
    "survey",
    [
        {"questions": 3},
        {"questions": [{"sub_type": "customer_satisfaction", "type": RATING, "options": 5}]},
    ],
    ids=["questions", "options"],
)
def test_a_survey_whose_questions_or_options_are_not_lists_has_no_scale(
    survey: dict[str, Any],
) -> None:
    assert survey_scale(survey) is None


# --- export pages ------------------------------------------------------------------------------


def test_end_of_stream_given_as_text_does_not_end_the_export(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(EXPORT, Reply(body=_export_page(exported_ticket(1), after="c2", end="false")))
    ours.route(
        EXPORT,
        Reply(body=_export_page(exported_ticket(2), after=None, end=True)),
        params={"cursor": "c2"},
    )
    assert _tickets(ours, sleeps) == ["1", "2"]


def test_a_number_sent_again_as_the_export_cursor_is_a_loop_that_says_so(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(EXPORT, Reply(body=_export_page(exported_ticket(1), after=5, end=False)))
    with pytest.raises(CursorStuckError, match=r"it had sent before \('5'\)"):
        _tickets(ours, sleeps)


def test_an_export_answer_without_its_tickets_is_read_again(
    ours: HostileServer, sleeps: list[float]
) -> None:
    error = {"error": {"title": "Temporarily unavailable", "message": "try later"}}
    ours.route(
        EXPORT,
        Reply(body=error),
        Reply(body=_export_page(exported_ticket(1), after=None, end=True)),
    )
    assert _tickets(ours, sleeps) == ["1"]
    assert len(sleeps) == 1


def test_export_answers_that_never_hold_their_tickets_end_in_an_error_naming_the_list(
    ours: HostileServer, sleeps: list[float]
) -> None:
    ours.route(EXPORT, Reply(body={"error": {"title": "Temporarily unavailable"}}))
    with pytest.raises(SourceUnavailableError, match=r"without its 'tickets' list"):
        _tickets(ours, sleeps)


def test_an_events_end_time_given_as_digits_reads_on(
    ours: HostileServer, sleeps: list[float]
) -> None:
    second = ours.url(f"{EVENTS}?start_time=1767700000")
    first = _status_event(1, "2026-01-05T10:00:00Z", "open")
    ours.route(EVENTS, Reply(body=_events_page(first, end_time="1767700000", next_page=second)))
    solved = _status_event(2, "2026-01-06T12:00:00Z", "solved")
    ours.route(
        EVENTS,
        Reply(body=_events_page(solved, end_time=1767710000, next_page=None)),
        params={"start_time": "1767700000"},
    )
    assert _status_changes(ours, sleeps) == ["open", "solved"]


def test_an_events_page_that_says_more_follow_without_an_end_time_stops_the_stream(
    ours: HostileServer, sleeps: list[float]
) -> None:
    first = _status_event(1, "2026-01-05T10:00:00Z", "open")
    more = ours.url(f"{EVENTS}?start_time=1767700000")
    ours.route(EVENTS, Reply(body=_events_page(first, end_time="soon", next_page=more)))
    with pytest.raises(SourceError, match=r"no end_time to read on from \('soon'\)"):
        _status_changes(ours, sleeps)


# --- answers the client cannot use -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers"), [(300, {}), (302, {}), (304, {"Location": "/elsewhere"})]
)
def test_an_answer_of_3xx_without_a_redirect_to_follow_is_a_clear_error(
    ours: HostileServer, sleeps: list[float], status: int, headers: dict[str, str]
) -> None:
    users = {"users": [_user(1)], "next_page": None}
    ours.route(USERS, Reply(status, body=users, headers=headers))
    with (
        zendesk_connector(ours, sleeps) as connector,
        pytest.raises(SourceUnavailableError, match=f"answered {status} without a redirect"),
    ):
        list(connector.agent_pages())
    assert ours.served(USERS) == 3


@pytest.mark.timeout(60)
def test_headers_that_drip_are_cut_at_the_deadline(
    ours: HostileServer, sleeps: list[float]
) -> None:
    users = {"users": [_user(1)], "next_page": None}
    # Each byte comes well within the read timeout; all of them would take 20 s.
    ours.route(
        USERS, Reply(body=users, headers={"X-Padding": "p" * 400}, drip_headers_seconds=0.05)
    )
    with (
        zendesk_connector(ours, sleeps, deadline_seconds=0.5, max_attempts=1) as connector,
        pytest.raises(SourceUnavailableError, match=r"headers too slowly.*within 0\.5 s") as cut,
    ):
        list(connector.agent_pages())
    assert "http.deadline_seconds" in str(cut.value)


# --- what a server says is quoted without anything like a credential -------------------------

TOKEN = "Zx9Kq" * 8  # as long as a real API token


def test_an_error_page_that_echoes_the_credentials_is_quoted_without_them(
    ours: HostileServer, sleeps: list[float]
) -> None:
    basic = base64.b64encode(f"agent@acme.test/token:{TOKEN}".encode()).decode()
    echoed = f"Bad request. You sent: Authorization: Basic {basic} ({TOKEN})"
    ours.route(USERS, Reply(400, body=echoed.encode(), headers={"Content-Type": "text/plain"}))
    config = ZendeskConfig("zendesk", "acme", "agent@acme.test", TOKEN, base_url=ours.base_url)
    with (
        ZendeskConnector(config, RetryPolicy(sleep=sleeps.append)) as connector,
        pytest.raises(SourceError, match=r"was rejected \(400\)") as rejected,
    ):
        list(connector.agent_pages())
    message = str(rejected.value)
    assert "Bad request. You sent: Authorization: Basic …" in message
    assert TOKEN not in message and basic not in message


def test_a_base_url_with_a_password_in_it_is_refused_without_showing_it() -> None:
    config = ZendeskConfig(
        "zendesk", "acme", "agent@acme.test", TOKEN, base_url="https://me:hunter2@acme.test"
    )
    with pytest.raises(ConfigError, match="holds a user name or password") as refused:
        ZendeskConnector(config, RetryPolicy())
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("count", [True, 2.5, "two"])
def test_a_metric_count_that_is_no_whole_number_is_unknown(count: Any) -> None:
    ticket = exported_ticket(1, metric_set={"reopens": count, "assignee_stations": count})
    interaction = interaction_from_ticket("zendesk", ticket)
    assert (interaction.reopens, interaction.assignee_stations) == (None, None)


def test_a_body_that_inflates_past_the_limit_is_refused_while_it_is_read(
    ours: HostileServer,
) -> None:
    bomb = gzip.compress(b"0" * 2_000_000)  # 2 MB in a few KB
    ours.route(USERS, Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    response = requests.get(ours.url(USERS), stream=True, timeout=5)
    with pytest.raises(RetriableHTTPError, match=r"more than 1,000,000 bytes once decompressed"):
        read_body(response, 5.0, 5.0, "GET /api/v2/users.json", limit=1_000_000)
    assert len(bomb) < 10_000


# --- a server's clock ---------------------------------------------------------------------------


def test_a_server_clock_years_ahead_moves_no_cursor_past_this_machines_clock(
    ours: HostileServer, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    ahead = {"Date": "Thu, 01 Jan 2099 00:00:00 GMT"}
    ours.route(
        EXPORT, Reply(body=_export_page(exported_ticket(1), after=None, end=True), headers=ahead)
    )
    with zendesk_connector(ours, sleeps) as connector, caplog.at_level(logging.WARNING):
        (page,) = list(connector.ticket_pages(None, SINCE))
    assert page.done and page.cursor["start_time"] <= datetime.now(UTC).timestamp()
    assert [r.getMessage() for r in caplog.records] == [
        "the server's clock (Date: Thu, 01 Jan 2099 00:00:00 GMT) is more than 7 days ahead "
        "of this machine's: windows end at this machine's time instead"
    ]


def test_a_server_clock_a_day_ahead_is_the_sources_now(
    ours: HostileServer, sleeps: list[float]
) -> None:
    # A sandbox, or a server whose time is simply right while this machine's is slow.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    ahead = {"Date": tomorrow.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    ours.route(
        EXPORT, Reply(body=_export_page(exported_ticket(1), after=None, end=True), headers=ahead)
    )
    with zendesk_connector(ours, sleeps) as connector:
        (page,) = list(connector.ticket_pages(None, SINCE))
    assert page.cursor["start_time"] > datetime.now(UTC).timestamp()


# --- the same records under new cursors -----------------------------------------------------


def test_the_same_tickets_under_ever_new_cursors_stop_the_export_with_a_clear_error(
    ours: HostileServer, sleeps: list[float]
) -> None:
    pages = [
        Reply(body=_export_page(exported_ticket(1), after=f"c{n}", end=False)) for n in range(40)
    ]
    ours.route(EXPORT, *pages)
    with pytest.raises(CursorStuckError, match=r"21 pages in a row brought the same records"):
        _tickets(ours, sleeps)
    assert ours.served(EXPORT) == 22  # the first page, and 21 repeats of it


def test_pages_that_repeat_one_changed_ticket_are_read_on(
    ours: HostileServer, sleeps: list[float]
) -> None:
    # A ticket changed while the export is read comes again, on a later page: no loop.
    first = _export_page(exported_ticket(1), exported_ticket(2), after="c1", end=False)
    again = _export_page(exported_ticket(2, generated_timestamp=1767607300), after=None, end=True)
    ours.route(EXPORT, Reply(body=first), Reply(body=again))
    assert _tickets(ours, sleeps) == ["1", "2", "2"]
