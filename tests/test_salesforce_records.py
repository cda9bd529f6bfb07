"""Salesforce REST records to the interaction model (connectors/salesforce_records.py), from
small hand-made records in the shapes `query`/`queryAll` return (research/salesforce-api.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.salesforce_records import (
    SurveyFields,
    UnknownStatusError,
    agent_from_user,
    case_statuses_from,
    changes_from_case_history,
    full_id,
    identifier,
    interaction_from_case,
    is_queue_id,
    is_user_id,
    rating_from_feedback_response,
    rating_from_survey_record,
    survey_record_counts,
)
from interactions import ConfigError, MalformedRecordError, OwnershipChange, StatusChange

KEY = b"test-key-not-a-secret"
CASE = "5005g00000AbCdEAAA"
ALICE = "0055g00000AliceAAA"
BOB = "0055g00000BobbbAAA"
QUEUE = "00G5g00000QueueAAA"
QUESTION = "0Kp5g00000CsatQAAA"
CASE_STATUSES = [
    {"attributes": {"type": "CaseStatus"}, "ApiName": "New", "MasterLabel": "New",
     "IsClosed": False},
    {"attributes": {"type": "CaseStatus"}, "ApiName": "Closed", "MasterLabel": "Closed",
     "IsClosed": True},
    {"attributes": {"type": "CaseStatus"}, "ApiName": "Resolved", "MasterLabel": "Resolved",
     "IsClosed": True},
    {"attributes": {"type": "CaseStatus"}, "ApiName": "Working", "MasterLabel": "Working",
     "IsClosed": False},
]  # fmt: skip
STATUSES = case_statuses_from(CASE_STATUSES)


def _case(**fields: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": "Case", "url": f"/services/data/v59.0/sobjects/Case/{CASE}"},
        "Id": CASE,
        "CreatedDate": "2026-01-05T10:00:00.000+0000",
        "LastModifiedDate": "2026-01-05T11:00:00.000+0000",
        "SystemModstamp": "2026-01-05T11:00:00.000+0000",
        "Status": "New",
        "IsClosed": False,
        "IsDeleted": False,
        "ContactId": None,
        "SuppliedEmail": None,
        "OwnerId": ALICE,
        "ClosedDate": None,
        **fields,
    }


def _history(
    row_id: str, field: str, old: Any, new: Any, at: str = "2026-01-05T12:00:00.000+0000"
) -> dict[str, Any]:
    return {
        "attributes": {"type": "CaseHistory"},
        "Id": row_id,
        "CaseId": CASE,
        "CreatedDate": at,
        "Field": field,
        "OldValue": old,
        "NewValue": new,
    }


def _changes(*rows: Mapping[str, Any]) -> list[OwnershipChange | StatusChange]:
    return list(changes_from_case_history("sf", rows, STATUSES))


def test_an_owner_change_of_a_name_row_and_an_id_row_is_one_change() -> None:
    changes = _changes(
        _history("0175g00000Hist1AAA", "Owner", "Alice Able", "Bob Baker"),
        _history("0175g00000Hist2AAA", "Owner", ALICE, BOB),
    )
    assert changes == [
        OwnershipChange(
            "sf",
            "0175g00000Hist2AAA",
            CASE,
            f"{CASE}@2026-01-05T12:00:00+00:00",
            datetime(2026, 1, 5, 12, tzinfo=UTC),
            ALICE,
            BOB,
        )
    ]


def test_a_queue_as_owner_is_no_owner() -> None:
    (change,) = _changes(_history("0175g00000Hist1AAA", "Owner", ALICE, QUEUE))
    assert isinstance(change, OwnershipChange)
    assert (change.previous_owner, change.new_owner) == (ALICE, None)


def test_a_case_first_owner_is_the_old_value_of_its_first_history_row() -> None:
    first, _ = _changes(
        _history("0175g00000Hist1AAA", "ownerAssignment", QUEUE, ALICE),
        _history("0175g00000Hist2AAA", "Owner", ALICE, BOB, at="2026-01-05T13:00:00.000Z"),
    )
    assert isinstance(first, OwnershipChange)
    assert (first.previous_owner, first.new_owner) == (None, ALICE)


def test_rows_with_one_created_date_are_one_update() -> None:
    owner, status = _changes(
        _history("0175g00000Hist1AAA", "Owner", ALICE, BOB),
        _history("0175g00000Hist2AAA", "Status", "New", "Closed"),
    )
    assert owner.update_id == status.update_id


def test_rows_at_other_moments_are_other_updates() -> None:
    owner, status = _changes(
        _history("0175g00000Hist1AAA", "Owner", ALICE, BOB),
        _history("0175g00000Hist2AAA", "Status", "New", "Closed", at="2026-01-05T12:00:01Z"),
    )
    assert owner.update_id != status.update_id


def test_a_status_change_to_a_custom_closed_status_from_case_status_resolves() -> None:
    (change,) = changes_from_case_history(
        "sf", [_history("0175g00000Hist1AAA", "Status", "New", "Resolved")], STATUSES
    )
    assert isinstance(change, StatusChange)
    assert (change.previous_resolved, change.resolved) == (False, True)


def test_closed_statuses_are_those_case_status_marks_closed() -> None:
    assert STATUSES.closed == {"Closed", "Resolved"}
    assert STATUSES.known == {"New", "Working", "Closed", "Resolved"}


@pytest.mark.parametrize("field", ["NewValue", "OldValue"])
def test_a_status_change_naming_a_status_case_status_does_not_list_is_refused(field: str) -> None:
    values = {"OldValue": "New", "NewValue": "Working", field: "Escalated to Mars"}
    row = _history("0175g00000Hist1AAA", "Status", values["OldValue"], values["NewValue"])
    with pytest.raises(UnknownStatusError, match="'Escalated to Mars', which CaseStatus"):
        _changes(row)


def test_a_case_naming_a_status_case_status_does_not_list_is_refused() -> None:
    with pytest.raises(UnknownStatusError, match=r"Status.*'Escalated to Mars'"):
        interaction_from_case("sf", _case(Status="Escalated to Mars"), STATUSES, email_key=KEY)


def test_a_reopen_is_a_change_from_a_closed_status() -> None:
    (change,) = _changes(_history("0175g00000Hist1AAA", "Status", "Resolved", "Working"))
    assert isinstance(change, StatusChange)
    assert (change.previous_resolved, change.resolved) == (True, False)


def test_a_deleted_case_is_deleted() -> None:
    case = interaction_from_case("sf", _case(IsDeleted=True), STATUSES, email_key=KEY)
    assert case.deleted


def test_a_case_in_a_closed_status_without_is_closed_is_resolved_by_case_status() -> None:
    record = _case(Status="Resolved")
    del record["IsClosed"]
    assert interaction_from_case("sf", record, STATUSES, email_key=KEY).resolved


def test_a_case_owned_by_a_queue_has_no_owner_and_sits_in_the_queue() -> None:
    case = interaction_from_case("sf", _case(OwnerId=QUEUE), STATUSES, email_key=KEY)
    assert (case.owner_id, case.group_id) == (None, QUEUE)


def test_a_supplied_email_is_stored_only_as_a_keyed_hash() -> None:
    case = interaction_from_case(
        "sf", _case(SuppliedEmail="Carol@Example.com"), STATUSES, email_key=KEY
    )
    assert case.customer_id is not None
    assert "carol" not in repr(case).lower()
    assert "example" not in repr(case).lower()


def test_the_same_supplied_email_gives_the_same_customer() -> None:
    one = interaction_from_case(
        "sf", _case(SuppliedEmail="carol@example.com"), STATUSES, email_key=KEY
    )
    two = interaction_from_case(
        "sf", _case(SuppliedEmail=" Carol@Example.com"), STATUSES, email_key=KEY
    )
    assert one.customer_id == two.customer_id


def test_another_key_gives_another_customer_hash() -> None:
    record = _case(SuppliedEmail="carol@example.com")
    one = interaction_from_case("sf", record, STATUSES, email_key=KEY)
    two = interaction_from_case("sf", record, STATUSES, email_key=b"another-key")
    assert one.customer_id != two.customer_id


def test_a_contact_is_the_customer_before_a_supplied_email() -> None:
    contact = "0035g00000CarolAAA"
    record = _case(ContactId=contact, SuppliedEmail="carol@example.com")
    assert interaction_from_case("sf", record, STATUSES, email_key=KEY).customer_id == contact


def test_salesforce_datetimes_with_offset_and_with_z_are_read() -> None:
    record = _case(CreatedDate="2026-01-05T10:00:00.000+0000", ClosedDate="2026-01-06T09:30:00Z")
    case = interaction_from_case("sf", record, STATUSES, email_key=KEY)
    assert case.created_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert case.solved_at == datetime(2026, 1, 6, 9, 30, tzinfo=UTC)


def test_a_malformed_date_raises_naming_the_object_record_and_field() -> None:
    with pytest.raises(MalformedRecordError, match=r"Case.*5005g00000AbCdEAAA.*'CreatedDate'"):
        interaction_from_case("sf", _case(CreatedDate="yesterday"), STATUSES, email_key=KEY)


def test_a_history_row_with_a_malformed_date_raises_naming_the_field() -> None:
    with pytest.raises(MalformedRecordError, match=r"CaseHistory.*'CreatedDate'"):
        _changes(_history("0175g00000Hist1AAA", "Owner", ALICE, BOB, at="5 Jan"))


# Of the 18 characters of an Id, each is an ASCII letter or digit: not É, not a space.
NO_IDS = [None, "", 5005, "5005g00000AbCdEAA", "5005g00000AbCdÉAAA", "5005g00000AbCd AAA"]


@pytest.mark.parametrize("case_id", NO_IDS)
def test_a_case_whose_id_is_no_salesforce_id_raises_naming_the_field(case_id: Any) -> None:
    with pytest.raises(MalformedRecordError, match=r"salesforce Case record .*'Id' is not a"):
        interaction_from_case("sf", _case(Id=case_id), STATUSES, email_key=KEY)


@pytest.mark.parametrize("row_id", NO_IDS)
def test_a_history_row_whose_id_is_no_salesforce_id_raises_naming_the_field(row_id: Any) -> None:
    with pytest.raises(MalformedRecordError, match=r"salesforce CaseHistory record .*'Id' is not"):
        _changes(_history(row_id, "Status", "New", "Working"))


def test_a_case_owned_by_a_queue_by_its_15_character_id_sits_in_it_by_its_18() -> None:
    case = interaction_from_case("sf", _case(OwnerId=QUEUE[:15]), STATUSES, email_key=KEY)
    assert (case.owner_id, case.group_id) == (None, full_id(QUEUE[:15]))


def test_a_float_score_is_kept_as_text() -> None:
    fields = SurveyFields("CSAT_Survey__c", "Case__c", "Score__c", "Answered__c", "Comment__c")
    record = {
        "attributes": {"type": "CSAT_Survey__c"},
        "Id": "a015g00000SurveAAA",
        "Case__c": CASE,
        "Score__c": 4.0,
        "Comment__c": "quick",
        "Answered__c": "2026-01-07T08:00:00.000+0000",
    }
    rating = rating_from_survey_record("sf", record, fields)
    assert (rating.interaction_id, rating.score, rating.survey_id) == (CASE, "4.0", "")


def test_a_feedback_response_is_linked_to_its_case_through_the_invitation() -> None:
    invitation = "0Ki5g00000InvitAAA"
    response = {
        "attributes": {"type": "SurveyQuestionResponse"},
        "Id": "0Kk5g00000AnswrAAA",
        "InvitationId": invitation,
        "ResponseId": "0Kj5g00000RespoAAA",
        "QuestionId": QUESTION,
        "NumberValue": 5,
        "CreatedDate": "2026-01-07T08:00:00.000+0000",
    }
    rating = rating_from_feedback_response("sf", response, QUESTION, {invitation: CASE})
    assert rating is not None
    assert (rating.interaction_id, rating.score) == (CASE, "5")


def test_a_user_is_an_agent_inactive_when_is_active_is_false() -> None:
    user = {"attributes": {"type": "User"}, "Id": ALICE, "Name": "Alice Able",
            "Email": "alice@example.com", "IsActive": "false"}  # fmt: skip
    agent = agent_from_user("sf", user)
    assert (agent.agent_id, agent.email, agent.active) == (ALICE, "alice@example.com", False)


def test_user_and_queue_ids_are_told_apart() -> None:
    assert (is_user_id(ALICE), is_queue_id(ALICE)) == (True, False)
    assert (is_user_id(QUEUE), is_queue_id(QUEUE)) == (False, True)
    assert not is_user_id("Alice Able")


@pytest.mark.parametrize("name", ["Case; DROP", "a.b", "1abc", "", "x" * 101])
def test_identifier_rejects_what_is_no_object_or_field_name(name: str) -> None:
    with pytest.raises(ConfigError):
        identifier(name, "CSAT field")


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,99}", fullmatch=True))
def test_identifier_accepts_every_plain_name(name: str) -> None:
    assert identifier(name, "CSAT field") == name


def test_one_reassignment_under_owner_and_owner_assignment_is_one_change() -> None:
    changes = _changes(
        _history("0175g00000Hist1AAA", "ownerAssignment", QUEUE, ALICE),
        _history("0175g00000Hist2AAA", "Owner", QUEUE, ALICE),
    )
    assert [c.change_id for c in changes] == ["0175g00000Hist1AAA"]


def test_a_feedback_response_about_no_case_is_no_rating() -> None:
    response = {"Id": "0Kk5g00000AnswrAAA", "InvitationId": "0Ki5g00000OtherAAA",
                "QuestionId": QUESTION, "NumberValue": 5,
                "CreatedDate": "2026-01-07T08:00:00.000+0000"}  # fmt: skip
    assert rating_from_feedback_response("sf", response, QUESTION, {}) is None


def test_an_answer_to_another_question_of_the_survey_is_no_rating() -> None:
    invitation = "0Ki5g00000InvitAAA"
    response = {"Id": "0Kk5g00000AnswrAAA", "InvitationId": invitation,
                "QuestionId": "0Kp5g00000NpsQqAAA", "NumberValue": 9,
                "CreatedDate": "2026-01-07T08:00:00.000+0000"}  # fmt: skip
    assert rating_from_feedback_response("sf", response, QUESTION, {invitation: CASE}) is None


def test_survey_fields_reject_a_field_name_that_is_no_identifier() -> None:
    with pytest.raises(ConfigError, match="Score__c; DROP"):
        SurveyFields("CSAT_Survey__c", "Case__c", "Score__c; DROP", "Answered__c")


def test_one_moment_written_as_rest_and_as_bulk_time_is_one_update() -> None:
    rest, bulk = _changes(
        _history("0175g00000Hist1AAA", "Owner", ALICE, BOB, at="2026-01-05T12:00:00.000+0000"),
        _history("0175g00000Hist2AAA", "Status", "New", "Closed", at="2026-01-05T12:00:00.000Z"),
    )
    assert rest.update_id == bulk.update_id


def test_a_15_character_id_gets_its_case_safe_suffix() -> None:
    # Salesforce's documented example: 001A0000006Vm9r is 001A0000006Vm9rIAC.
    assert full_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert full_id("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"


def test_an_owner_change_with_short_ids_names_the_owners_by_their_18_character_ids() -> None:
    row = _history("0175g00000Hist1", "Owner", ALICE[:15], BOB[:15])
    (change,) = _changes(row)
    assert isinstance(change, OwnershipChange)
    assert (change.change_id, change.previous_owner, change.new_owner) == (
        full_id("0175g00000Hist1"),
        full_id(ALICE[:15]),
        full_id(BOB[:15]),
    )


def _survey(**fields: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": "CSAT__c"},
        "Id": "a0S5g00000SurvyAAA",
        "Case__c": CASE,
        "Score__c": 4.0,
        "Answered__c": "2026-01-07T08:00:00.000+0000",
        **fields,
    }


SURVEY_FIELDS = SurveyFields("CSAT__c", "Case__c", "Score__c", "Answered__c")


@pytest.mark.parametrize(
    "record",
    [
        _survey(Score__c=None, Answered__c=None),  # an offer: written when the survey was sent
        _survey(Case__c=None),  # its case was deleted: Salesforce cleared the lookup
        _survey(Case__c=""),
    ],
)
def test_a_survey_record_that_is_an_offer_or_of_no_case_counts_nowhere_and_is_no_error(
    record: dict[str, Any],
) -> None:
    assert not survey_record_counts(record, SURVEY_FIELDS)


def test_an_answered_survey_record_of_a_case_counts() -> None:
    assert survey_record_counts(_survey(), SURVEY_FIELDS)


def test_a_survey_record_dated_by_its_first_answer_counts_from_then() -> None:
    first = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    rating = rating_from_survey_record("sf", _survey(), SURVEY_FIELDS, first_answered_at=first)
    assert rating.created_at == first
