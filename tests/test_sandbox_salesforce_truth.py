"""The ground truth in Salesforce terms (sandbox/salesforce/truth.py) against the desk, and the
Salesforce face agreeing with it: CSAT answers case by case (custom object and Feedback
Management, through the real simple-salesforce client) and one identity per customer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce

from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.model import RESOLVED
from sandbox.salesforce import LoopbackSession, SalesforceSandbox, salesforce_face
from sandbox.salesforce import truth as sf_truth
from sandbox.salesforce.ids import case_id, user_id
from sandbox.salesforce.soql import parse_datetime

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
EVER = (date(2023, 1, 1), date(2025, 1, 1))
NOT_CSAT = ("handled", "transferred_out", "resolved", "fcr_eligible", "fcr")


@pytest.fixture(scope="module")
def desk() -> Desk:
    return generate_desk(DeskSpec(now=NOW, tickets=600, customers=200))


@pytest.fixture(scope="module")
def client(desk: Desk) -> Iterator[Salesforce]:
    with SalesforceSandbox(desk) as sb:
        yield Salesforce(
            session_id=sb.new_session(),
            instance_url=sb.instance_url,
            session=LoopbackSession(sb.instance_url),
        )


def resolver(desk: Desk, ticket_id: int) -> int | None:
    """The owner at the ticket's last unresolved -> resolved change, read off its steps."""
    owner = None
    for step in desk.tickets[ticket_id].history:
        if step.status_before not in RESOLVED and step.status_after in RESOLVED:
            owner = step.owner_after
    return owner


def live_case_ids(client: Salesforce) -> set[str]:
    return {r["Id"] for r in client.query_all("SELECT Id FROM Case")["records"]}


# ---- the truth -----------------------------------------------------------------------------


def test_rows_name_each_agent_by_user_id_with_the_desk_name_and_source(desk: Desk) -> None:
    rows = sf_truth.report_rows(desk, *EVER, source="salesforce-eu")
    agents = [r for r in rows if r["agent_id"] is not None]
    assert agents and {r["source"] for r in rows} == {"salesforce-eu"}
    people = {user_id(u.id): (u.name, u.email) for u in desk.users.values() if u.is_staff}
    assert all(people[r["agent_id"]] == (r["agent_name"], r["agent_email"]) for r in agents)


def test_ownership_and_resolution_counts_equal_the_zendesk_truth(desk: Desk) -> None:
    salesforce = {r["agent_id"]: r for r in sf_truth.report_rows(desk, *EVER)}
    zendesk = {
        None if r["agent_id"] is None else user_id(int(r["agent_id"])): r
        for r in desk_truth.report_rows(desk, *EVER)
    }
    assert set(salesforce) == set(zendesk)
    for agent, row in salesforce.items():
        assert [row[k] for k in NOT_CSAT] == [zendesk[agent][k] for k in NOT_CSAT]


def test_each_csat_response_counts_for_the_case_resolver(desk: Desk) -> None:
    answers = sf_truth.csat_answers(desk)
    expected = Counter(
        None if (owner := resolver(desk, a.ticket_id)) is None else user_id(owner) for a in answers
    )
    facts = sf_truth.daily_facts(desk)
    counted: Counter[str | None] = Counter()
    for fact in facts:
        counted[fact["agent_id"]] += fact["csat_responses"]
    # The rule differs from Zendesk's (the agent on the rating) on some cases of this desk.
    rated_by = {r.ticket_id: r.assignee_id for r in desk.ratings.values()}
    assert any(resolver(desk, a.ticket_id) != rated_by[a.ticket_id] for a in answers)
    assert counted == expected


def test_a_changed_rating_is_one_answer_with_the_latest_score_on_the_first_day(
    desk: Desk,
) -> None:
    changed = [r for r in desk.ratings.values() if [s for _, s in r.history] == ["good", "bad"]]
    assert changed
    answers = {a.ticket_id: a for a in sf_truth.csat_answers(desk)}
    for rating in changed:
        answer = answers[rating.ticket_id]
        assert answer.first_answered_at == rating.history[0][0]
        assert answer.score in (1, 2) and not answer.satisfied


