"""The Salesforce connector under bad settings, expiring sessions, limits, timeouts, expired
links and kills, over real HTTP through simple-salesforce against the simulator: one clear
error before any data request, or the same tables as an undisturbed run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from deskmetrics import pipeline
from interactions import (
    AllowanceExhaustedError,
    AuthenticationError,
    ConfigError,
    MalformedRecordError,
)
from sandbox.desk import DeskSpec, generate_desk
from sandbox.salesforce.logins import jwt_key_pair
from tests.desks import desk_now, run_cli, table_dump
from tests.salesforce_desks import (
    CUSTOM_OBJECT,
    DESK,
    ENVIRON,
    FEEDBACK,
    SOURCE,
    ServedOrg,
    served_org,
)
from warehouse.schema import interactions, quarantine, runs


def _data_queries(org: ServedOrg) -> list[str]:
    """The paths served that read records (login, describe and CaseStatus are not counted)."""
    return [p for p, _ in org.sandbox.served if "/query" in p or "/jobs/" in p]


def _clean_tables(tmp_path: Path, **source: Any) -> tuple[Any, dict[str, Any]]:
    with served_org(tmp_path / "clean", **source) as org:
        org.backfill()
        return org.desk, table_dump(org.engine)


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"csat_score_field": "Scroe__c"}, "csat_score_field = 'Scroe__c' is not a field"),
        ({"csat_case_field": "Ticket__c"}, "csat_case_field = 'Ticket__c' is not a field"),
        ({"csat_object": "Case_Survey_Typo__c"}, "'Case_Survey_Typo__c' is not an object"),
    ],
)
def test_a_misspelt_csat_setting_is_one_error_naming_it_before_any_data_query(
    tmp_path: Path, setting: dict[str, str], named: str
) -> None:
    with served_org(tmp_path, **{**CUSTOM_OBJECT, **setting}) as org:
        with pytest.raises(ConfigError, match=named):
            org.backfill()
        served = [p for p, _ in org.sandbox.served]
    assert not [p for p in served if "/query" in p], served


def test_a_question_that_does_not_exist_is_one_error_naming_it(tmp_path: Path) -> None:
    with served_org(tmp_path, csat_question="customer_happiness") as org:
        with pytest.raises(ConfigError, match="'customer_happiness' names no SurveyQuestion"):
            org.backfill()
        queried = [p for p in _data_queries(org)]
    assert len(queried) == 1  # the question's look-up, and no record of any case


def test_a_missing_secret_is_one_error_before_any_request(tmp_path: Path) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        environ = {k: v for k, v in ENVIRON.items() if "PASSWORD" not in k}
        with pytest.raises(ConfigError, match=r"DESKMETRICS_TEST_SF_PASSWORD .* is not set"):
            org.settings.source_config("service", environ)
        result = run_cli(["sync", "--config", str(org.settings_path)], environ)
        assert org.sandbox.request_count == 0
    assert result.returncode == 1
    assert "DESKMETRICS_TEST_SF_PASSWORD" in result.stderr


def test_a_wrong_password_is_an_authentication_error_that_shows_no_secret(
    tmp_path: Path,
) -> None:
    with (
        served_org(tmp_path, sandbox={"password": "another-password"}, **CUSTOM_OBJECT) as org,
        pytest.raises(AuthenticationError, match="refused the login") as refused,
    ):
        org.backfill()
    assert "sandbox-password" not in str(refused.value)
    assert "DESKMETRICS_TEST_SF_PASSWORD" in str(refused.value)


def _logged_in_with(tmp_path: Path, auth: dict[str, str], secrets: dict[str, str]) -> Any:
    """A backfill with `auth` settings and `secrets` in their variables, against an org
    that takes the JWT key pair's public half."""
    private_pem, public_pem = jwt_key_pair()
    secrets = {k: v.replace("<private key>", private_pem) for k, v in secrets.items()}
    sandbox = {"jwt_public_key_pem": public_pem}
    with served_org(tmp_path, sandbox, **CUSTOM_OBJECT, **auth) as org:
        since, _ = org.period()
        config = org.settings.source_config(SOURCE, {**ENVIRON, **secrets})
        pipeline.backfill(org.engine, org.settings, SOURCE, since, None, config=config)
        logins = [p for p, _ in org.sandbox.served if "/oauth2/" in p or "/Soap/" in p]
        return logins, org.report() == org.truth()


