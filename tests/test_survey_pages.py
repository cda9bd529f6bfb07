"""New-CSAT survey response pages over real HTTP through the connector's session, against a
misbehaving server on 127.0.0.1: a changed-tickets batch resumed in a run that noted
another ticket reads both, and a 200 without its `survey_responses` list is read again,
never taken for the last page. Waits are recorded, never slept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.http import RetryPolicy
from connectors.protocol import Cursor
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from interactions import MalformedRecordError, Rating, SourceUnavailableError
from tests.hostile_server import HostileServer, Reply, hostile_server

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
SURVEY = "S1"
RESPONSES = "/api/v2/guide/survey_responses"
EXPORT = "/api/v2/incremental/tickets/cursor.json"
EVENTS = "/api/v2/incremental/ticket_events.json"
NONE_SENT = {"meta": {"has_more": False}, "survey_responses": []}


@pytest.fixture
def ours() -> Iterator[HostileServer]:
    with hostile_server() as server:
        server.route(f"/api/v2/guide/en-us/surveys/{SURVEY}/1", Reply(body=_definition()))
        server.route(EVENTS, Reply(body={"ticket_events": [], "end_time": 1791529000}))
        yield server


def _definition() -> dict[str, Any]:
    question = {
        "id": "q",
        "sub_type": "customer_satisfaction",
        "type": "rating_scale_numeric",
        "options": [{"rating": n} for n in range(1, 6)],
    }
    return {"survey": {"id": SURVEY, "version": 1, "state": "enabled", "questions": [question]}}


def _response(response_id: str, ticket: int, rating: Any = 5) -> dict[str, Any]:
    answer = {
        "type": "rating_scale",
        "rating": rating,
        "question": {"id": "q", "sub_type": "customer_satisfaction"},
        "created_at": "2026-10-09T06:18:21Z",
        "updated_at": "2026-10-09T06:18:21Z",
    }
    return {
        "id": response_id,
        "survey": {"id": SURVEY, "version": 1, "state": "enabled"},
        "subjects": [{"id": str(ticket), "type": "ticket", "zrn": f"zen:ticket:{ticket}"}],
        "answers": [answer],
    }


def _answered(ticket: int) -> dict[str, Any]:
    return {
        "id": ticket,
        "status": "solved",
        "created_at": "2026-10-05T10:00:00Z",
        "updated_at": "2026-10-09T07:00:00Z",
        "generated_timestamp": 1791529200,
        "satisfaction_rating": {"id": 9000 + ticket, "score": "good"},
    }


def _export(*tickets: int) -> Reply:
    body = {"tickets": [_answered(t) for t in tickets], "after_cursor": None, "end_of_stream": True}
    return Reply(body=body)


def _connector(server: HostileServer, sleeps: list[float], attempts: int = 1) -> ZendeskConnector:
    config = ZendeskConfig(
        "zendesk", "acme", "a@acme.test", "token", base_url=server.base_url, csat="surveys"
    )
    return ZendeskConnector(config, RetryPolicy(max_attempts=attempts, sleep=sleeps.append))


def _run(connector: ZendeskConnector, cursor: Cursor) -> tuple[list[str], Cursor]:
    """The tickets and events passes whole, then the survey stream from `cursor`: the
    tickets of the ratings stored, and the last cursor stored (where a stop left it)."""
    for stream in ("tickets", "events"):
        for _ in connector.pages(stream, None, SINCE, None):
            pass
    rated: list[str] = []
    try:
        for page in connector.pages("survey_responses", cursor, SINCE, None):
            cursor = page.cursor
            rated += [r.interaction_id for r in page.records if isinstance(r, Rating)]
    except MalformedRecordError:
        pass  # the stream stops there, its cursor kept
    return rated, cursor


def test_a_batch_resumed_in_a_run_that_noted_another_ticket_reads_both(
    ours: HostileServer,
) -> None:
    ours.route(RESPONSES, Reply(body=NONE_SENT))
    batch = "zen:ticket:100,zen:ticket:101"
    first = {"meta": {"has_more": True, "after_cursor": "C1"}, "survey_responses": []}
    first["survey_responses"] = [_response("R100", 100)]
    ours.route(RESPONSES, Reply(body=first), params={"filter[subject_zrns]": batch})
    # The batch's second page: a record that does not read stops the first run there.
    bad = {"meta": {"has_more": False}, "survey_responses": [_response("R101", 101, "nine")]}
    good = {"meta": {"has_more": False}, "survey_responses": [_response("R101", 101)]}
    after = {"filter[subject_zrns]": batch, "page[after]": "C1"}
    ours.route(RESPONSES, Reply(body=bad), Reply(body=good), params=after)
    five = {"meta": {"has_more": False}, "survey_responses": [_response("R5", 5)]}
    ours.route(RESPONSES, Reply(body=five), params={"filter[subject_zrns]": "zen:ticket:5"})
    ours.route(EXPORT, _export(100, 101), _export(5))  # the second run's export: ticket 5
    sleeps: list[float] = []
    # A pass a whole read of the answerable window ago: by the changed tickets only.
    finished = {"start_time": int(SINCE.timestamp()), "looked_back": int(time.time())}
    rated, stopped = _run(_connector(ours, sleeps), finished)
    assert rated == ["100"] and stopped["phase"] == "changed"
    rated, _ = _run(_connector(ours, sleeps), stopped)
    assert rated == ["101", "5"]


def test_a_survey_page_without_its_list_is_read_again(ours: HostileServer) -> None:
    found = {"meta": {"has_more": False}, "survey_responses": [_response("R1", 1)]}
    ours.route(RESPONSES, Reply(body={"meta": {"has_more": False}}), Reply(body=found))
    ours.route(EXPORT, _export())
    sleeps: list[float] = []
    rated, _ = _run(_connector(ours, sleeps, attempts=3), {})
    assert rated == ["1"] and len(sleeps) == 1


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"error": {"title": "Unavailable"}}, "without its 'survey_responses' list"),
        ({"meta": {"has_more": False}, "survey_responses": 5}, "without its 'survey_responses'"),
    ],
    ids=["error", "not-a-list"],
)
def test_survey_pages_that_never_hold_their_list_end_in_a_clear_error(
    ours: HostileServer, body: dict[str, Any], said: str
) -> None:
    ours.route(RESPONSES, Reply(body=body))
    ours.route(EXPORT, _export())
    with pytest.raises(SourceUnavailableError, match=said):
        _run(_connector(ours, [], attempts=2), {})


def test_a_survey_pass_read_first_in_a_run_begins_on_the_servers_clock(
    ours: HostileServer,
) -> None:
    # The account's clock an hour behind this machine's, and no other request before it.
    behind = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    date = {"Date": behind.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    ours.route("/api/v2/users/me.json", Reply(body={"user": {"id": 1}}, headers=date))
    ours.route(RESPONSES, Reply(body=NONE_SENT, headers=date))
    with _connector(ours, []) as connector:
        pages = list(connector.pages("survey_responses", None, SINCE, None))
    assert pages[-1].done and pages[-1].cursor["start_time"] <= behind.timestamp()