def test_deleted_cases_and_offers_have_no_csat_answer(desk: Desk) -> None:
    answered = {a.ticket_id for a in sf_truth.csat_answers(desk)}
    offered = {r.ticket_id for r in desk.ratings.values() if r.score == "offered"}
    deleted = {t.id for t in desk.tickets.values() if t.deleted}
    rated = {r.ticket_id for r in desk.ratings.values() if r.score in ("good", "bad")}
    assert offered and rated & deleted  # both happen on this desk
    assert answered == rated - deleted


def test_csat_score_sum_is_the_face_score_on_0_to_100(desk: Desk) -> None:
    answers = sf_truth.csat_answers(desk)
    facts = sf_truth.daily_facts(desk)
    assert sum(f["csat_score_sum"] for f in facts) == sum(25 * (a.score - 1) for a in answers)
    assert sum(f["csat_satisfied"] for f in facts) == sum(a.score >= 4 for a in answers)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    timezone=st.sampled_from(["UTC", "Pacific/Auckland", "America/Los_Angeles"]),
    window=st.sampled_from([0.5, 24, 72, 240]),
    breaks=st.booleans(),
)
def test_transfers_never_exceed_handled_and_satisfied_never_exceeds_responses(
    seed: int, timezone: str, window: float, breaks: bool
) -> None:
    desk = generate_desk(DeskSpec(now=NOW, seed=seed, agents=6, customers=30, tickets=90))
    rows = sf_truth.report_rows(desk, *EVER, timezone, window, breaks, min_sample=5)
    for r in rows:
        assert r["transferred_out"] <= r["handled"]
        assert r["fcr"] <= r["fcr_eligible"] <= r["resolved"]
        assert r["csat_satisfied"] <= r["csat_responses"]
        assert r["csat_mean_pct"] is None or 0 <= r["csat_mean_pct"] <= 100
    assert sum(r["csat_responses"] for r in rows) == len(sf_truth.csat_answers(desk))


# ---- the CSAT faces against the truth, through the client -----------------------------------


def test_custom_object_answers_equal_the_truth_case_by_case(desk: Desk, client: Salesforce) -> None:
    live = live_case_ids(client)
    records = client.query_all(
        "SELECT Case__c, Score__c, Responded_At__c, CreatedDate FROM Case_Survey__c"
    )["records"]
    shown = {
        r["Case__c"]: (r["Score__c"], parse_datetime(r["Responded_At__c"]))
        for r in records
        if r["Case__c"] in live
    }
    assert len(shown) == len([r for r in records if r["Case__c"] in live])
    assert shown == {a.case_id: (a.score, a.first_answered_at) for a in sf_truth.csat_answers(desk)}


def test_a_changed_custom_record_keeps_its_first_date_and_shows_the_change_as_modified(
    desk: Desk, client: Salesforce
) -> None:
    changed = [r for r in desk.ratings.values() if len(r.history) > 1]
    assert changed
    for rating in changed:
        soql = (
            "SELECT Score__c, Responded_At__c, CreatedDate, LastModifiedDate FROM Case_Survey__c "
            f"WHERE Case__c = '{case_id(rating.ticket_id)}'"
        )
        [record] = client.query(soql)["records"]
        first, latest = rating.history[0][0], rating.history[-1][0]
        assert parse_datetime(record["Responded_At__c"]) == first
        assert parse_datetime(record["CreatedDate"]) == first
        assert parse_datetime(record["LastModifiedDate"]) == latest
        assert (record["Score__c"] >= 4) == (rating.history[-1][1] == "good")


def feedback_answers(client: Salesforce) -> list[tuple[str, Any, datetime]]:
    """(case Id, csat NumberValue, CompletionDateTime) of every Feedback Management answer."""
    question = client.query("SELECT Id FROM SurveyQuestion WHERE DeveloperName = 'csat'")
    csat_id = question["records"][0]["Id"]
    answers = client.query_all(
        "SELECT ResponseId, InvitationId, NumberValue FROM SurveyQuestionResponse "
        f"WHERE QuestionId = '{csat_id}'"
    )["records"]
    subjects = client.query_all("SELECT ParentId, SubjectId FROM SurveySubject")["records"]
    responses = client.query_all("SELECT Id, CompletionDateTime FROM SurveyResponse")["records"]
    case_of = {s["ParentId"]: s["SubjectId"] for s in subjects}
    completed = {r["Id"]: parse_datetime(r["CompletionDateTime"]) for r in responses}
    return [
        (
            case_of.get(a["ResponseId"]) or case_of[a["InvitationId"]],
            a["NumberValue"],
            completed[a["ResponseId"]],
        )
        for a in answers
    ]


