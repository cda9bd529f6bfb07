"""Salesforce answers that say less than they should, over real HTTP through simple-salesforce
against the simulator (`SalesforceSandbox.bend`, `fail_bulk_jobs`): a page short of the
records it says it holds, a last page before the job's count, a missing column, a query
done before its total, a failed job, an answer of 300 and a login answer without a
session. None is taken for a whole read; each is read again or ends in one clear error."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.http import RetryPolicy
from connectors.salesforce import SalesforceConnector
from deskmetrics import pipeline
from interactions import SourceError, SourceUnavailableError
from tests.desks import set_desk_now
from tests.salesforce_desks import (
    CUSTOM_OBJECT,
    ENVIRON,
    SOURCE,
    backfill_key,
    one_error_line,
    retries_of_a_bent_backfill,
    served_org,
)
from warehouse.cursors import load_cursor

# Windows of several REST pages of 200; Bulk jobs of several result pages of 100.
REST = {**CUSTOM_OBJECT, "bulk_threshold": 100_000}
BULK = {**CUSTOM_OBJECT, "bulk_threshold": 50, "bulk_page_records": 100}


# --- Bulk result pages ----------------------------------------------------------------------


def test_a_bulk_page_holding_fewer_rows_than_it_says_is_read_again(tmp_path: Path) -> None:
    assert retries_of_a_bent_backfill(tmp_path, BULK, "short_page", path="/results") == 1


def test_a_bulk_page_that_says_it_is_the_last_before_the_job_count_is_read_again(
    tmp_path: Path,
) -> None:
    # The first result page of the first job (cases: 400 rows, pages of 100).
    assert retries_of_a_bent_backfill(tmp_path, BULK, "empty_locator", path="/results") == 1


def test_a_bulk_page_without_a_column_the_query_asked_for_is_read_again(tmp_path: Path) -> None:
    assert retries_of_a_bent_backfill(tmp_path, BULK, "no_last_column", path="/results") == 1


def test_bulk_pages_that_keep_missing_a_column_end_in_an_error_naming_it(tmp_path: Path) -> None:
    with served_org(tmp_path, **BULK) as org:
        org.sandbox.bend("no_last_column", times=1000, path_contains="/results")
        with pytest.raises(SourceUnavailableError, match="no column for SystemModstamp"):
            org.backfill()
        cursor = load_cursor(org.engine, SOURCE, backfill_key(org, "cases")) or {}
        assert cursor["job"] and cursor["job_read"] == 0  # nothing was taken as read


# --- a failed Bulk job -----------------------------------------------------------------------


def test_a_failed_bulk_job_ends_the_run_and_the_next_run_starts_a_new_job(tmp_path: Path) -> None:
    with served_org(tmp_path, **BULK) as org:
        org.sandbox.fail_bulk_jobs(times=1, message="Query timeout")
        with pytest.raises(SourceError, match="ended Failed: Query timeout"):
            org.backfill()
        # The failed job stays failed at Salesforce: the cursor no longer names it.
        cursor = load_cursor(org.engine, SOURCE, backfill_key(org, "cases")) or {}
        assert cursor.get("job") is None and cursor["at"] == cursor["from"]
        org.backfill()
        assert org.report() == org.truth()


# --- REST query pages ------------------------------------------------------------------------


def test_a_query_that_says_done_before_its_total_is_read_on_from_the_last_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with served_org(tmp_path, **REST) as org, caplog.at_level(logging.WARNING):
        org.sandbox.bend("early_done", times=1)  # the cases' first page of 200 (of 400)
        org.backfill()
        assert org.report() == org.truth()
    said = [r.getMessage() for r in caplog.records if "ended after" in r.getMessage()]
    assert said == [
        "service cases: the query said it holds 400 records and ended after 200; querying "
        "again from the last record stored"
    ]


def test_queries_that_always_end_before_their_total_are_read_on_a_query_at_a_time(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **REST) as org:
        org.sandbox.bend("early_done", times=1000)  # every page that has more to follow
        org.backfill()
        assert org.report() == org.truth()


# --- answers the client cannot use -----------------------------------------------------------


def test_an_answer_of_300_is_one_error_line_that_quotes_no_record(tmp_path: Path) -> None:
    with served_org(tmp_path, **REST) as org:
        org.sandbox.bend("multiple_choices", times=1000, path_contains="/query")
        result = org.cli("sync")
        emails = {user.email for user in org.desk.users.values() if user.role == "end-user"}
    line = one_error_line(result)
    assert "answered 300 without a redirect to follow" in line
    assert emails and not any(email in result.stderr for email in emails)


@pytest.mark.parametrize(
    ("auth", "said"),
    [
        ({}, "answered the login with text that is not XML"),
        (
            {"auth": "client_credentials", "client_id": "sandbox-consumer-key"},
            "answered the login without a session in it",
        ),
    ],
)
def test_a_login_answer_without_a_session_is_an_error_that_says_so(
    tmp_path: Path, auth: dict[str, str], said: str
) -> None:
    secrets = {**ENVIRON, "SALESFORCE_CLIENT_SECRET": "sandbox-consumer-secret"}
    with served_org(tmp_path, **REST, **auth) as org:
        org.sandbox.bend("no_session", times=1000)
        since, _ = org.period()
        config = org.settings.source_config(SOURCE, secrets)
        with pytest.raises(SourceUnavailableError, match=said) as failed:
            pipeline.backfill(org.engine, org.settings, SOURCE, since, None, config=config)
    assert "sandbox-password" not in str(failed.value)


# --- a CSAT field named in another letter case ---------------------------------------------------


def test_a_csat_field_spelled_in_another_letter_case_fails_the_check_with_its_spelling(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **{**REST, "csat_score_field": "score__c"}) as org:
        result = org.cli("check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert failed == [
        "source service: FAILED: source 'service': csat_score_field = 'score__c' is spelled "
        "'Score__c' in Case_Survey__c. Set sources.service.csat_score_field = 'Score__c', as "
        "Setup > Object Manager shows its API name."
    ]


def test_a_sync_with_a_csat_field_in_another_letter_case_reads_nothing_and_says_why(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **{**REST, "csat_score_field": "score__c"}) as org:
        result = org.cli("sync")
        assert org.report() == []
    assert "is spelled 'Score__c'" in one_error_line(result)


# --- headers --------------------------------------------------------------------------------


def test_an_allowance_header_with_a_number_no_allowance_has_is_left_unread(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **REST) as org:
        org.sandbox.bend("long_limit_info", times=1000, path_contains="/services/data/")
        result = org.backfill()
        assert org.report() == org.truth()
    # The login's answer, the last whose header reads, says what the allowance is.
    assert "daily API allowance 0/100000 used" in result.usage.summary()


# --- the org's clock, before the first request of a run --------------------------------------


def test_a_resumed_window_ends_on_the_orgs_clock_not_this_machines(tmp_path: Path) -> None:
    # The org's clock an hour behind this machine's; a run that resumes with the org's
    # facts kept in its cursor sets its window's end before its first request.
    set_desk_now(datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1))
    with served_org(tmp_path, **REST) as org:
        org.backfill()
        kept = load_cursor(org.engine, SOURCE, backfill_key(org, "cases")) or {}
        since, _ = org.period()
        start = datetime.combine(since, datetime.min.time(), UTC)
        config = org.settings.source_config(SOURCE, ENVIRON)
        with SalesforceConnector(config, RetryPolicy(sleep=lambda _s: None)) as connector:
            first = next(connector.pages("cases", {"org": kept["org"]}, start, None))
        server_now = org.desk.now
    assert datetime.fromisoformat(first.cursor["to"]) <= server_now
