"""End to end against the Salesforce simulator: every cell of every agent row equals the
desk's ground truth in Salesforce terms, through REST pages and through Bulk API 2.0, with
CSAT from a custom object and from Feedback Management, after a backfill and after an
incremental sync in which cases were reassigned, closed, reopened, deleted and rated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.desk import advance_desk
from sandbox.salesforce import salesforce_face
from tests.desks import set_desk_now, table_dump
from tests.salesforce_desks import CUSTOM_OBJECT, FEEDBACK, served_org

USER_PREFIX, QUEUE_PREFIX = "005", "00G"  # Salesforce's key prefixes of User and Group

# (csat settings, bulk_threshold): REST pages when the threshold is above the desk, Bulk
# result pages of 100 rows when it is below.
READS = {
    "rest-custom-object": ({**CUSTOM_OBJECT, "bulk_threshold": 100_000}),
    "bulk-custom-object": ({**CUSTOM_OBJECT, "bulk_threshold": 50, "bulk_page_records": 100}),
    "rest-feedback": ({**FEEDBACK, "bulk_threshold": 100_000}),
    "bulk-feedback": ({**FEEDBACK, "bulk_threshold": 50, "bulk_page_records": 100}),
}


def _history_since(desk: Any, moment: str) -> list[dict[str, Any]]:
    return [
        row
        for row in salesforce_face(desk).objects["CaseHistory"]
        if row["CreatedDate"] > moment and row["DataType"] == "EntityId"
    ]


@pytest.mark.parametrize("read", sorted(READS))
def test_a_backfill_then_report_equals_ground_truth(tmp_path: Path, read: str) -> None:
    with served_org(tmp_path, **READS[read]) as org:
        result = org.backfill()
        report, truth = org.report(), org.truth()
        paths = {path for path, _status in org.sandbox.served}
    assert report == truth
    assert result.streams and all(s.records for s in result.streams)
    assert any("/jobs/query" in p for p in paths) == read.startswith("bulk")


# A desk whose next four hours (advance seed 2) reassign, close, reopen, delete and rate:
# what a desk does in its next hours depends on the hour of day it stands at.
CHANGING_DESK_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("read", ["rest-custom-object", "bulk-feedback"])
def test_an_incremental_sync_after_changes_equals_ground_truth(tmp_path: Path, read: str) -> None:
    set_desk_now(CHANGING_DESK_NOW)
    with served_org(tmp_path, **READS[read]) as org:
        org.backfill()
        changed = advance_desk(org.desk, minutes=240, seed=2)
        owners = {row["NewValue"][:3] for row in _history_since(org.desk, changed["since"])}
        org.sync()
        report, truth = org.report(), org.truth()
    for kind in ("reassigned", "solved", "reopened", "closed", "deleted", "rated"):
        assert changed[kind], f"the desk's changes hold no {kind} case"
    assert {USER_PREFIX, QUEUE_PREFIX} <= owners, "reassigned to a user and to a queue both"
    assert report == truth


def test_rest_and_bulk_backfills_write_identical_tables(tmp_path: Path) -> None:
    with served_org(tmp_path / "rest", **READS["rest-custom-object"]) as org:
        org.backfill()
        desk, rest = org.desk, table_dump(org.engine)
    with served_org(tmp_path / "bulk", desk=desk, **READS["bulk-custom-object"]) as org:
        org.backfill()
        bulk = table_dump(org.engine)
    assert bulk == rest


def test_a_second_sync_with_no_change_changes_no_table(tmp_path: Path) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        org.sync()
        before = table_dump(org.engine)
        org.sync()
        after = table_dump(org.engine)
    assert after == before


def test_a_row_committed_late_with_an_earlier_stamp_is_read_by_the_next_overlap(
    tmp_path: Path,
) -> None:
    # Rows stamped within the last 3 minutes are invisible to a query until they commit
    # (Airbyte #27146); the next window starts 5 minutes (the overlap) before the last end.
    with served_org(tmp_path, sandbox={"commit_lag": timedelta(minutes=3)}, **CUSTOM_OBJECT) as org:
        org.sync()
        advance_desk(org.desk, minutes=4, seed=8)  # the late rows commit; new ones may be late
        org.sandbox.commit_lag = timedelta(0)
        org.sync()
        report, truth = org.report(), org.truth()
    assert report == truth
