"""The Salesforce simulator through the real simple-salesforce 1.12.10 client over real HTTP,
and the Salesforce face of a generated desk against the desk itself."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from sandbox.desk import Desk, DeskSpec, advance_desk, generate_desk
from sandbox.salesforce import LoopbackSession, SalesforceSandbox, jwt_key_pair, salesforce_face
from sandbox.salesforce.face import case_id
from sandbox.salesforce.ids import SURVEY, sf_id
from sandbox.salesforce.soql import parse_datetime
from sandbox.salesforce.values import sf_datetime

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
HISTORY_SOQL = (
    "SELECT Id, CaseId, Field, OldValue, NewValue, CreatedDate FROM CaseHistory "
    "WHERE CreatedDate >= 2023-12-01T00:00:00Z AND CreatedDate < 2024-03-02T00:00:00Z "
    "ORDER BY CreatedDate"
)
CASE_SOQL = (
    "SELECT Id, OwnerId, Status, IsClosed, IsDeleted, SystemModstamp FROM Case "
    "WHERE SystemModstamp >= 2023-12-01T00:00:00Z AND SystemModstamp < 2024-03-02T00:00:00Z "
    "ORDER BY SystemModstamp"
)
STATUS_OF = {
    "new": "New",
    "open": "Working",
    "pending": "Waiting on Customer",
    "hold": "On Hold",
    "solved": "Resolved",
    "closed": "Closed",
}
OWNER_FIELDS = ("Owner", "ownerAssignment", "ownerAccepted", "ownerEscalated")
SMALL_BATCH = {"Sforce-Query-Options": "batchSize=200"}


@pytest.fixture(scope="module")
def desk() -> Desk:
    return generate_desk(DeskSpec(now=NOW, tickets=600, customers=200))


@pytest.fixture(scope="module")
def sandbox(desk: Desk) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(desk) as sb:
        yield sb


def password_login(sb: SalesforceSandbox) -> Salesforce:
    return Salesforce(
        username="agent@sandbox.example",
        password="sandbox-password",
        security_token="sandbox-token",
        session=LoopbackSession(sb.instance_url),
    )


def session_client(sb: SalesforceSandbox) -> Salesforce:
    return Salesforce(
        session_id=sb.new_session(),
        instance_url=sb.instance_url,
        session=LoopbackSession(sb.instance_url),
    )


def records(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in result["records"]]


# ---- the face ------------------------------------------------------------------------------


def test_face_ids_are_18_characters_with_the_object_key_prefix(desk: Desk) -> None:
    face = salesforce_face(desk)
    prefixes = {"User": "005", "Group": "00G", "Case": "500", "CaseHistory": "017"}
    for name, prefix in prefixes.items():
        assert all(len(r["Id"]) == 18 and r["Id"].startswith(prefix) for r in face.objects[name])
        assert len({r["Id"] for r in face.objects[name]}) == len(face.objects[name])


def test_face_is_the_same_for_the_same_desk_seed() -> None:
    spec = DeskSpec(now=NOW, agents=6, customers=20, tickets=40)
    assert salesforce_face(generate_desk(spec)) == salesforce_face(generate_desk(spec))


def test_face_has_one_case_per_ticket_with_its_owner_and_status(desk: Desk) -> None:
    face = salesforce_face(desk)
    cases = {c["Id"]: c for c in face.objects["Case"]}
    user_emails = {u["Id"]: u["Email"] for u in face.objects["User"]}
    queue_names = {q["Id"]: q["Name"] for q in face.objects["Group"]}
    assert set(cases) == {case_id(t) for t in desk.tickets}
    for ticket in desk.tickets.values():
        case = cases[case_id(ticket.id)]
        if ticket.assignee_id is None:
            assert queue_names[case["OwnerId"]] == desk.groups[ticket.group_id or 0].name
        else:
            assert user_emails[case["OwnerId"]] == desk.users[ticket.assignee_id].email
        assert case["IsDeleted"] == (ticket.status == "deleted")
        if ticket.status != "deleted":
            assert case["Status"] == STATUS_OF[ticket.status]
            assert case["IsClosed"] == (ticket.status in ("solved", "closed"))


def test_case_history_id_rows_replay_to_each_case_current_owner_and_status(desk: Desk) -> None:
    face = salesforce_face(desk)
    history: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(face.objects["CaseHistory"], key=lambda r: (r["CreatedDate"], r["Id"])):
        history.setdefault(row["CaseId"], []).append(row)
    for case in face.objects["Case"]:
        rows = history.get(case["Id"], [])
        owner_ids = [
            r for r in rows if r["Field"] in OWNER_FIELDS and r["OldValue"][:3] in ("005", "00G")
        ]
        statuses = [r for r in rows if r["Field"] == "Status"]
        if owner_ids:
            assert owner_ids[-1]["NewValue"] == case["OwnerId"]
        if statuses:
            assert statuses[-1]["NewValue"] == case["Status"]


def test_an_owner_change_writes_a_name_row_and_an_id_row_at_one_moment(desk: Desk) -> None:
    history = salesforce_face(desk).objects["CaseHistory"]
    owner_rows = [r for r in history if r["Field"] in OWNER_FIELDS]
    by_moment: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in owner_rows:
        by_moment.setdefault((row["CaseId"], row["CreatedDate"]), []).append(row)
    assert by_moment
    for pair in by_moment.values():
        kinds = sorted(r["NewValue"][:3] in ("005", "00G") for r in pair)
        assert kinds == [False, True]
        assert pair[0]["Field"] == pair[1]["Field"]
    assert {r["Field"] for r in owner_rows} == set(OWNER_FIELDS)


def test_a_user_taking_a_case_from_a_queue_is_an_owner_accepted_row(desk: Desk) -> None:
    history = salesforce_face(desk).objects["CaseHistory"]
    id_rows = [r for r in history if r["Field"] in OWNER_FIELDS and r["DataType"] == "EntityId"]
    for row in id_rows:
        from_queue_to_user = row["OldValue"][:3] == "00G" and row["NewValue"][:3] == "005"
        assert (row["Field"] == "ownerAccepted") == from_queue_to_user


def test_escalation_rules_reassign_some_cases_to_users_and_to_queues(desk: Desk) -> None:
    history = salesforce_face(desk).objects["CaseHistory"]
    escalated = [r for r in history if r["Field"] == "ownerEscalated"]
    id_rows = [r for r in escalated if r["DataType"] == "EntityId"]
    assert {r["NewValue"][:3] for r in id_rows} == {"005", "00G"}
    assert len(escalated) == 2 * len(id_rows)


def test_csat_custom_object_scores_are_on_1_to_5_and_point_at_live_cases(desk: Desk) -> None:
    face = salesforce_face(desk)
    live = {c["Id"] for c in face.objects["Case"] if not c["IsDeleted"]}
    surveys = face.objects["Case_Survey__c"]
    assert surveys
    assert all(1 <= s["Score__c"] <= 5 for s in surveys)
    assert all(s["Case__c"] in live for s in surveys if s["Case__c"] is not None)


def test_deleting_a_case_clears_its_surveys_lookup_and_moves_their_stamp(desk: Desk) -> None:
    advance_desk(desk, 120, seed=1)  # deletes a rated case among its changes
    rating = next(
        r
        for r in desk.ratings.values()
        if r.score != "offered" and desk.tickets[r.ticket_id].deleted
    )
    deleted = desk.tickets[rating.ticket_id]
    survey = next(
        s
        for s in salesforce_face(desk).objects["Case_Survey__c"]
        if s["Id"] == sf_id(SURVEY, rating.id)
    )
    assert survey["Case__c"] is None
    assert survey["SystemModstamp"] == sf_datetime(max(rating.updated_at, deleted.updated_at))


def test_a_survey_tool_writing_at_send_leaves_offers_with_an_empty_score(desk: Desk) -> None:
    surveys = salesforce_face(desk, surveys_at_send=True).objects["Case_Survey__c"]
    offered = [r for r in desk.ratings.values() if r.score == "offered"]
    answered = [r for r in desk.ratings.values() if r.score != "offered"]
    by_id = {s["Id"]: s for s in surveys}
    assert offered and answered and len(surveys) == len(offered) + len(answered)
    for rating in offered:
        offer = by_id[sf_id(SURVEY, rating.id)]
        assert offer["Score__c"] is None and offer["Responded_At__c"] is None
    for rating in answered:
        answer = by_id[sf_id(SURVEY, rating.id)]
        assert answer["CreatedDate"] == sf_datetime(rating.offered_at)  # the send
        assert answer["Responded_At__c"] == sf_datetime(rating.created_at)  # the first answer


def test_the_score_history_shows_each_answer_after_a_send(desk: Desk) -> None:
    face = salesforce_face(desk, surveys_at_send=True, score_history=True)
    rows = face.objects["Case_Survey__History"]
    rating = next(r for r in desk.ratings.values() if len(r.history) >= 1)
    mine = [r for r in rows if r["ParentId"] == sf_id(SURVEY, rating.id)]
    assert [r["Field"] for r in mine] == ["created"] + ["Score__c"] * len(rating.history)
    assert mine[1]["OldValue"] is None and mine[1]["CreatedDate"] == sf_datetime(rating.created_at)
    assert "Case_Survey__History" not in salesforce_face(desk).objects


# ---- logins --------------------------------------------------------------------------------


def test_soap_login_with_password_and_security_token_gives_a_working_client(
    sandbox: SalesforceSandbox,
) -> None:
    sf = password_login(sandbox)
    assert sf.query("SELECT Id FROM CaseStatus")["totalSize"] == 6


def test_client_credentials_login_gives_a_working_client(sandbox: SalesforceSandbox) -> None:
    sf = Salesforce(
        consumer_key="sandbox-consumer-key",
        consumer_secret="sandbox-consumer-secret",
        domain="acme.my",
        session=LoopbackSession(sandbox.instance_url),
    )
    assert sf.query("SELECT Id FROM Group")["totalSize"] == len(sandbox.desk.groups)


def test_wrong_security_token_fails_login(sandbox: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        Salesforce(
            username="agent@sandbox.example",
            password="sandbox-password",
            security_token="wrong",
            session=LoopbackSession(sandbox.instance_url),
        )


@pytest.fixture(scope="module")
def jwt_keys() -> tuple[str, str]:
    return jwt_key_pair()


def jwt_login(sb: SalesforceSandbox, private_key: str, username: str) -> Salesforce:
    return Salesforce(
        username=username,
        consumer_key="sandbox-consumer-key",
        privatekey=private_key,
        domain="login",
        session=LoopbackSession(sb.instance_url),
    )


def test_jwt_bearer_login_signed_by_the_configured_key_gives_a_working_client(
    desk: Desk, jwt_keys: tuple[str, str]
) -> None:
    private_key, public_key = jwt_keys
    with SalesforceSandbox(desk, jwt_public_key_pem=public_key) as sb:
        sf = jwt_login(sb, private_key, "agent@sandbox.example")
        assert sf.query("SELECT Id FROM CaseStatus")["totalSize"] == 6


def test_jwt_bearer_login_signed_by_another_key_is_invalid_grant(
    desk: Desk, jwt_keys: tuple[str, str]
) -> None:
    other_private_key, _ = jwt_key_pair()
    with (
        SalesforceSandbox(desk, jwt_public_key_pem=jwt_keys[1]) as sb,
        pytest.raises(SalesforceAuthenticationFailed, match="invalid_grant"),
    ):
        jwt_login(sb, other_private_key, "agent@sandbox.example")


def test_jwt_bearer_login_for_another_user_is_invalid_grant(
    desk: Desk, jwt_keys: tuple[str, str]
) -> None:
    private_key, public_key = jwt_keys
    with (
        SalesforceSandbox(desk, jwt_public_key_pem=public_key) as sb,
        pytest.raises(SalesforceAuthenticationFailed, match="invalid_grant"),
    ):
        jwt_login(sb, private_key, "someone@else.example")


def test_an_expired_jwt_assertion_is_a_400_oauth_error(
    desk: Desk, jwt_keys: tuple[str, str]
) -> None:
    private_key, public_key = jwt_keys
    claims = {
        "iss": "sandbox-consumer-key",
        "sub": "agent@sandbox.example",
        "aud": "https://login.salesforce.com",
        "exp": int(datetime.now(UTC).timestamp()) - 600,  # the client signs with real time
    }
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": jwt.encode(claims, private_key, algorithm="RS256"),
    }
    with SalesforceSandbox(desk, jwt_public_key_pem=public_key) as sb:
        answer = requests.post(f"{sb.instance_url}/services/oauth2/token", data=form, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "expired" in answer.json()["error_description"]


def test_jwt_bearer_login_without_a_configured_key_is_refused(
    sandbox: SalesforceSandbox, jwt_keys: tuple[str, str]
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid_grant"):
        jwt_login(sandbox, jwt_keys[0], "agent@sandbox.example")


# ---- queries -------------------------------------------------------------------------------


def test_query_all_follows_next_records_url_over_several_pages(
    sandbox: SalesforceSandbox,
) -> None:
    sf = session_client(sandbox)
    before = len(sandbox.served)
    result = sf.query_all(HISTORY_SOQL, include_deleted=True, headers=SMALL_BATCH)
    pages = [path for path, _ in sandbox.served[before:] if "/query/01g" in path]
    expected = salesforce_face(sandbox.desk).objects["CaseHistory"]
    assert len(pages) == -(-len(expected) // 200) - 1
    assert {r["Id"] for r in records(result)} == {r["Id"] for r in expected}
    created = [r["CreatedDate"] for r in records(result)]
    assert created == sorted(created)


def test_a_page_holds_at_most_2000_records(sandbox: SalesforceSandbox) -> None:
    first = session_client(sandbox).query(HISTORY_SOQL, include_deleted=True)
    assert len(first["records"]) == 2000 and first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")


def test_query_hides_deleted_cases_and_query_all_shows_them(sandbox: SalesforceSandbox) -> None:
    sf = session_client(sandbox)
    live = records(sf.query_all(CASE_SOQL))
    every = records(sf.query_all(CASE_SOQL, include_deleted=True))
    deleted = [t for t in sandbox.desk.tickets.values() if t.status == "deleted"]
    assert deleted and len(every) == len(sandbox.desk.tickets)
    assert len(live) == len(every) - len(deleted)
    assert not any(r["IsDeleted"] for r in live)


def test_a_used_up_query_locator_is_invalid_query_locator(sandbox: SalesforceSandbox) -> None:
    sf = session_client(sandbox)
    first = sf.query(HISTORY_SOQL, include_deleted=True)
    sandbox.expire_locators()
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert error.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_describe_lists_each_field_with_its_type(sandbox: SalesforceSandbox) -> None:
    fields = {f["name"]: f["type"] for f in session_client(sandbox).Case.describe()["fields"]}
    assert fields["SystemModstamp"] == "datetime"
    assert fields["OwnerId"] == "reference"
    assert fields["IsDeleted"] == "boolean"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Case", "INVALID_FIELD"),
        ("SELECT Id FROM Kase", "INVALID_TYPE"),
        ("SELECT Id FROM Case WHERE IsClosed = true OR IsDeleted = true", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM Case", "MALFORMED_QUERY"),
        ("SELECT Id FROM Case WHERE CreatedDate >= '2024-01-01'", "INVALID_FIELD"),
    ],
)
def test_soql_outside_the_subset_is_a_malformed_request_naming_the_code(
    sandbox: SalesforceSandbox, soql: str, code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        session_client(sandbox).query(soql)
    assert error.value.status == 400
    assert error.value.content[0]["errorCode"] == code


# ---- sessions, limits, faults --------------------------------------------------------------


def test_an_expired_session_is_a_401_the_session_id_client_sees(desk: Desk) -> None:
    with SalesforceSandbox(desk, session_lifetime=1) as sb:
        sf = session_client(sb)
        sf.query("SELECT Id FROM CaseStatus")
        with pytest.raises(SalesforceExpiredSession) as error:
            sf.query("SELECT Id FROM CaseStatus")
    assert error.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_a_login_client_renews_an_expired_session_and_retries(desk: Desk) -> None:
    with SalesforceSandbox(desk, session_lifetime=1) as sb:
        sf = password_login(sb)
        sf.query("SELECT Id FROM CaseStatus")
        assert sf.query("SELECT Id FROM CaseStatus")["totalSize"] == 6
        assert ("/services/data/v59.0/query/", 401) in sb.served


def test_a_used_up_daily_allowance_is_403_request_limit_exceeded(desk: Desk) -> None:
    with SalesforceSandbox(desk, daily_allowance=100, api_usage=99) as sb:
        sf = session_client(sb)
        sf.query("SELECT Id FROM CaseStatus")
        with pytest.raises(SalesforceRefusedRequest) as error:
            sf.query("SELECT Id FROM CaseStatus")
    assert error.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_sforce_limit_info_is_read_by_the_client(desk: Desk) -> None:
    with SalesforceSandbox(desk, daily_allowance=5000, api_usage=41) as sb:
        sf = session_client(sb)
        sf.query("SELECT Id FROM CaseStatus")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (42, 5000)


def test_an_injected_503_reaches_the_client_once(sandbox: SalesforceSandbox) -> None:
    sandbox.inject("503")
    response = requests.get(f"{sandbox.instance_url}/services/data/v59.0/limits/", timeout=10)
    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_an_injected_query_timeout_is_a_400_with_its_code(sandbox: SalesforceSandbox) -> None:
    sandbox.inject_error("QUERY_TIMEOUT", path_contains="/query")
    sf = session_client(sandbox)
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query(CASE_SOQL)
    assert error.value.content[0]["errorCode"] == "QUERY_TIMEOUT"
    assert sf.query(CASE_SOQL)["totalSize"] > 0


def test_an_injected_reset_drops_the_connection(sandbox: SalesforceSandbox) -> None:
    sandbox.inject("reset")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox.instance_url}/services/data/v59.0/limits/", timeout=10)


def test_queries_see_the_desk_after_it_advances() -> None:
    desk = generate_desk(DeskSpec(now=NOW, agents=6, customers=20, tickets=40))
    with SalesforceSandbox(desk) as sb:
        sf = session_client(sb)
        before = sf.query_all(CASE_SOQL.replace("2024-03-02", "2024-04-01"), include_deleted=True)
        advance_desk(desk, 24 * 60, seed=3)
        after = sf.query_all(CASE_SOQL.replace("2024-03-02", "2024-04-01"), include_deleted=True)
    assert after["totalSize"] == len(desk.tickets) > before["totalSize"]


# ---- Bulk API 2.0 --------------------------------------------------------------------------


def test_bulk_query_all_pages_csv_by_locator_with_the_rows_rest_gives(
    sandbox: SalesforceSandbox,
) -> None:
    sf = session_client(sandbox)
    before = len(sandbox.served)
    pages = list(sf.bulk2.Case.query_all(CASE_SOQL, max_records=250, wait=0))
    bulk_rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    rest_rows = records(sf.query_all(CASE_SOQL, include_deleted=True))
    result_calls = [p for p, _ in sandbox.served[before:] if p.endswith("/results")]
    assert len(pages) == len(result_calls) == -(-len(rest_rows) // 250)
    assert [r["Id"] for r in bulk_rows] == [r["Id"] for r in rest_rows]
    assert [r["IsDeleted"] == "true" for r in bulk_rows] == [r["IsDeleted"] for r in rest_rows]


def test_bulk_query_hides_deleted_cases(sandbox: SalesforceSandbox) -> None:
    pages = session_client(sandbox).bulk2.Case.query(CASE_SOQL, wait=0)
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(str(page)))]
    live = [t for t in sandbox.desk.tickets.values() if t.status != "deleted"]
    assert len(rows) == len(live)


def test_bulk_results_before_the_job_completes_are_412_job_not_complete(desk: Desk) -> None:
    with SalesforceSandbox(desk, bulk_polls_in_progress=5) as sb:
        headers = {"Authorization": f"Bearer {sb.new_session()}"}
        jobs = f"{sb.instance_url}/services/data/v59.0/jobs/query"
        created = requests.post(
            jobs, json={"operation": "query", "query": CASE_SOQL}, headers=headers, timeout=10
        )
        results = requests.get(
            f"{jobs}/{created.json()['id']}/results", headers=headers, timeout=10
        )
    assert created.json()["state"] == "UploadComplete"
    assert results.status_code == 412
    assert results.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"


def test_bulk_job_with_bad_soql_is_a_malformed_request(sandbox: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        list(session_client(sandbox).bulk2.Case.query("SELECT Nope FROM Case", wait=0))
    assert error.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_a_page_fetched_again_gives_the_same_records(sandbox: SalesforceSandbox) -> None:
    sf = session_client(sandbox)
    url = sf.query(HISTORY_SOQL, include_deleted=True)["nextRecordsUrl"]
    first = sf.query_more(url, identifier_is_url=True)
    again = sf.query_more(url, identifier_is_url=True)
    assert records(first) == records(again) and records(first)


def test_only_the_most_recent_query_cursors_stay_open(desk: Desk) -> None:
    with SalesforceSandbox(desk, open_cursors=2) as sb:
        sf = session_client(sb)
        oldest = sf.query(HISTORY_SOQL, include_deleted=True)["nextRecordsUrl"]
        for _ in range(2):
            sf.query(HISTORY_SOQL, include_deleted=True)
        with pytest.raises(SalesforceMalformedRequest) as error:
            sf.query_more(oldest, identifier_is_url=True)
    assert error.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_the_salesforce_sandbox_imports_none_of_the_pipeline() -> None:
    code = (
        "import sys, sandbox.salesforce; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'deskmetrics', 'connectors', 'scoring', 'warehouse', 'interactions'}))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "[]", found.stderr


def test_every_record_carries_exactly_the_fields_describe_lists(
    sandbox: SalesforceSandbox,
) -> None:
    sf = session_client(sandbox)
    for name, rows in salesforce_face(sandbox.desk).objects.items():
        described = {f["name"] for f in getattr(sf, name).describe()["fields"]}
        assert rows and all(set(row) == described for row in rows), name


def test_feedback_csat_answers_reach_the_same_cases_as_the_custom_object(
    sandbox: SalesforceSandbox,
) -> None:
    sf = session_client(sandbox)
    question = sf.query("SELECT Id FROM SurveyQuestion WHERE DeveloperName = 'csat'")
    csat_id = question["records"][0]["Id"]
    answers = sf.query_all(
        f"SELECT ResponseId, InvitationId, NumberValue FROM SurveyQuestionResponse "
        f"WHERE QuestionId = '{csat_id}'"
    )
    subjects = sf.query_all("SELECT ParentId, SubjectId FROM SurveySubject")
    case_of = {s["ParentId"]: s["SubjectId"] for s in subjects["records"]}
    parents = {s["ParentId"][:3] for s in subjects["records"]}
    feedback = {
        case_of.get(a["ResponseId"]) or case_of[a["InvitationId"]]: a["NumberValue"]
        for a in answers["records"]
    }
    custom = sf.query_all("SELECT Case__c, Score__c FROM Case_Survey__c")
    live = {c["Id"] for c in sf.query_all("SELECT Id FROM Case")["records"]}
    assert parents == {"0Ki", "0Kd"}
    # A deleted case's surveys lost their link to it (the lookup was cleared).
    assert {c: v for c, v in feedback.items() if c in live} == {
        r["Case__c"]: r["Score__c"] for r in custom["records"] if r["Case__c"] is not None
    }


def test_rows_inside_the_commit_lag_appear_later_with_their_earlier_stamp() -> None:
    desk = generate_desk(DeskSpec(now=NOW, agents=6, customers=20, tickets=200))
    window = CASE_SOQL.replace("2024-03-02", "2024-04-01")
    with SalesforceSandbox(desk, commit_lag=timedelta(hours=6)) as sb:
        sf = session_client(sb)
        before = {r["Id"] for r in sf.query_all(window, include_deleted=True)["records"]}
        clock_before = desk.now
        advance_desk(desk, 24 * 60, seed=5)
        after = sf.query_all(window, include_deleted=True)["records"]
    late = [r for r in after if r["Id"] not in before]
    assert any(parse_datetime(r["SystemModstamp"]) < clock_before for r in late)


def test_an_injected_429_carries_retry_after(sandbox: SalesforceSandbox) -> None:
    sandbox.inject("429", retry_after=7)
    response = requests.get(f"{sandbox.instance_url}/services/data/v59.0/limits/", timeout=10)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")


def test_a_hanging_request_goes_on_when_released(sandbox: SalesforceSandbox) -> None:
    sandbox.inject("hang", path_contains="/query")
    sf = session_client(sandbox)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(sf.query, "SELECT Id FROM CaseStatus")
        assert sandbox.wait_for_hang(timeout=10)
        assert not pending.done()
        sandbox.release()
        assert pending.result(timeout=10)["totalSize"] == 6
