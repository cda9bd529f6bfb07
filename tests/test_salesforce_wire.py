"""Salesforce whatever the wire brings (issue 22): over real HTTP through simple-salesforce
against the simulator, which bends its own answers (`SalesforceSandbox.bend`, `short_ids`):
no credential in clear text, no partial read taken for a whole one, no endless loop, no
customer address kept, one `Error:` line for a body that cannot be read, one agent whatever
the form of its Id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from deskmetrics.settings import load_settings
from interactions import ConfigError, CursorStuckError, SourceUnavailableError
from tests.desks import table_dump
from tests.salesforce_desks import (
    CUSTOM_OBJECT,
    SOURCE,
    ServedOrg,
    backfill_key,
    one_error_line,
    retries_of_a_bent_backfill,
    served_org,
    write_settings,
)
from warehouse.cursors import load_cursor
from warehouse.schema import agents, quarantine, status_changes

# Windows of several REST pages of 200; Bulk jobs of several result pages of 100.
REST = {**CUSTOM_OBJECT, "bulk_threshold": 100_000}
BULK = {**CUSTOM_OBJECT, "bulk_threshold": 50, "bulk_page_records": 100}
HISTORY_KEY = "case_history"


def _cli_backfill(org: ServedOrg, *args: str) -> Any:
    since, _ = org.period()
    return org.cli("backfill", "--source", SOURCE, "--since", since.isoformat(), *args)


# --- 1. no credential in clear text -------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["http://acme.my.salesforce.com", "http://10.1.2.3:8080", "http://example.org/"]
)
def test_plain_http_to_another_machine_is_refused_when_the_settings_load(
    tmp_path: Path, address: str
) -> None:
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", address)
    with pytest.raises(ConfigError, match=r"plain http.*clear text") as refused:
        load_settings(path)
    assert "https://" in str(refused.value)


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8766", "http://localhost:8766", "http://127.8.9.1"]
)
def test_plain_http_to_this_machine_is_accepted(tmp_path: Path, address: str) -> None:
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", address)
    assert load_settings(path).sources[SOURCE].instance_url == address  # type: ignore[union-attr]


def test_a_sync_with_plain_http_to_another_machine_sends_nothing_and_says_why(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **REST) as org:
        text = org.settings_path.read_text()
        org.settings_path.write_text(
            text.replace(org.sandbox.instance_url, "http://acme.my.salesforce.com")
        )
        result = org.cli("sync")
        assert org.sandbox.request_count == 0
    assert "plain http" in one_error_line(result)


# --- 2. a page is complete only when it says so -------------------------------------------


def test_a_query_page_without_done_but_with_its_next_link_is_followed(tmp_path: Path) -> None:
    # The link says more follow: nothing to read again.
    assert retries_of_a_bent_backfill(tmp_path, REST, "no_done", times=5) == 0


def test_a_query_page_that_says_neither_done_nor_where_the_rest_is_is_read_again(
    tmp_path: Path,
) -> None:
    assert retries_of_a_bent_backfill(tmp_path, REST, "cut_page", path="-200") == 1


def test_a_cut_page_that_persists_ends_in_an_error_with_the_cursor_where_stored_rows_end(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **REST) as org:
        # Every second page of every query is cut: the history's first page is stored, and
        # its cursor stays at that page's last stamp, not at the window's end.
        org.sandbox.bend("cut_page", times=1000, path_contains="-200")
        with pytest.raises(SourceUnavailableError, match="neither that it is done"):
            org.backfill()
        cursor = load_cursor(org.engine, SOURCE, backfill_key(org, "cases")) or {}
        assert cursor.get("done") is False
        assert cursor["at"] < cursor["to"]
        org.sandbox.clear_bends()
        org.backfill()
        assert org.report() == org.truth()


def test_a_bulk_page_without_its_locator_is_read_again_unless_the_job_count_ends_there(
    tmp_path: Path,
) -> None:
    # The second page of the cases' job is not the last: read again. The last page of
    # every job holds the rest of the job's count: taken as the last.
    assert retries_of_a_bent_backfill(tmp_path, BULK, "no_locator", path="/results") == 1


def test_a_bulk_page_that_never_gives_its_locator_is_a_clear_error_and_keeps_the_cursor(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **BULK) as org:
        org.sandbox.bend("no_locator", times=1000, path_contains="/results")
        with pytest.raises(SourceUnavailableError, match="without Sforce-Locator"):
            org.backfill()
        cursor = load_cursor(org.engine, SOURCE, backfill_key(org, "cases")) or {}
        assert cursor["job"] and cursor["job_read"] == 0  # nothing was taken as read
        org.sandbox.clear_bends()
        org.backfill()
        assert org.report() == org.truth()


# --- 3. no endless loop under backfill -----------------------------------------------------


def test_fresh_links_to_the_same_records_stop_the_pass_long_before_the_allowance(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **REST) as org:
        org.sandbox.bend("fresh_link", times=100_000, path_contains="/query")
        with pytest.raises(CursorStuckError, match="the same records again"):
            org.backfill()
        pages = [p for p, _ in org.sandbox.served if "/query" in p]
    # Each pass stops once it has read more records than its query holds: a few pages.
    assert len(pages) < 40, len(pages)


def test_bulk_locators_that_go_round_stop_the_pass(tmp_path: Path) -> None:
    with served_org(tmp_path, **BULK) as org:
        org.sandbox.bend("locator_cycle", times=100_000, path_contains="/results")
        with pytest.raises(CursorStuckError, match="sent before"):
            org.backfill()
        results = [p for p, _ in org.sandbox.served if p.endswith("/results")]
    assert len(results) < 20, len(results)


def test_a_bulk_job_that_never_completes_ends_a_backfill_at_its_time_bound(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, {"bulk_polls_in_progress": 10**9}, **BULK) as org:
        text = org.settings_path.read_text()
        org.settings_path.write_text(
            text.replace("[sync]\n", "[sync]\nmax_backfill_minutes = 0.1\n")
        )
        result = _cli_backfill(org)
        polls = [p for p, _ in org.sandbox.served if p.rstrip("/").split("/")[-2] == "query"]
    assert "sync.max_backfill_minutes" in one_error_line(result)
    # Waits of 0.5, 1, 2, 4 s… until the bound of 6 s: long enough for the login and the
    # window's first query to reach the job on a loaded machine, too short for 10 polls.
    assert 1 <= len(polls) < 10, polls


# --- 4. quarantine keeps no customer address -----------------------------------------------


def test_a_quarantined_web_case_keeps_only_the_fields_read_and_its_address_hashed(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, bad_records="quarantine", **REST) as org:
        web = next(c for c in org.sandbox.face().objects["Case"] if c["SuppliedEmail"])
        web["CreatedDate"] = "last tuesday"
        org.backfill()
        with org.engine.connect() as conn:
            kept = conn.execute(select(quarantine.c.record_id, quarantine.c.record)).one()
    record = json.loads(kept.record)
    assert kept.record_id == web["Id"]
    assert set(record) == {
        "Id", "OwnerId", "Status", "IsClosed", "IsDeleted", "ContactId", "SuppliedEmail",
        "ClosedDate", "CreatedDate", "LastModifiedDate", "SystemModstamp",
    }  # fmt: skip
    assert record["SuppliedEmail"].startswith("email:")
    assert web["SuppliedEmail"] not in kept.record
    assert "Subject" not in record and "attributes" not in record


# --- 5. a body that cannot be read: retried, then one Error: line ------------------------


@pytest.mark.parametrize(
    ("bend", "where"),
    [
        ("bad_count", "/results"),
        ("bad_utf8", "/results"),
        ("deep_json", "/query"),
        ("deep_json", "/jobs/query"),
    ],
)
def test_a_body_that_cannot_be_read_is_tried_again_then_one_error_line_naming_the_request(
    tmp_path: Path, bend: str, where: str
) -> None:
    with served_org(tmp_path, **BULK) as org:
        org.sandbox.bend(bend, times=1000, path_contains=where)
        result = _cli_backfill(org)
        bent = [p for p, _ in org.sandbox.served if where in p]
    error = one_error_line(result)
    assert "gave up after 3 tries" in error and SOURCE in error
    assert len(bent) >= 3


@pytest.mark.parametrize("bend", ["bad_count", "bad_utf8", "deep_json"])
def test_a_body_that_cannot_be_read_once_is_read_again_and_nothing_is_lost(
    tmp_path: Path, bend: str
) -> None:
    where = None if bend == "deep_json" else "/results"
    assert retries_of_a_bent_backfill(tmp_path, BULK, bend, path=where) == 1


# --- 6. one agent, whatever the form of its Id ---------------------------------------------


@pytest.mark.parametrize("shortened", ["CaseHistory", "User", "Case"])
def test_15_character_ids_in_one_stream_make_no_second_agent(
    tmp_path: Path, shortened: str
) -> None:
    with served_org(tmp_path, **REST) as org:
        org.sandbox.short_ids = {shortened}
        org.backfill()
        with org.engine.connect() as conn:
            listed = conn.execute(select(func.count()).select_from(agents)).scalar_one()
            nameless = conn.execute(
                select(func.count()).select_from(agents).where(agents.c.name.is_(None))
            ).scalar_one()
            changes = conn.execute(select(func.count()).select_from(status_changes)).scalar_one()
        report = org.report()
        assert report == org.truth()
    assert listed == len(org.sandbox.face().objects["User"]) and nameless == 0
    assert changes > 0
    assert all(len(row["agent_id"]) == 18 for row in report if row["agent_id"])


def test_a_backfill_with_short_ids_writes_the_same_tables_as_one_without(tmp_path: Path) -> None:
    with served_org(tmp_path / "long", **BULK) as org:
        org.backfill()
        expected, desk = table_dump(org.engine), org.desk
    with served_org(tmp_path / "short", desk=desk, **BULK) as org:
        org.sandbox.short_ids = {"CaseHistory", "User", "Case", "Case_Survey__c"}
        org.backfill()
        assert table_dump(org.engine) == expected
