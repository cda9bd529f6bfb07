"""Ordinary states of a real Salesforce org, each served as a few hand-made records
(tests/salesforce_hand_made.py) through the simulator and simple-salesforce, and read from
the credit ledger: what each case adds to each agent, as docs/metrics.md counts it."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from deskmetrics.settings import load_settings
from sandbox.salesforce.values import Record, sf_datetime
from tests.salesforce_desks import FEEDBACK
from tests.salesforce_hand_made import DAY, HOUR, NOW, HandMade, counted, hand_made

MINUTE = HOUR / 60

OPENED = NOW - 10 * DAY


def _closed_by(made: HandMade, agent: str) -> Record:
    """Case 1, opened 10 days ago by `agent` and closed by them an hour later."""
    case = made.case(1, agent, "Closed", OPENED, OPENED + HOUR, closed_at=OPENED + HOUR)
    made.created(case)
    made.status(case, OPENED + HOUR, "New", "Closed")
    return case


def _worked(made: HandMade, number: int) -> Record:
    """Taken from a queue by agent 1, passed to agent 2, closed by agent 2."""
    a, b = made.agents[1], made.agents[2]
    created = NOW - 10 * DAY
    case = made.case(number, b, "Closed", created, created + 3 * HOUR, closed_at=created + 3 * HOUR)
    made.created(case)
    made.owner(case, created + HOUR, made.queue, a, field="ownerAccepted")
    made.owner(case, created + 2 * HOUR, a, b)
    made.status(case, created + 3 * HOUR, "New", "Closed")
    return case


def test_a_case_taken_from_a_queue_passed_on_and_closed_counts_for_both_agents(
    tmp_path: Path,
) -> None:
    # The harness's control: created in a queue, taken by A, passed to B, closed by B.
    with hand_made(tmp_path) as made:
        case = _worked(made, 1)
        made.sync(NOW)
        a, b = made.agents[1], made.agents[2]
        assert made.counts(case, a) == counted(handled=1, transferred_out=1)
        assert made.counts(case, b) == counted(handled=1, resolved=1, fcr_eligible=1, fcr=1)


def test_a_case_logged_closed_and_later_moved_to_a_queue_is_no_transfer(tmp_path: Path) -> None:
    # docs/metrics.md "Transfer out": changes while resolved do not count; "Words": with no
    # status change recorded, a case closed now was closed from its ClosedDate on
    # (Salesforce writes no history row for the status a case is created with).
    with hand_made(tmp_path) as made:
        a = made.agents[1]
        logged = NOW - 10 * DAY
        case = made.case(1, made.queue, "Closed", logged, logged + DAY, closed_at=logged)
        made.created(case)
        made.owner(case, logged + DAY, a, made.queue)  # tidied into a queue, still closed
        made.backfill()
        assert made.counts(case, a) == counted(handled=1, resolved=1, fcr_eligible=1, fcr=1)


def test_a_case_surveyed_again_after_a_reopen_counts_each_feedback_answer(
    tmp_path: Path,
) -> None:
    # docs/metrics.md "CSAT": at most one response per survey, and each offer of a survey
    # begins a new one. Each Feedback Management invitation is a survey sent, and its
    # answers cannot be edited: two invitations answered are two responses.
    with hand_made(tmp_path, FEEDBACK) as made:
        a = made.agents[1]
        opened = NOW - 20 * DAY
        case = made.case(1, a, "Closed", opened, NOW - 11 * DAY, closed_at=NOW - 11 * DAY)
        made.created(case)
        made.owner(case, opened + HOUR, made.queue, a, field="ownerAccepted")
        made.status(case, opened + 2 * HOUR, "New", "Closed")
        made.feedback_answer(case, opened + 3 * HOUR, NOW - 18 * DAY, 5)
        made.status(case, NOW - 12 * DAY, "Closed", "Working")  # reopened
        made.status(case, NOW - 11 * DAY, "Working", "Closed")
        made.feedback_answer(case, NOW - 11 * DAY, NOW - 10 * DAY, 1)
        made.backfill()
        csat = [r for r in made.ledger(case) if r["kind"] == "csat"]
        assert sorted((r["day"], r["score"]) for r in csat) == [
            ((NOW - 18 * DAY).date(), "5"),
            ((NOW - 10 * DAY).date(), "1"),
        ]


WITHDRAWN = {
    "score emptied": {"Score__c": None},
    "case link emptied": {"Case__c": None},
    "deleted": {"IsDeleted": True},
}


@pytest.mark.parametrize("change", WITHDRAWN.values(), ids=WITHDRAWN.keys())
def test_a_survey_record_emptied_or_deleted_after_its_answer_was_read_counts_nowhere(
    tmp_path: Path, change: dict[str, object]
) -> None:
    # docs/metrics.md "CSAT": a record whose score is empty is an offer, one whose case link
    # is empty belongs to no interaction, one deleted in the org (queryAll's IsDeleted) is
    # gone; none counts. A survey tool that empties its record to send the survey again, an
    # answer cleared, unlinked or deleted: the answer read before is withdrawn by the next
    # sync, which reads the record again (its SystemModstamp moved).
    with hand_made(tmp_path) as made:
        a = made.agents[1]
        case = _closed_by(made, a)
        survey = made.survey(case, 5, OPENED + 2 * HOUR, OPENED + DAY)
        made.sync(NOW)
        assert made.counts(case, a)["csat_responses"] == 1
        survey.update(change, SystemModstamp=sf_datetime(NOW + HOUR))
        made.sync(NOW + 2 * HOUR)
        assert made.counts(case, a)["csat_responses"] == 0


def test_a_survey_record_never_answered_is_stored_as_an_offer_and_counts_nowhere(
    tmp_path: Path,
) -> None:
    with hand_made(tmp_path) as made:
        a = made.agents[1]
        case = _closed_by(made, a)
        made.survey(case, None, OPENED + 2 * HOUR, None)
        made.sync(NOW)
        assert made.counts(case, a) == counted(handled=1, resolved=1, fcr_eligible=1, fcr=1)


def test_an_answer_date_field_of_type_date_counts_on_the_day_it_names(tmp_path: Path) -> None:
    # docs/metrics.md "Words": Day is the calendar date in `timezone`. A Date-typed
    # answer-date field (`2026-10-24`, no time, no zone) names that day, not UTC midnight,
    # which is the evening before in New York.
    with hand_made(tmp_path) as made:
        path = made.org.settings_path
        path.write_text('timezone = "America/New_York"\n' + path.read_text())
        made.org = dataclasses.replace(made.org, settings=load_settings(path))
        a = made.agents[1]
        case = _closed_by(made, a)
        survey = made.survey(case, 5, OPENED + 2 * HOUR, OPENED + DAY)
        survey["Responded_At__c"] = "2026-10-24"
        made.backfill()
        csat = [r for r in made.ledger(case) if r["kind"] == "csat"]
        assert [(r["day"], r["csat_responses"]) for r in csat] == [(date(2026, 10, 24), 1)]


def test_a_case_purged_from_the_recycle_bin_after_it_was_counted_counts_nowhere(
    tmp_path: Path,
) -> None:
    # docs/metrics.md "Left out": a deleted interaction counts nowhere. Purged (the bin
    # emptied, a hard delete), queryAll no longer returns it; Get Deleted lists it.
    with hand_made(tmp_path) as made:
        case = _worked(made, 1)
        made.sync(NOW)
        assert made.counts(case, made.agents[2])["resolved"] == 1
        made.purge(case, NOW + HOUR)
        made.sync(NOW + 2 * HOUR)
        assert made.counts(case, made.agents[1]) == counted()
        assert made.counts(case, made.agents[2]) == counted()


def test_a_case_purged_before_it_was_ever_read_is_nothing_to_remove(tmp_path: Path) -> None:
    with hand_made(tmp_path) as made:
        kept, gone = _worked(made, 1), _worked(made, 2)
        made.purge(gone, NOW - HOUR)
        made.sync(NOW)
        assert made.counts(kept, made.agents[2])["resolved"] == 1
        assert made.ledger(gone) == []


def test_an_org_that_does_not_list_its_deleted_cases_is_logged_and_the_sync_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with hand_made(tmp_path) as made:
        case = _worked(made, 1)
        made.sync(NOW)  # a first pass reads cases as they are: it asks nothing
        made.org.sandbox.inject_error("NOT_FOUND", 404, path_contains="/deleted/")
        made.sync(NOW + HOUR)
        assert made.counts(case, made.agents[2])["resolved"] == 1
    assert "did not list the deleted cases" in caplog.text


def test_a_case_restored_from_the_recycle_bin_keeps_its_history(tmp_path: Path) -> None:
    # Salesforce deletes a case's history rows with it (only queryAll sees them) and
    # restores them, with their old CreatedDate, when the case is undeleted; the undelete
    # moves the case's SystemModstamp, not the rows'.
    with hand_made(tmp_path) as made:
        case = _worked(made, 1)
        case["IsDeleted"] = True
        for row in made.objects["CaseHistory"]:
            row["IsDeleted"] = True
        made.sync(NOW)  # in the Recycle Bin: it counts nowhere
        assert made.counts(case, made.agents[1]) == counted()
        case.update(IsDeleted=False, SystemModstamp=sf_datetime(NOW + HOUR))
        for row in made.objects["CaseHistory"]:
            row["IsDeleted"] = False
        made.sync(NOW + 2 * HOUR)
        assert made.counts(case, made.agents[1]) == counted(handled=1, transferred_out=1)
        assert made.counts(case, made.agents[2]) == counted(
            handled=1, resolved=1, fcr_eligible=1, fcr=1
        )


def test_a_case_deleted_and_restored_since_the_last_sync_still_counts(tmp_path: Path) -> None:
    # Get Deleted may list a case deleted in the window that was undeleted after: the copy
    # queryAll gives, changed after the deletion, is the case as it stands.
    with hand_made(tmp_path) as made:
        case = _worked(made, 1)
        made.sync(NOW)
        made.org.sandbox.purged[case["Id"]] = NOW + HOUR
        restored = sf_datetime(NOW + 90 * MINUTE)
        case.update(LastModifiedDate=restored, SystemModstamp=restored)
        made.sync(NOW + 2 * HOUR)
        assert made.counts(case, made.agents[2])["resolved"] == 1


def test_after_a_long_gap_deletions_are_asked_for_as_far_back_as_salesforce_keeps_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Get Deleted answers for the last 15 days only: a sync 20 days after the last one
    # asks for the last 14, finds the purge in them, and warns of the days before.
    with hand_made(tmp_path) as made:
        case = _worked(made, 1)
        made.sync(NOW)
        made.purge(case, NOW + 19 * DAY)
        made.sync(NOW + 20 * DAY)
        assert made.counts(case, made.agents[2]) == counted()
    assert "can no longer be listed" in caplog.text
