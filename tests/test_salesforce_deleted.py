"""connectors/salesforce_deleted.py: what a Get Deleted answer says, and the span asked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from connectors.salesforce_deleted import deleted_span, removed_cases
from interactions import Removed

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CASE = "500000000000001AAA"
OVERLAP = timedelta(minutes=5)


def test_each_listed_case_is_removed_at_its_deletion() -> None:
    answer = {"deletedRecords": [{"id": CASE, "deletedDate": "2026-11-20T10:00:00.000+0000"}]}
    found = removed_cases("sf", answer, END - timedelta(days=1))
    assert found == (Removed("sf", CASE, datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),)


def test_an_item_without_a_readable_id_or_date_is_passed_over() -> None:
    answer = {
        "deletedRecords": [
            {"id": "not an id", "deletedDate": "2026-11-20T10:00:00.000+0000"},
            {"id": CASE, "deletedDate": "yesterday"},
            "neither",
        ]
    }
    assert removed_cases("sf", answer, END - timedelta(days=1)) == ()


def test_a_delete_log_that_begins_after_the_span_asked_is_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {"deletedRecords": [], "earliestDateAvailable": "2026-11-19T00:00:00.000+0000"}
    with caplog.at_level(logging.WARNING):
        removed_cases("sf", answer, END - timedelta(days=3))
    assert "lists deletions from 2026-11-19" in caplog.text


def test_a_delete_log_that_covers_the_span_asked_says_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {"deletedRecords": [], "earliestDateAvailable": "2026-11-01T00:00:00.000+0000"}
    with caplog.at_level(logging.WARNING):
        removed_cases("sf", answer, END - timedelta(days=3))
    assert caplog.text == ""


def test_the_span_asked_is_the_window_from_an_overlap_before_it() -> None:
    start = END - timedelta(hours=1)
    assert deleted_span("sf", start, END, OVERLAP) == (start - OVERLAP, END)


def test_a_window_older_than_salesforce_keeps_is_cut_to_14_days(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        span = deleted_span("sf", END - timedelta(days=20), END, OVERLAP)
    assert span == (END - timedelta(days=14), END)
    assert "can no longer be listed" in caplog.text
