"""A Zendesk record set aside in quarantine is visible and private: a warning per record in
the run's log and summary, a stored message that says what happened to it and its page,
and only the fields deskmetrics reads kept (no subject, description or comment body).
Served over real HTTP on 127.0.0.1 and read through the real zenpy client."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from connectors.http import RetryPolicy
from connectors.salesforce_records import agent_from_user as salesforce_agent
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from deskmetrics import pipeline
from deskmetrics.cli import main
from deskmetrics.settings import settings_from
from interactions import MalformedRecordError, Quarantined
from tests.static_server import serving
from tests.test_survey_responses import (
    DEFINITION,
    RESPONSES,
    SURVEY,
    _definition,
    _page,
    _read,
    _variant,
)
from warehouse.quarantine import quarantined

EXPORT = "/api/v2/incremental/tickets/cursor.json"
EVENTS = "/api/v2/incremental/ticket_events.json"
RATINGS = "/api/v2/satisfaction_ratings"
USERS = "/api/v2/users.json"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN_ENV = "DESKMETRICS_TEST_QUARANTINE_TOKEN"
PRIVATE = "Refund for order 5531, card ending 4242"  # what a subject or a body holds


def _ticket(ticket_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "status": "open",
        "requester_id": 1,
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": "2026-01-05T10:00:00Z",
        "generated_timestamp": 1767607200,
        "subject": PRIVATE,
        "description": PRIVATE,
        "raw_subject": PRIVATE,
        "tags": [PRIVATE],
        "custom_fields": [{"id": 9, "value": PRIVATE}],
        "via": {"source": {"from": {"address": "customer@example.com", "name": PRIVATE}}},
        **fields,
    }


def _connector(base_url: str) -> ZendeskConnector:
    config = ZendeskConfig(
        "zendesk", "acme", "a@acme.test", "token", base_url=base_url, bad_records="quarantine"
    )
    return ZendeskConnector(config, RetryPolicy(max_attempts=1, sleep=lambda _s: None))


def _set_aside(records: tuple[Any, ...]) -> Quarantined:
    (found,) = [r for r in records if isinstance(r, Quarantined)]
    return found


def _bad_ticket_set_aside() -> Quarantined:
    page = {
        "tickets": [_ticket(1), _ticket(2, created_at="not a time")],
        "end_of_stream": True,
    }
    with serving({EXPORT: [page]}) as base_url, _connector(base_url) as connector:
        return _set_aside(next(iter(connector.ticket_pages(None, SINCE))).records)


def test_a_quarantined_ticket_keeps_only_the_fields_read() -> None:
    kept = json.loads(_bad_ticket_set_aside().record)
    assert PRIVATE not in json.dumps(kept)
    assert "customer@example.com" not in json.dumps(kept)
    assert kept == {
        "id": 2,
        "status": "open",
        "requester_id": 1,
        "created_at": "not a time",
        "updated_at": "2026-01-05T10:00:00Z",
        "generated_timestamp": 1767607200,
    }


def test_a_quarantined_ticket_event_keeps_no_comment_body_nor_other_field_changes() -> None:
    event = {
        "id": 30,
        "ticket_id": 2,
        "timestamp": 1767607200,
        "updater_id": 5,
        "child_events": [
            {"id": 31, "event_type": "Comment", "body": PRIVATE, "html_body": PRIVATE},
            {"id": 32, "event_type": "Change", "subject": PRIVATE, "previous_value": PRIVATE},
            {"id": 33, "event_type": "Change", "status": None, "previous_value": "open"},
        ],
    }
    page = {"ticket_events": [event], "end_time": 1767607200, "end_of_stream": True}
    with serving({EVENTS: [page]}) as base_url, _connector(base_url) as connector:
        found = _set_aside(next(iter(connector.event_pages(None, SINCE))).records)
    kept = json.loads(found.record)
    assert PRIVATE not in found.record
    assert kept["child_events"] == [
        {"id": 31, "event_type": "Comment"},
        {"id": 32, "event_type": "Change"},
        {"id": 33, "event_type": "Change", "status": None, "previous_value": "open"},
    ]
    assert "child_events.status" in found.error


def test_a_quarantined_agent_keeps_only_the_fields_read() -> None:
    user = {
        "id": 5,
        "role": "agent",
        "name": "Ann",
        "email": "ann@acme.test",
        "updated_at": "yesterday",
        "notes": PRIVATE,
        "details": PRIVATE,
        "signature": PRIVATE,
        "phone": "+1 555 0100",
    }
    page = {"users": [user], "meta": {"has_more": False}, "links": {}}
    with serving({USERS: [page]}) as base_url, _connector(base_url) as connector:
        found = _set_aside(next(iter(connector.agent_pages())).records)
    assert json.loads(found.record) == {
        "id": 5,
        "role": "agent",
        "name": "Ann",
        "email": "ann@acme.test",
        "updated_at": "yesterday",
    }


def test_a_quarantined_rating_keeps_only_the_fields_read() -> None:
    rating = {
        "id": 40,
        "ticket_id": 2,
        "assignee_id": 5,
        "score": "good",
        "comment": "quick",
        "created_at": "soon",
        "requester_id": 77,
        "reason": PRIVATE,
        "url": "https://acme.zendesk.com/api/v2/satisfaction_ratings/40.json",
    }
    page = {"satisfaction_ratings": [rating], "meta": {"has_more": False}, "links": {}}
    with serving({RATINGS: [page]}) as base_url, _connector(base_url) as connector:
        found = _set_aside(next(iter(connector.rating_pages(None, SINCE))).records)
    assert json.loads(found.record) == {
        "id": 40,
        "ticket_id": 2,
        "assignee_id": 5,
        "score": "good",
        "comment": "quick",
        "created_at": "soon",
    }


def test_a_quarantined_survey_response_keeps_no_responder_nor_question_text(
    samples: Path,
) -> None:
    response = _variant(samples, "6")
    response["answers"][0]["question"]["headline"] = PRIVATE
    response["answers"].append({"type": "multiple_choice", "value": PRIVATE})
    routes = {RESPONSES: [_page(response)], DEFINITION: [{"survey": _definition(3)}]}
    records, _ = _read(routes, bad_records="quarantine")
    kept = json.loads(_set_aside(tuple(records)).record)
    assert PRIVATE not in json.dumps(kept)
    assert "responder_id" not in kept and "expires_at" not in kept
    assert kept["subjects"] == [{"id": "6", "type": "ticket"}]
    assert kept["survey"] == {"id": SURVEY, "version": 1}
    rating, comment, other = kept["answers"]
    assert rating["question"] == {"sub_type": "customer_satisfaction"}
    assert rating["rating"] == response["answers"][0]["rating"]
    assert comment == {"type": "open_ended", "value": response["answers"][1]["value"]}
    assert other == {"type": "multiple_choice"}


def test_a_quarantined_records_message_says_it_was_set_aside_and_its_page_stored() -> None:
    error = _bad_ticket_set_aside().error
    assert "zendesk ticket record id=2: field 'created_at'" in error
    assert "not stored" not in error
    assert "set aside in quarantine" in error and "rest of its page was stored" in error


def test_a_quarantined_salesforce_records_message_says_what_happened() -> None:
    user = {"Id": "00G000000000001AAA", "Name": "Queue"}
    with pytest.raises(MalformedRecordError) as bad:
        salesforce_agent("salesforce", user)
    found = Quarantined.of("salesforce", "agents", user, "Id", str(bad.value), SINCE)
    assert "not stored" not in found.error
    assert "rest of its page was stored" in found.error


def _desk(base_url: str, database: Path) -> dict[str, Any]:
    return {
        "database": {"url": f"sqlite:///{database}"},
        "http": {"max_attempts": 1},
        "sources": {
            "zendesk": {
                "base_url": base_url,
                "email": "a@acme.test",
                "token_env": TOKEN_ENV,
                "bad_records": "quarantine",
            }
        },
    }


ROUTES: dict[str, Any] = {
    USERS: [{"users": [], "meta": {"has_more": False}, "links": {}}],
    EXPORT: [{"tickets": [_ticket(1), _ticket(2, status=None)], "end_of_stream": True}],
    EVENTS: [{"ticket_events": [], "end_time": None, "end_of_stream": True}],
    RATINGS: [{"satisfaction_ratings": [], "meta": {"has_more": False}, "links": {}}],
}


def test_a_sync_warns_of_each_quarantined_record_in_its_log_and_summary(
    tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with serving(ROUTES) as base_url, patch.dict(os.environ, {TOKEN_ENV: "token"}):
        caplog.set_level(logging.INFO)
        (result,) = pipeline.sync(engine, settings_from(_desk(base_url, tmp_path / "u.sqlite")))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    set_aside = [w for w in warnings if "id=2" in w and "set aside in quarantine" in w]
    assert len(set_aside) == 1, warnings
    assert "1 record set aside in quarantine" in result.summary()
    assert [e.record_id for e in quarantined(engine)] == ["2"]


def test_the_sync_command_says_how_many_records_were_set_aside(tmp_path: Path) -> None:
    with serving(ROUTES) as base_url:
        settings = tmp_path / "settings.toml"
        database = tmp_path / "w.sqlite"
        settings.write_text(
            f'[database]\nurl = "sqlite:///{database}"\n[http]\nmax_attempts = 1\n'
            f'[sources.zendesk]\nbase_url = "{base_url}"\nemail = "a@acme.test"\n'
            f'token_env = "{TOKEN_ENV}"\nbad_records = "quarantine"\n'
        )
        result = CliRunner().invoke(
            main, ["sync", "--config", str(settings)], env={TOKEN_ENV: "token"}
        )
    assert result.exit_code == 0, result.output
    assert "tickets 2" in result.stdout
    assert "1 record set aside in quarantine" in result.stdout
