"""How streams read on: passes that finish before anything is read again, cursors that never
lose a page nor move backwards, loops that stop, and a stuck stream that stops alone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import Engine, select

from connectors.http import RetryPolicy
from connectors.zendesk import ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from deskmetrics import pipeline
from deskmetrics.settings import Settings, settings_from
from deskmetrics.status_view import status_lines
from interactions import CursorStuckError, Quarantined, Rating, SourceUnavailableError
from tests.desks import TINY, Served, served_desk, table_dump
from tests.static_server import Query, serving
from warehouse.cursors import high_water_mark, load_cursor
from warehouse.day_marks import DirtyRule
from warehouse.schema import interactions, open_engine, ratings, sync_state
from warehouse.store import store_page

EXPORT = "/api/v2/incremental/tickets/cursor.json"
EVENTS = "/api/v2/incremental/ticket_events.json"
RATINGS = "/api/v2/satisfaction_ratings"
USERS = "/api/v2/users.json"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN_ENV = "DESKMETRICS_TEST_PASSES_TOKEN"


def _config(base_url: str, **overrides: Any) -> ZendeskConfig:
    return ZendeskConfig(
        "zendesk", "acme", "agent@acme.test", "token", base_url=base_url, **overrides
    )


def _connector(base_url: str, **overrides: Any) -> ZendeskConnector:
    policy = RetryPolicy(max_attempts=1, sleep=lambda _s: None)
    return ZendeskConnector(_config(base_url, **overrides), policy)


def _settings(base_url: str, database: Path) -> Settings:
    return settings_from(
        {
            "database": {"url": f"sqlite:///{database}"},
            "http": {"max_attempts": 1},
            "sources": {
                "zendesk": {"base_url": base_url, "email": "a@acme.test", "token_env": TOKEN_ENV}
            },
        }
    )


def _rating(rating_id: int, day: int) -> dict[str, Any]:
    return {
        "id": rating_id,
        "ticket_id": rating_id,
        "score": "good",
        "assignee_id": 7,
        "created_at": f"2026-01-{day:02d}T10:00:00Z",
        "updated_at": f"2026-01-{day:02d}T10:00:00Z",
    }


def _ticket(ticket_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "status": "open",
        "requester_id": 1,
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": "2026-01-05T10:00:00Z",
        "generated_timestamp": 1767607200,
        **fields,
    }


def _ratings_out_of_date_order(query: Query, base: str) -> dict[str, Any]:
    """Two pages of ratings, the newer first: a server that does not sort by date."""
    start = int(query.get("start_time", ["0"])[0])
    pages = [[_rating(1, 20), _rating(2, 21)], [_rating(3, 2), _rating(4, 3)]]
    index = 1 if query.get("page[after]") == ["p1"] else 0
    chosen = [
        r for r in pages[index] if datetime.fromisoformat(r["created_at"]).timestamp() >= start
    ]
    more = index == 0
    return {
        "satisfaction_ratings": chosen,
        "meta": {"has_more": more, "after_cursor": "p1" if more else None},
        "links": {"next": f"{base}{RATINGS}?page[after]=p1&page[size]=100" if more else None},
    }


def test_a_ratings_pass_resumed_after_a_crash_reads_on_whatever_the_order(
    engine: Engine,
) -> None:
    rule = DirtyRule("UTC", timedelta(hours=72))
    with serving({RATINGS: _ratings_out_of_date_order}) as base_url:
        with _connector(base_url) as connector:
            first = next(iter(connector.rating_pages(None, SINCE)))
            store_page(engine, "zendesk", "ratings", first.records, first.cursor, rule)
        # The process dies here. The next one reads on from the stored cursor.
        with _connector(base_url) as connector:
            saved = load_cursor(engine, "zendesk", "ratings")
            for page in connector.rating_pages(saved, SINCE):
                store_page(engine, "zendesk", "ratings", page.records, page.cursor, rule)
    with engine.connect() as conn:
        stored = set(conn.execute(select(ratings.c.rating_id)).scalars())
    assert stored == {"1", "2", "3", "4"}


def test_ratings_are_read_answered_only() -> None:
    asked: list[Query] = []

    def answered(query: Query, base: str) -> dict[str, Any]:
        asked.append(query)
        return {"satisfaction_ratings": [_rating(1, 2)], "meta": {"has_more": False}, "links": {}}

    with serving({RATINGS: answered}) as base_url, _connector(base_url) as connector:
        records = [r for page in connector.rating_pages(None, SINCE) for r in page.records]
    assert asked[0]["score"] == ["received"]
    assert [r.rating_id for r in records if isinstance(r, Rating)] == ["1"]


def test_a_ratings_next_link_that_repeats_stops_with_an_error() -> None:
    def repeating(query: Query, base: str) -> dict[str, Any]:
        return {
            "satisfaction_ratings": [_rating(1, 2)],
            "meta": {"has_more": True, "after_cursor": "same"},
            "links": {"next": f"{base}{RATINGS}?page[after]=same&page[size]=100"},
        }

    with (
        serving({RATINGS: repeating}) as base_url,
        _connector(base_url) as connector,
        pytest.raises(CursorStuckError, match="sent before"),
    ):
        for _page in connector.rating_pages(None, SINCE):
            pass


def test_an_export_whose_after_url_repeats_while_its_cursor_changes_stops() -> None:
    turns = iter(range(1, 10_000))

    def export(query: Query, base: str) -> dict[str, Any]:
        n = next(turns)
        return {
            "tickets": [_ticket(n)],
            "after_cursor": f"c{n}",
            "after_url": f"{base}{EXPORT}?cursor=same",
            "end_of_stream": False,
        }

    with (
        serving({EXPORT: export}) as base_url,
        _connector(base_url) as connector,
        pytest.raises(CursorStuckError, match="sent before"),
    ):
        for _page in connector.ticket_pages(None, SINCE):
            pass


def test_an_export_of_empty_pages_with_new_cursors_stops_after_the_setting() -> None:
    turns = iter(range(1, 10_000))

    def export(query: Query, base: str) -> dict[str, Any]:
        n = next(turns)
        return {
            "tickets": [],
            "after_cursor": f"c{n}",
            "after_url": f"{base}{EXPORT}?cursor=c{n}",
            "end_of_stream": False,
        }

    pages = 0
    with (
        serving({EXPORT: export}) as base_url,
        _connector(base_url, max_empty_pages=5) as connector,
        pytest.raises(CursorStuckError, match="max_empty_pages = 5"),
    ):
        for _page in connector.ticket_pages(None, SINCE):
            pages += 1
    assert pages == 5


def test_a_malformed_record_is_quarantined_and_its_page_kept_when_set() -> None:
    page = {"tickets": [_ticket(1), _ticket(2, created_at="not a time")], "end_of_stream": True}
    with (
        serving({EXPORT: [page]}) as base_url,
        _connector(base_url, bad_records="quarantine") as connector,
    ):
        records = next(iter(connector.ticket_pages(None, SINCE))).records
    set_aside = [r for r in records if isinstance(r, Quarantined)]
    assert [r.record_id for r in set_aside] == ["2"]
    assert "created_at" in set_aside[0].error
    assert len(records) == 2


def test_a_quarantined_record_lets_the_sync_finish_and_status_counts_it(
    tmp_path: Path, engine: Engine
) -> None:
    routes: dict[str, Any] = {
        USERS: [{"users": [], "meta": {"has_more": False}, "links": {}}],
        EXPORT: [{"tickets": [_ticket(1), _ticket(2, status=None)], "end_of_stream": True}],
        EVENTS: [{"ticket_events": [], "end_time": None, "end_of_stream": True}],
        RATINGS: [{"satisfaction_ratings": [], "meta": {"has_more": False}, "links": {}}],
    }
    with serving(routes) as base_url:
        raw = _settings(base_url, tmp_path / "unused.sqlite").model_dump()
        raw["sources"]["zendesk"]["bad_records"] = "quarantine"
        with patch.dict(os.environ, {TOKEN_ENV: "token"}):
            pipeline.sync(engine, settings_from(raw))
    with engine.connect() as conn:
        assert list(conn.execute(select(interactions.c.interaction_id)).scalars()) == ["1"]
    assert "zendesk tickets: 1 records in quarantine" in "\n".join(status_lines(engine, SINCE))


def _stuck_events(query: Query, base: str) -> dict[str, Any]:
    start = int(query["start_time"][0])
    events = [
        {"id": n, "ticket_id": 1, "timestamp": start, "child_events": []} for n in range(1, 1001)
    ]
    return {"ticket_events": events, "end_time": start, "next_page": f"{base}{EVENTS}?x=1"}


@contextmanager
def _desk_with_stuck_events() -> Iterator[str]:
    routes: dict[str, Any] = {
        USERS: [{"users": [], "meta": {"has_more": False}, "links": {}}],
        "/api/v2/users/show_many.json": [{"users": []}],
        EXPORT: [{"tickets": [_ticket(1)], "end_of_stream": True}],
        EVENTS: _stuck_events,
        RATINGS: [
            {"satisfaction_ratings": [_rating(1, 2)], "meta": {"has_more": False}, "links": {}}
        ],
    }
    with serving(routes) as base_url:
        yield base_url


def test_a_stuck_events_cursor_stops_that_stream_alone(tmp_path: Path, engine: Engine) -> None:
    with _desk_with_stuck_events() as base_url:
        settings = _settings(base_url, tmp_path / "unused.sqlite")
        with patch.dict(os.environ, {TOKEN_ENV: "token"}), pytest.raises(CursorStuckError):
            pipeline.sync(engine, settings)
    with engine.connect() as conn:
        assert list(conn.execute(select(ratings.c.rating_id)).scalars()) == ["1"]
        errors = {
            row.stream: row.last_error
            for row in conn.execute(select(sync_state.c.stream, sync_state.c.last_error))
        }
    assert errors["events"] and "did not move" in errors["events"]
    assert any("events: pass 1 FAILED" in line for line in status_lines(engine, SINCE))


def _sync(served: Served, engine: Engine | None = None) -> None:
    """`pipeline.sync` with one try per request and a sleep that records, never waits."""
    with patch.dict(os.environ, served.environ):
        pipeline.sync(
            engine or served.engine, served.settings, policy=served.policy(max_attempts=1)
        )


def test_a_bounded_backfill_settles_no_fcr(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        since, until = served.period()
        pipeline.backfill(
            served.engine, served.settings, "zendesk", since, until - timedelta(days=3),
            config=served.config(), policy=served.policy(),
        )  # fmt: skip
        with served.engine.connect() as conn:
            assert high_water_mark(conn, "zendesk") is None
        _sync(served)
        with served.engine.connect() as conn:
            assert high_water_mark(conn, "zendesk") is not None


def test_the_first_sync_after_an_open_backfill_goes_on_from_where_it_ended(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        served.backfill()
        before = served.sandbox.request_count
        _sync(served)
        again = served.sandbox.request_count - before
    # One page of each stream (agents, tickets, events, ratings), not the desk again.
    assert again <= 4, f"{again} requests for a sync right after a backfill"


def test_quiet_syncs_never_move_the_events_cursor_backwards(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        starts = []
        for _ in range(3):
            _sync(served)
            cursor = load_cursor(served.engine, "zendesk", "events")
            assert cursor is not None
            starts.append(cursor["start_time"])
    assert starts == sorted(starts)


def test_a_run_interrupted_again_and_again_still_gets_through_every_stream(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, **TINY) as served:
        runs = 0
        while runs < 30:
            runs += 1
            # Three requests go through, then the server fails the rest of the run.
            served.sandbox.inject("slow", times=3, delay=0.0)
            served.sandbox.inject("500", times=1000)
            try:
                _sync(served)
            except SourceUnavailableError:
                continue
            finally:
                served.sandbox.faults.clear()
            break
        clean = open_engine(f"sqlite:///{tmp_path / 'clean.sqlite'}")
        _sync(served, clean)
    assert runs < 30, "the sync never finished"
    assert table_dump(served.engine) == table_dump(clean)
