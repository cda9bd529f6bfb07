"""The Zendesk connector's reading rules over real HTTP: cursors that stop moving are
errors, the tail of a time-based export ends the stream, records parse defensively."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from requests.structures import CaseInsensitiveDict

from connectors.http import RetryPolicy, retry_after_seconds
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from connectors.zendesk_records import changes_from_event, optional_id
from deskmetrics import pipeline
from interactions import (
    CursorStuckError,
    MalformedRecordError,
    OwnershipChange,
    SatisfactionChange,
    StatusChange,
)
from sandbox.desk import truth as desk_truth
from tests.desks import served_desk
from tests.hostile_server import exported_ticket
from tests.static_server import serving

EXPORT = "/api/v2/incremental/tickets/cursor.json"
EVENTS = "/api/v2/incremental/ticket_events.json"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _connector(base_url: str) -> ZendeskConnector:
    config = ZendeskConfig("zendesk", "acme", "agent@acme.test", "token", base_url=base_url)
    return ZendeskConnector(config, RetryPolicy(max_attempts=1, sleep=lambda _s: None))


def _event(event_id: int, stamp: int) -> dict[str, object]:
    return {
        "id": event_id,
        "ticket_id": 1,
        "timestamp": stamp,
        "child_events": [
            {"id": event_id * 10, "status": "open", "previous_value": "new", "event_type": "Change"}
        ],
    }


def test_a_ticket_cursor_that_does_not_move_is_an_error() -> None:
    page = {
        "tickets": [exported_ticket(1)],
        "after_cursor": "same",
        "after_url": None,
        "end_of_stream": False,
    }
    with serving({EXPORT: [page]}) as base_url:
        page["after_url"] = f"{base_url}{EXPORT}?cursor=same"
        with pytest.raises(CursorStuckError, match="sent before"):
            list(_connector(base_url).ticket_pages({"after_cursor": "same"}, SINCE))


def test_a_full_event_page_in_one_second_is_an_error_not_a_loop() -> None:
    stamp = int(SINCE.timestamp())
    page = {
        "ticket_events": [_event(i, stamp) for i in range(1, 1001)],
        "end_time": stamp,
        "next_page": "x",
        "count": 1000,
        "end_of_stream": False,
    }
    with (
        serving({EVENTS: [page]}) as base_url,
        pytest.raises(CursorStuckError, match=f"start_time={stamp}"),
    ):
        list(_connector(base_url).event_pages({"start_time": stamp}, SINCE))


def test_a_short_event_page_that_does_not_move_ends_the_stream() -> None:
    stamp = int(SINCE.timestamp())
    first = {
        "ticket_events": [_event(1, stamp), _event(2, stamp + 60)],
        "end_time": stamp + 60,
        "next_page": "x",
        "count": 2,
        "end_of_stream": False,
    }
    tail = {
        "ticket_events": [_event(2, stamp + 60)],
        "end_time": stamp + 60,
        "next_page": "x",
        "count": 1,
        "end_of_stream": False,
    }
    with serving({EVENTS: [first, tail]}) as base_url:
        pages = list(_connector(base_url).event_pages({"start_time": stamp}, SINCE))
    assert [page.done for page in pages] == [False, True]
    assert pages[-1].cursor["start_time"] <= stamp + 60


def test_an_event_child_whose_field_name_is_no_text_names_no_field() -> None:
    # A hostile or broken export: `field_name` a list or an object. It names no field, so
    # the child changes nothing; the page is read, not stopped by a crash.
    stamp = 1767607200
    event = _event(1, stamp)
    event["child_events"] = [
        {"id": 11, "field_name": ["satisfaction_score"], "value": "good"},
        {"id": 12, "field_name": {"status": 1}, "value": "solved"},
        {"id": 13, "status": "open", "previous_value": "new", "event_type": "Change"},
    ]
    page = {"ticket_events": [event], "end_time": stamp, "count": 1, "end_of_stream": True}
    with serving({EVENTS: [page]}) as base_url:
        [read] = _connector(base_url).event_pages({"start_time": stamp}, SINCE)
    assert [type(record).__name__ for record in read.records] == ["StatusChange"]


def test_event_children_read_ids_as_text_and_empty_as_nobody() -> None:
    event = {
        "id": 7,
        "ticket_id": "42",
        "created_at": "2026-01-05T10:00:00Z",
        "child_events": [
            {"id": 1, "assignee_id": 123, "previous_value": "", "event_type": "Change"},
            {"id": 2, "assignee_id": None, "previous_value": "123", "event_type": "Change"},
            {"id": 3, "event_type": "Comment", "comment_present": True},
            {
                "id": 4,
                "type": "Change",
                "field_name": "status",
                "value": "solved",
                "previous_value": "open",
            },
            {"id": 5, "event_type": "SomethingNew", "assignee_id": 9},
        ],
    }
    changes = list(changes_from_event("zendesk", event))
    owners = [(c.previous_owner, c.new_owner) for c in changes if isinstance(c, OwnershipChange)]
    statuses = [
        (c.previous_status, c.new_status, c.resolved)
        for c in changes
        if isinstance(c, StatusChange)
    ]
    assert owners == [(None, "123"), ("123", None)]
    assert statuses == [("open", "solved", True)]
    assert {c.interaction_id for c in changes} == {"42"}


def test_a_satisfaction_rating_event_is_read_as_a_satisfaction_change() -> None:
    # Zendesk's "Satisfaction rating event": the score from offered to good, with its time.
    event = {
        "id": 7,
        "ticket_id": 42,
        "created_at": "2026-01-05T10:00:00Z",
        "child_events": [
            {"id": 1, "satisfaction_score": "good", "previous_value": "offered",
             "event_type": "Change"},
            {"id": 2, "satisfaction_comment": "Thanks", "previous_value": None,
             "event_type": "Change"},
        ],
    }  # fmt: skip
    [change] = changes_from_event("zendesk", event)
    assert isinstance(change, SatisfactionChange)
    assert (change.interaction_id, change.previous_score, change.score) == ("42", "offered", "good")
    assert change.at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_a_status_change_to_a_status_zendesk_has_not_names_the_ticket_and_value() -> None:
    child = {"id": 1, "status": "escalated", "previous_value": "open", "event_type": "Change"}
    event = {"id": 7, "ticket_id": 42, "timestamp": 1700000000, "child_events": [child]}
    with pytest.raises(MalformedRecordError, match=r"of ticket 42: .*'escalated'"):
        list(changes_from_event("zendesk", event))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, None), ("", None), (None, None), ("0", None), ("null", None), (17, "17"),
        ("17", "17"), (" 17 ", "17"), (17.0, "17"), (0.0, None), (17.5, "17.5"),
        # A JSON boolean is no id, though Python counts it an int.
        (True, None), (False, None),
    ],
)  # fmt: skip
def test_ids_read_as_text(value: object, expected: str | None) -> None:
    assert optional_id(value) == expected


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert retry_after_seconds(CaseInsensitiveDict({"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(CaseInsensitiveDict({"Retry-After": "1.5"})) == 1.5
    assert retry_after_seconds(CaseInsensitiveDict({})) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    seconds = retry_after_seconds(CaseInsensitiveDict({"Retry-After": later}))
    assert seconds is not None and 100 < seconds <= 120


def test_a_run_past_its_share_of_the_rate_limit_waits_for_the_reset(tmp_path: Path) -> None:
    with served_desk(tmp_path) as served:
        served.backfill(max_quota_share=0.01)
        since, until = served.period()
        report = pipeline.report(served.engine, served.settings, since, until)
        truth = desk_truth.report_rows(served.desk, since, until)
    assert served.sleeps, "no pause although the run used more than its share"
    assert all(0 < s <= 60 for s in served.sleeps)
    assert [r.handled for r in report] == [t["handled"] for t in truth]