def test_oauth_client_credentials_log_in_against_the_instance(tmp_path: Path) -> None:
    auth = {"auth": "client_credentials", "client_id": "sandbox-consumer-key"}
    secrets = {"SALESFORCE_CLIENT_SECRET": "sandbox-consumer-secret"}
    logins, equal = _logged_in_with(tmp_path, auth, secrets)
    assert logins == ["/services/oauth2/token"] and equal


def test_a_jwt_bearer_assertion_signed_with_the_private_key_logs_in(tmp_path: Path) -> None:
    auth = {"auth": "jwt", "client_id": "sandbox-consumer-key"}
    secrets = {"SALESFORCE_PRIVATE_KEY": "<private key>"}
    logins, equal = _logged_in_with(tmp_path, auth, secrets)
    assert logins == ["/services/oauth2/token"] and equal


def test_a_jwt_signed_with_another_key_is_refused_naming_the_key_variable(
    tmp_path: Path,
) -> None:
    other_private, _ = jwt_key_pair()
    auth = {"auth": "jwt", "client_id": "sandbox-consumer-key"}
    with pytest.raises(AuthenticationError, match="SALESFORCE_PRIVATE_KEY") as refused:
        _logged_in_with(tmp_path, auth, {"SALESFORCE_PRIVATE_KEY": other_private})
    assert "PRIVATE KEY" not in str(refused.value)


def test_a_session_that_expires_mid_sync_is_renewed_without_losing_a_page(
    tmp_path: Path,
) -> None:
    desk, expected = _clean_tables(tmp_path, **CUSTOM_OBJECT)
    with served_org(tmp_path / "expiring", {"session_lifetime": 4}, desk, **CUSTOM_OBJECT) as org:
        org.backfill()
        logins = [p for p, _ in org.sandbox.served if "/Soap/" in p]
        refused = [p for p, status in org.sandbox.served if status == 401]
        assert table_dump(org.engine) == expected
    assert len(logins) >= 3 and len(refused) == len(logins) - 1


def test_request_limit_exceeded_stops_with_its_cursor_and_a_later_run_finishes(
    tmp_path: Path,
) -> None:
    desk, expected = _clean_tables(tmp_path, **CUSTOM_OBJECT)
    # Other integrations used all but 12 requests of the org's allowance.
    used = {"daily_allowance": 1000, "api_usage": 988}
    with served_org(tmp_path / "limited", used, desk, **CUSTOM_OBJECT) as org:
        with pytest.raises(AllowanceExhaustedError, match="REQUEST_LIMIT_EXCEEDED"):
            org.backfill()
        refusals = [p for p, status in org.sandbox.served if status == 403]
        assert table_dump(org.engine) != expected  # a part was stored
        org.sandbox.api_usage = 0  # the rolling 24 hours freed requests
        org.backfill()
        assert table_dump(org.engine) == expected
        with org.engine.connect() as conn:
            failed = conn.execute(select(runs).where(runs.c.status == "failed")).one()
    assert len(refusals) == 1, "no retry storm against a daily allowance"
    assert failed.requests >= 12
    assert "REQUEST_LIMIT_EXCEEDED" in failed.detail
    assert "daily API allowance 1000/1000 used" in failed.detail


def test_the_allowance_share_stops_each_run_cleanly_and_later_runs_finish(
    tmp_path: Path,
) -> None:
    desk, expected = _clean_tables(tmp_path, **CUSTOM_OBJECT)
    # 7 requests of 1,000 a run: a backfill of this desk takes three runs or more.
    source = {**CUSTOM_OBJECT, "max_allowance_share": 0.007}
    with served_org(tmp_path / "capped", {"daily_allowance": 1000}, desk, **source) as org:
        stops = 0
        while org.backfill().stopped:
            stops += 1
            assert stops < 20, "the runs made no progress"
        assert table_dump(org.engine) == expected
    assert stops >= 2