def test_feedback_answers_equal_the_truth_case_by_case(desk: Desk, client: Salesforce) -> None:
    live = live_case_ids(client)
    answers = [a for a in feedback_answers(client) if a[0] in live]
    shown = {case: (score, at) for case, score, at in answers}
    assert len(shown) == len(answers)  # one answer per survey
    assert shown == {a.case_id: (a.score, a.first_answered_at) for a in sf_truth.csat_answers(desk)}


# ---- one identity per customer ---------------------------------------------------------------


def test_a_web_only_customer_has_no_contact_and_only_supplied_email_on_each_case(
    desk: Desk,
) -> None:
    face = salesforce_face(desk)
    contacts = {c["Email"] for c in face.objects["Contact"]}
    tickets_of = Counter(t.requester_id for t in desk.tickets.values())
    web_only = {
        u
        for u in tickets_of
        if all(t.channel == "web" for t in desk.tickets.values() if t.requester_id == u)
    }
    assert any(tickets_of[u] > 1 for u in web_only)  # repeat contacts by hashed e-mail
    cases = {c["Id"]: c for c in face.objects["Case"]}
    for ticket in desk.tickets.values():
        if ticket.requester_id in web_only:
            case = cases[case_id(ticket.id)]
            email = desk.users[ticket.requester_id].email
            assert (case["ContactId"], case["SuppliedEmail"]) == (None, email)
            assert email not in contacts


def test_a_contacts_web_cases_carry_its_contact_id_and_supplied_email(desk: Desk) -> None:
    face = salesforce_face(desk)
    contact_of = {c["Email"]: c["Id"] for c in face.objects["Contact"]}
    cases = {c["Id"]: c for c in face.objects["Case"]}
    web_of_contacts = [
        t
        for t in desk.tickets.values()
        if t.channel == "web" and desk.users[t.requester_id].email in contact_of
    ]
    assert web_of_contacts
    for ticket in web_of_contacts:
        email = desk.users[ticket.requester_id].email
        case = cases[case_id(ticket.id)]
        assert (case["ContactId"], case["SuppliedEmail"]) == (contact_of[email], email)


def test_each_customer_is_one_identity_by_contact_id_else_supplied_email(desk: Desk) -> None:
    cases = salesforce_face(desk).objects["Case"]
    requester = {case_id(t.id): t.requester_id for t in desk.tickets.values()}
    identities: dict[int, set[str]] = {}
    for case in cases:
        identity = case["ContactId"] or case["SuppliedEmail"]
        identities.setdefault(requester[case["Id"]], set()).add(identity)
    assert all(len(found) == 1 for found in identities.values())
    assert len({next(iter(found)) for found in identities.values()}) == len(identities)


def test_a_web_case_linked_to_a_later_contact_is_modified_when_linked(desk: Desk) -> None:
    cases = salesforce_face(desk).objects["Case"]
    contact_from: dict[str, str] = {}
    for case in cases:
        if case["Origin"] != "Web" and case["ContactId"]:
            seen = contact_from.get(case["ContactId"], case["CreatedDate"])
            contact_from[case["ContactId"]] = min(seen, case["CreatedDate"])
    linked_later = [
        c
        for c in cases
        if c["Origin"] == "Web"
        and c["ContactId"] in contact_from
        and c["CreatedDate"] < contact_from[c["ContactId"]]
    ]
    assert linked_later
    for case in linked_later:
        assert case["SystemModstamp"] >= contact_from[case["ContactId"]]


def test_every_contact_id_on_a_case_is_a_contact_record(desk: Desk) -> None:
    face = salesforce_face(desk)
    contacts = {c["Id"] for c in face.objects["Contact"]}
    linked = {c["ContactId"] for c in face.objects["Case"] if c["ContactId"]}
    assert linked and linked <= contacts
