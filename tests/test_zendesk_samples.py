"""Contract tests: every real recorded Zendesk response in tests/fixtures/zendesk is read
(where each comes from: tests/fixtures/README.md).

The ticket export pages go over real HTTP through zenpy and the connector; only their
pagination links are pointed at the local server (the records are untouched).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from connectors.http import RetryPolicy
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from connectors.zendesk_records import (
    changes_from_audit,
    interaction_from_ticket,
    rating_from_json,
)
from interactions import OwnershipChange, StatusChange
from tests.static_server import serving

EXPORT = "/api/v2/incremental/tickets/cursor.json"


def _connector(base_url: str) -> ZendeskConnector:
    config = ZendeskConfig("zendesk", "acme", "agent@acme.test", "token", base_url=base_url)
    return ZendeskConnector(config, RetryPolicy(max_attempts=1, sleep=lambda _s: None))


def test_recorded_ticket_export_pages_are_read_through_zenpy(samples: Path) -> None:
    first = json.loads((samples / "zenpy_incremental_tickets_cursor_start0.json").read_text())
    last = json.loads((samples / "zenpy_incremental_tickets_cursor_lastpage.json").read_text())
    routes = {EXPORT: [first, {**last, "end_of_stream": True}]}
    with serving(routes) as base_url:
        first["after_url"] = f"{base_url}{EXPORT}?cursor={first['after_cursor']}"
        pages = list(_connector(base_url).ticket_pages(None, datetime(2023, 1, 1, tzinfo=UTC)))
    tickets = [t for page in pages for t in page.records]
    assert len(tickets) == len(first["tickets"]) + len(last["tickets"])
    deleted = [t for t in tickets if t.deleted]
    assert deleted, "the recorded page holds deleted tickets"
    assert all(t.status == "deleted" and not t.resolved for t in deleted)
    assert pages[-1].done and pages[-1].high_water_mark is not None


def test_recorded_tickets_keep_their_ids_and_times(samples: Path) -> None:
    first = json.loads((samples / "zenpy_incremental_tickets_cursor_start0.json").read_text())
    raw = first["tickets"][0]
    ticket = interaction_from_ticket("zendesk", raw)
    assert ticket.interaction_id == str(raw["id"])
    assert ticket.created_at == datetime.fromisoformat(raw["created_at"].replace("Z", "+00:00"))
    assert ticket.customer_id == str(raw["requester_id"])


def test_recorded_audits_page_yields_owner_and_status_changes(samples: Path) -> None:
    page = json.loads((samples / "zenpy_ticket_audits_page.json").read_text())
    changes = [c for audit in page["audits"] for c in changes_from_audit("zendesk", audit)]
    owners = [c for c in changes if isinstance(c, OwnershipChange)]
    statuses = [c for c in changes if isinstance(c, StatusChange)]
    assert owners and statuses
    first_owner = owners[0]
    assert first_owner.previous_owner is None and first_owner.new_owner == "6130907993114"


def test_recorded_airbyte_records_are_read(samples: Path) -> None:
    lines = (samples / "airbyte_expected_records_excerpt.jsonl").read_text().splitlines()
    read = 0
    for line in lines:
        record = json.loads(line)
        if record["stream"] == "satisfaction_ratings":
            rating = rating_from_json("zendesk", record["data"])
            assert rating.score == "offered" and rating.agent_id is None
            read += 1
        elif record["stream"] == "tickets":
            ticket = interaction_from_ticket("zendesk", record["data"])
            assert ticket.resolved and ticket.status == "closed"
            read += 1
    # ticket_metrics and ticket_metric_events are streams deskmetrics does not read.
    assert read == 2