def test_a_query_timeout_halves_the_window_and_reads_everything(tmp_path: Path) -> None:
    desk, expected = _clean_tables(tmp_path, **CUSTOM_OBJECT)
    with served_org(tmp_path / "slow", desk=desk, **CUSTOM_OBJECT) as org:
        org.sandbox.inject_error("QUERY_TIMEOUT", times=2, path_contains="/queryAll/")
        org.backfill()
        case_queries = [p for p in _data_queries(org) if p.endswith("/queryAll/")]
        assert table_dump(org.engine) == expected
    assert len(case_queries) >= 4  # two timed out, then at least two halves


def test_an_expired_next_page_link_queries_again_from_the_last_stored_record(
    tmp_path: Path,
) -> None:
    desk, expected = _clean_tables(tmp_path, **CUSTOM_OBJECT)
    with served_org(tmp_path / "expired", desk=desk, **CUSTOM_OBJECT) as org:
        # The second page of every query: its locator has expired.
        org.sandbox.inject_error("INVALID_QUERY_LOCATOR", times=3, path_contains="-200")
        org.backfill()
        assert table_dump(org.engine) == expected


def _sync(org: ServedOrg) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "deskmetrics", "sync", "--config", str(org.settings_path)],
        env={**os.environ, **ENVIRON},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("read", ["rest", "bulk"])
def test_a_sync_killed_at_any_page_resumes_to_identical_tables(tmp_path: Path, read: str) -> None:
    source = {**FEEDBACK, "bulk_threshold": 50 if read == "bulk" else 100_000}
    source |= {"bulk_page_records": 200}
    # Each stop costs two whole syncs: a desk as small as still takes several pages a stream.
    small = generate_desk(DeskSpec(now=desk_now(), **{**DESK, "tickets": 120, "customers": 50}))
    # Jobs done at their first poll: the syncs run in child processes, whose waits are real.
    quick_jobs = {"bulk_polls_in_progress": 0}
    with served_org(tmp_path / "clean", quick_jobs, small, **source) as org:
        org.sync()
        expected, desk = table_dump(org.engine), org.desk
        served = [path for path, _ in org.sandbox.served]
    requests = len(served)
    pages = [p for p in served if "query" in p]
    assert len(pages) >= 8, f"too few pages to stop between: {pages}"
    # A kill while each request is in flight: every one from the fourth on (the login and
    # checks before it store nothing); on the Bulk path, each request of its jobs (creation,
    # polls, result pages), the REST ones being the other test's.
    stops = [
        n
        for n, path in enumerate(served, 1)
        if n >= 4 and (read == "rest" or "/jobs/" in path or n == requests)
    ]
    for stop in stops:
        with served_org(tmp_path / f"killed-{stop}", quick_jobs, desk, **source) as org:
            if stop > 1:
                org.sandbox.inject("slow", times=stop - 1, delay=0.0)
            org.sandbox.inject("hang")
            child = _sync(org)
            try:
                assert org.sandbox.wait_for_hang(1, timeout=120), f"never reached {stop}"
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=60)
            finally:
                org.sandbox.release()
                org.sandbox.faults.clear()
            # Resumed in this process: only the killed run needs a process of its own.
            org.sync()
            assert table_dump(org.engine) == expected, f"killed at {served[stop - 1]} ({stop})"


def _spoil_a_case(org: ServedOrg) -> str:
    """One case of the served org gets an opening time that is no time (a hostile record)."""
    case = org.sandbox.face().objects["Case"][7]
    case["CreatedDate"] = "last tuesday"
    return str(case["Id"])


