"""`deskmetrics reconcile` against the Salesforce sandbox, whose aggregate SOQL counts records
per day as Salesforce does (deleted cases not in `query`, `convertTimezone` in the API
user's time zone): a warehouse synced completely reconciles with no difference in the cases
created, the cases closed and the CSAT answers per day; one missing cases, a closed case or
an answer, or holding a case since deleted in the org, shows the days, the counts and the
size of the difference and exits 1; a settings time zone that is not the API user's is
refused; CSAT kept where one aggregate query cannot count it is said not to be compared."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from deskmetrics.reconcile import CREATED, RATINGS, RESOLVED, Reconciliation
from deskmetrics.settings import Settings
from interactions import ConfigError
from sandbox.salesforce.ids import case_id
from tests.desks import set_desk_now
from tests.reconcile_desks import (
    FIXED_NOW,
    compared,
    delete_at_source,
    differences,
    drop_answered_rating,
    drop_first_page,
    drop_interactions,
    reconcile_cli,
    reconciled,
    resolved_interaction,
)
from tests.salesforce_desks import CUSTOM_OBJECT, ENVIRON, FEEDBACK, SOURCE, ServedOrg, served_org

PARIS = "Europe/Paris"


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[ServedOrg]:
    set_desk_now(FIXED_NOW)
    with served_org(tmp_path, {"user_time_zone": PARIS}, **CUSTOM_OBJECT) as served:
        served.backfill()  # from the period's start: `sync` looks back from the wall clock
        yield served


def reconcile_org(served: ServedOrg, timezone: str = "UTC") -> Reconciliation:
    settings = Settings.model_validate({**served.settings.model_dump(), "timezone": timezone})
    return reconciled(served, SOURCE, ENVIRON, settings)


def test_a_completely_synced_org_reconciles_with_no_difference(synced: ServedOrg) -> None:
    found = reconcile_org(synced)
    assert len(found.days) >= 20 and found.differing == [] and found.not_compared == {}
    for what in (CREATED, RESOLVED, RATINGS):
        assert sum(c.at_source for c in found.counts if c.what == what) > 0, what


def test_salesforce_spends_a_login_and_an_aggregate_query_per_count(synced: ServedOrg) -> None:
    # and one describe of the CSAT object: is its answer date a Date or a date-time?
    assert reconcile_org(synced).requests == 1 + 1 + 3


def test_days_in_the_api_users_time_zone_reconcile_when_the_settings_share_it(
    synced: ServedOrg,
) -> None:
    found = reconcile_org(synced, PARIS)
    assert len(found.days) >= 20 and found.differing == []
    for what in (CREATED, RESOLVED, RATINGS):
        assert sum(c.at_source for c in found.counts if c.what == what) > 0, what
    assert found.requests == 1 + 1 + 1 + 3  # and the userinfo request


def test_a_settings_time_zone_other_than_the_api_users_is_refused(synced: ServedOrg) -> None:
    with pytest.raises(ConfigError, match=r"API user's time zone Europe/Paris.*America/Chicago"):
        reconcile_org(synced, "America/Chicago")


def test_a_warehouse_missing_cases_shows_the_days_and_the_sizes(synced: ServedOrg) -> None:
    missing = drop_first_page(synced.engine)
    found = reconcile_org(synced)
    assert differences(found) == compared(missing, found)


def test_a_closed_case_missing_from_the_warehouse_shows_on_its_closed_day(
    synced: ServedOrg,
) -> None:
    case, closed_at = resolved_interaction(synced.engine, FIXED_NOW - timedelta(days=2))
    missing = drop_interactions(synced.engine, [case])
    found = reconcile_org(synced)
    assert differences(found)[(closed_at.date(), RESOLVED)] == -1
    assert differences(found) == compared(missing, found)


def test_an_answer_missing_from_the_warehouse_shows_on_its_day(synced: ServedOrg) -> None:
    missing = drop_answered_rating(synced.engine, FIXED_NOW - timedelta(days=2))
    found = reconcile_org(synced)
    assert differences(found) == missing


def test_a_case_deleted_in_the_org_since_the_sync_shows_on_its_days(synced: ServedOrg) -> None:
    extra = delete_at_source(synced, 5, case_id)
    found = reconcile_org(synced)
    assert differences(found) == compared(extra, found) != {}


def test_feedback_management_answers_are_said_not_to_be_compared(tmp_path: Path) -> None:
    set_desk_now(FIXED_NOW)
    with served_org(tmp_path, **FEEDBACK) as served:
        served.backfill()
        found = reconcile_org(served)
    assert list(found.not_compared) == [RATINGS]
    assert "SurveySubject" in found.not_compared[RATINGS]
    assert {count.what for count in found.counts} == {CREATED, RESOLVED}


def test_reconcile_exits_1_naming_the_day_and_the_requests_spent(synced: ServedOrg) -> None:
    drop_answered_rating(synced.engine, FIXED_NOW - timedelta(days=2))
    done = reconcile_cli(synced, SOURCE)
    assert done.returncode == 1
    assert "  ratings answered  " in done.stdout and "-1\n" in done.stdout
    assert " requests" in done.stdout
    assert done.stderr.startswith(f"Error: {SOURCE}: 1 days differ from the source's own counts")


def test_an_expired_session_at_userinfo_is_renewed_not_taken_for_a_refused_login(
    synced: ServedOrg,
) -> None:
    synced.sandbox.inject_error("INVALID_SESSION_ID", status=401, path_contains="userinfo")
    found = reconcile_org(synced, PARIS)
    assert found.differing == []
    # the refused userinfo, a login, it again, and the CSAT object's describe
    assert found.requests == 1 + 1 + 1 + 1 + 1 + 3


def test_answers_dated_by_a_date_field_reconcile_by_that_day(tmp_path: Path) -> None:
    set_desk_now(FIXED_NOW)
    dated_by_day = {**CUSTOM_OBJECT, "csat_date_field": "Responded_On__c"}
    with served_org(tmp_path, **dated_by_day) as served:
        served.backfill()
        found = reconcile_org(served)
    assert found.differing == [] and found.not_compared == {}
    assert sum(c.at_source for c in found.counts if c.what == RATINGS) > 0