def test_a_case_that_cannot_be_read_stops_its_stream_naming_it(tmp_path: Path) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        spoilt = _spoil_a_case(org)
        with pytest.raises(MalformedRecordError, match=f"Case.*{spoilt}.*CreatedDate"):
            org.backfill()


def test_with_quarantine_a_case_that_cannot_be_read_is_set_aside_and_the_rest_stored(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, bad_records="quarantine", **CUSTOM_OBJECT) as org:
        spoilt = _spoil_a_case(org)
        org.backfill()
        with org.engine.connect() as conn:
            set_aside = conn.execute(select(quarantine.c.record_id, quarantine.c.stream)).all()
            stored = {r.interaction_id for r in conn.execute(select(interactions))}
        cases = len(org.sandbox.face().objects["Case"])
    assert set_aside == [(spoilt, "cases")]
    assert len(stored) == cases - 1 and spoilt not in stored


def test_check_logs_in_and_reads_what_a_sync_needs_before_its_first_data_query(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        result = org.cli("check")
        records_read = [p for p in _data_queries(org) if "CaseStatus" not in p]
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "logged in (password); CSAT from Case_Survey__c (answers dated by Responded_At__c); "
        "closed statuses:" in result.stdout
    )
    assert "Closed" in result.stdout
    assert len(records_read) == 1  # the CaseStatus query; no case was read


def test_status_shows_each_salesforce_stream_and_the_runs_share_of_the_allowance(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        assert org.cli("sync").returncode == 0
        shown = org.cli("status").stdout
    for stream in ("agents", "cases", "case_history", "ratings"):
        assert f"service {stream}: pass 1 finished" in shown
    assert "CSAT read" not in shown  # Zendesk's choice of CSAT; a Salesforce org has none
    assert "daily API allowance" in shown and "by this run)" in shown


def test_a_login_server_that_is_briefly_down_is_retried_not_taken_for_bad_credentials(
    tmp_path: Path,
) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        org.sandbox.inject("503", times=2, path_contains="/Soap/")
        org.backfill()
        logins = [status for path, status in org.sandbox.served if "/Soap/" in path]
        assert org.report() == org.truth()
    assert logins == [503, 503, 200]
    assert len(org.sleeps) == 2  # two waits of the retry policy, none real


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "reset"])
def test_a_query_page_that_fails_once_is_retried_and_nothing_is_lost(
    tmp_path: Path, fault: str
) -> None:
    with served_org(tmp_path, **CUSTOM_OBJECT) as org:
        org.sandbox.inject(fault, times=1, path_contains="-200")  # a second page
        org.backfill()
        assert org.report() == org.truth()


def test_a_feedback_answer_set_aside_costs_no_query_per_row_of_its_page(tmp_path: Path) -> None:
    with served_org(tmp_path, bad_records="quarantine", **FEEDBACK) as org:
        objects = org.sandbox.face().objects
        csat = next(q["Id"] for q in objects["SurveyQuestion"] if q["DeveloperName"] == "csat")
        answers = [a for a in objects["SurveyQuestionResponse"] if a["QuestionId"] == csat]
        answers[3]["NumberValue"] = "lots"
        org.backfill()
        subject_queries = sum(
            1 for path, _ in org.sandbox.served if path.endswith("/query/")
        ) - sum(1 for path, _ in org.sandbox.served if path.endswith("/queryAll/"))
        with org.engine.connect() as conn:
            set_aside = conn.execute(select(quarantine.c.record_id, quarantine.c.stream)).all()
    assert set_aside == [(answers[3]["Id"], "ratings")]
    # Login checks, users, CaseStatus, history and answer pages, and one SurveySubject query
    # per page of answers: far fewer than the page's 200 rows.
    assert subject_queries < 40


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("API_CURRENTLY_DISABLED", '"API Enabled"'),
        ("PASSWORD_LOCKOUT", "locked out"),
        ("LOGIN_MUST_USE_SECURITY_TOKEN", "security token"),
    ],
)
def test_a_login_fault_other_than_a_wrong_password_says_what_to_do(
    tmp_path: Path, fault: str, said: str
) -> None:
    with (
        served_org(tmp_path, sandbox={"login_fault": fault}, **CUSTOM_OBJECT) as org,
        pytest.raises(AuthenticationError, match=f"refused the login \\({fault}\\)") as refused,
    ):
        org.backfill()
    assert said in str(refused.value) and "sandbox-password" not in str(refused.value)


def test_an_org_that_asks_for_no_security_token_takes_an_empty_one(tmp_path: Path) -> None:
    with served_org(tmp_path, sandbox={"security_token": ""}, **CUSTOM_OBJECT) as org:
        since, _ = org.period()
        config = org.settings.source_config(SOURCE, {**ENVIRON, "DESKMETRICS_TEST_SF_TOKEN": ""})
        pipeline.backfill(org.engine, org.settings, SOURCE, since, None, config=config)
        assert org.report() == org.truth()


@pytest.mark.parametrize(
    ("setting", "field", "said"),
    [
        ("csat_case_field", "Id", "not a lookup to Case"),
        ("csat_score_field", "Comment__c", "is a textarea field of Case_Survey__c, not a number"),
        ("csat_date_field", "Name", "not a date or date-time"),
    ],
)
def test_a_csat_field_of_the_wrong_kind_is_one_error_naming_the_setting(
    tmp_path: Path, setting: str, field: str, said: str
) -> None:
    settings = {**CUSTOM_OBJECT, setting: field}
    with served_org(tmp_path, **settings) as org, pytest.raises(ConfigError) as refused:
        org.backfill()
    assert f"{setting} = {field!r}" in str(refused.value) and said in str(refused.value)


def _warned(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    about: str,
    sandbox: dict[str, Any] | None = None,
    **settings: Any,
) -> list[str]:
    """The warnings about `about` that a backfill of an org with these settings logs."""
    with served_org(tmp_path, sandbox, **settings) as org, caplog.at_level("WARNING"):
        org.backfill()
    return [r.getMessage() for r in caplog.records if about in r.getMessage()]


def test_answers_off_the_csat_scale_are_said_not_dropped_in_silence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The org's 0..10 question read on the default 1..5 scale.
    said = _warned(tmp_path, caplog, "off the CSAT scale 1..5", csat_question="nps")
    assert len(said) == 1 and "they count nowhere" in said[0]


def test_answers_on_the_csat_scale_raise_no_scale_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert not _warned(tmp_path, caplog, "off the CSAT scale", **FEEDBACK)


def test_a_case_field_hidden_by_field_level_security_is_named_with_the_fix(
    tmp_path: Path,
) -> None:
    hidden = {"hidden_fields": {"Case": frozenset({"SuppliedEmail"})}}
    with (
        served_org(tmp_path, hidden, **CUSTOM_OBJECT) as org,
        pytest.raises(ConfigError) as refused,
    ):
        org.backfill()
    said = str(refused.value)
    assert "cannot read the field SuppliedEmail of Case" in said
    assert "field-level security" in said and "Case.SuppliedEmail" in said


def test_a_csat_field_hidden_by_field_level_security_is_not_called_misspelt(
    tmp_path: Path,
) -> None:
    hidden = {"hidden_fields": {"Case_Survey__c": frozenset({"Score__c"})}}
    with (
        served_org(tmp_path, hidden, **CUSTOM_OBJECT) as org,
        pytest.raises(ConfigError, match="field-level security") as refused,
    ):
        org.backfill()
    assert "csat_score_field = 'Score__c'" in str(refused.value)


@pytest.mark.parametrize("field", ["Owner", "Status"])
def test_case_history_without_a_tracked_field_is_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    untracked = {"untracked": frozenset({field})}
    said = _warned(tmp_path, caplog, "field history tracking", untracked, **CUSTOM_OBJECT)
    assert len(said) == 1 and f"CaseHistory has no {field} row" in said[0]


def test_case_history_with_both_fields_tracked_raises_no_history_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert not _warned(tmp_path, caplog, "field history tracking", **CUSTOM_OBJECT)
