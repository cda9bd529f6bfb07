"""The simulator's new CSAT over real HTTP: survey responses and survey definitions in the
recorded shapes, the endpoint's filters and limits, a desk that switches from legacy
ratings to survey responses part-way, and its ground truth."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.desk import Desk, DeskSpec, advance_desk, generate_desk
from sandbox.desk import truth as desk_truth
from sandbox.desk.surveys import category
from sandbox.zendesk import ZendeskSandbox
from tests.conftest import SAMPLES
from tests.desks import SMALL

NOW = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
AUTH = ("demo@example.com/token", "sandbox-token")
RESPONSES = "/api/v2/guide/survey_responses"
SWITCHED = {"tickets": 1200, "customers": 300, "agents": 10, "days": 30}


@pytest.fixture(scope="module")
def desk() -> Desk:
    return generate_desk(DeskSpec(now=NOW, csat_switch_days=12, survey_scale=3, **SWITCHED))


@pytest.fixture(scope="module")
def sandbox(desk: Desk) -> Iterator[ZendeskSandbox]:
    with ZendeskSandbox(desk) as sb:
        yield sb


def get(sb: ZendeskSandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sb.base_url}{path}", params=params, auth=AUTH, timeout=10)


def _every(sb: ZendeskSandbox, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every response the listing holds, asking for each next page by its after_cursor;
    and the pages read."""
    body = get(sb, RESPONSES, **params).json()
    found, pages = list(body["survey_responses"]), 1
    while body["meta"]["has_more"]:
        body = get(sb, RESPONSES, **params, **{"page[after]": body["meta"]["after_cursor"]}).json()
        found.extend(body["survey_responses"])
        pages += 1
    return found, pages


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_the_desk_sends_surveys_only_after_its_switch(desk: Desk) -> None:
    assert desk.survey is not None
    switch = desk.survey.created_at
    assert desk.survey_responses and desk.ratings
    assert all(r.offered_at >= switch for r in desk.survey_responses.values())
    # Legacy surveys are all sent before it (one sent before may be answered after).
    assert all(r.created_at < switch for r in desk.ratings.values() if r.score == "offered")


def test_the_desk_has_offers_answers_skips_and_changed_answers(desk: Desk) -> None:
    responses = list(desk.survey_responses.values())
    assert any(not r.answered and not r.skipped for r in responses)
    assert any(r.skipped for r in responses)
    assert any(len(r.history) > 1 for r in responses)
    assert {category(r.rating, 3) for r in responses if r.rating} == {"good", "bad"}


def test_a_listed_response_has_the_recorded_shape(sandbox: ZendeskSandbox, desk: Desk) -> None:
    recorded = json.loads((SAMPLES / "useairfoil_survey_responses_page.json").read_text())
    body = get(sandbox, RESPONSES).json()
    assert set(body) >= set(recorded) and set(body["meta"]) == set(recorded["meta"])
    answered = next(r for r in body["survey_responses"] if r["answers"])
    assert set(answered) == set(recorded["survey_responses"][0])
    rating = answered["answers"][0]
    assert set(rating) == set(recorded["survey_responses"][0]["answers"][0])
    assert isinstance(answered["responder_id"], str)


def test_a_page_of_responses_has_no_links_as_the_recorded_page(
    sandbox: ZendeskSandbox,
) -> None:
    body = get(sandbox, RESPONSES).json()
    assert body["meta"]["has_more"] and body["meta"]["after_cursor"]
    assert "links" not in body


def test_a_sandbox_asked_for_links_gives_the_next_page_link(desk: Desk) -> None:
    with ZendeskSandbox(desk, survey_links=True) as sb:
        first = get(sb, RESPONSES).json()
        following = requests.get(first["links"]["next"], auth=AUTH, timeout=10).json()
        by_cursor = get(sb, RESPONSES, **{"page[after]": first["meta"]["after_cursor"]}).json()
    assert following["survey_responses"] == by_cursor["survey_responses"]


def test_more_than_fifty_a_page_is_refused(sandbox: ZendeskSandbox) -> None:
    assert get(sandbox, RESPONSES, **{"page[size]": 51}).status_code == 400
    assert len(get(sandbox, RESPONSES, **{"page[size]": 50}).json()["survey_responses"]) == 50


def test_cursor_pages_read_every_response_once(sandbox: ZendeskSandbox, desk: Desk) -> None:
    found, pages = _every(sandbox, **{"page[size]": 50})
    ids = [r["id"] for r in found]
    assert ids == sorted(desk.survey_responses) and len(set(ids)) == len(ids)
    assert pages == math.ceil(len(ids) / 50)


def test_the_creation_filter_is_in_milliseconds(sandbox: ZendeskSandbox, desk: Desk) -> None:
    middle = sorted(r.offered_at for r in desk.survey_responses.values())[100]
    found, _ = _every(sandbox, **{"filter[created_at_start]": _ms(middle)})
    wanted = {r.id for r in desk.survey_responses.values() if r.offered_at >= middle}
    assert {r["id"] for r in found} == wanted
    in_seconds, _ = _every(sandbox, **{"filter[created_at_start]": int(middle.timestamp())})
    assert len(in_seconds) == len(desk.survey_responses)  # seconds read as ms: since 1970


def test_the_creation_window_has_an_end(sandbox: ZendeskSandbox, desk: Desk) -> None:
    times = sorted(r.offered_at for r in desk.survey_responses.values())
    start, end = times[10], times[60]
    window = {"filter[created_at_start]": _ms(start), "filter[created_at_end]": _ms(end)}
    found, _ = _every(sandbox, **window)
    assert len(found) == 51


def test_the_subject_filter_finds_the_responses_of_those_tickets(
    sandbox: ZendeskSandbox, desk: Desk
) -> None:
    tickets = sorted({r.ticket_id for r in desk.survey_responses.values()})[:7]
    zrns = ",".join(f"zen:ticket:{t}" for t in tickets)
    found, _ = _every(sandbox, **{"filter[subject_zrns]": zrns})
    assert sorted(int(r["subjects"][0]["id"]) for r in found) == tickets


def test_the_survey_list_shows_the_enabled_survey(sandbox: ZendeskSandbox, desk: Desk) -> None:
    body = get(
        sandbox, "/api/v2/guide/en-us/surveys", **{"filter[types]": "CUSTOMER_SATISFACTION"}
    ).json()
    [survey] = body["surveys"]
    assert survey["state"] == "enabled" and survey["version"] == 2
    [rating] = [q for q in survey["questions"] if q.get("sub_type") == "customer_satisfaction"]
    assert [o["rating"] for o in rating["options"]] == [1, 2, 3]


def test_a_survey_version_is_served_by_id(sandbox: ZendeskSandbox, desk: Desk) -> None:
    assert desk.survey is not None
    path = f"/api/v2/guide/en-us/surveys/{desk.survey.id}"
    assert get(sandbox, f"{path}/1").json()["survey"]["version"] == 1
    assert get(sandbox, f"{path}/9").json()["survey"]["version"] == 2  # the latest
    unknown = "/api/v2/guide/en-us/surveys/01M4FMXHBW5WHJ6D7BEMA0RZC5/1"
    assert get(sandbox, unknown).status_code == 404


def test_an_emoji_survey_rates_its_options_one_to_n() -> None:
    desk = generate_desk(
        DeskSpec(now=NOW, csat_switch_days=5, survey_scale=5, survey_emoji=True, **SWITCHED)
    )
    assert desk.survey is not None
    [rating, *_] = desk.survey.to_json(1)["questions"]
    assert rating["type"] == "rating_scale_emoji"
    assert [o["rating"] for o in rating["options"]] == [1, 2, 3, 4, 5]
    assert all(o["emoji"]["value"] for o in rating["options"])


def test_a_legacy_desk_lists_no_survey() -> None:
    desk = generate_desk(DeskSpec(now=NOW, **SWITCHED))
    with ZendeskSandbox(desk) as sb:
        assert get(sb, "/api/v2/guide/en-us/surveys").json()["surveys"] == []
        assert get(sb, RESPONSES).json()["survey_responses"] == []
    assert desk.survey is None and not desk.survey_responses


def test_an_answered_ticket_shows_good_or_bad_as_its_legacy_rating(desk: Desk) -> None:
    answered = next(r for r in desk.survey_responses.values() if r.rating is not None)
    shown = desk.tickets[answered.ticket_id].satisfaction
    assert shown is not None and shown["id"] == answered.mirror_id
    assert shown["score"] == category(answered.rating or 0, 3)


def test_the_same_seed_makes_the_same_survey_responses() -> None:
    spec = DeskSpec(now=NOW, csat_switch_days=12, survey_scale=5, **SWITCHED)
    one, two = generate_desk(spec), generate_desk(spec)
    assert one.survey and two.survey
    assert [r.to_json(one.survey) for r in one.survey_responses.values()] == [
        r.to_json(two.survey) for r in two.survey_responses.values()
    ]


def test_ground_truth_counts_each_answered_live_survey_once() -> None:
    desk = generate_desk(DeskSpec(now=NOW, csat_switch_days=12, survey_scale=5, **SWITCHED))
    facts = desk_truth.daily_facts(desk)
    legacy = sum(
        1
        for r in desk.ratings.values()
        if r.score in ("good", "bad") and not desk.tickets[r.ticket_id].deleted
    )
    surveys = [
        r
        for r in desk.survey_responses.values()
        if r.rating is not None and not desk.tickets[r.ticket_id].deleted
    ]
    assert sum(f["csat_responses"] for f in facts) == legacy + len(surveys)
    good = sum(1 for r in surveys if category(r.rating or 0, 5) == "good")
    legacy_good = sum(
        1
        for r in desk.ratings.values()
        if r.score == "good" and not desk.tickets[r.ticket_id].deleted
    )
    assert sum(f["csat_satisfied"] for f in facts) == legacy_good + good
    mean = sum(25 * ((r.rating or 1) - 1) for r in surveys) + 100 * legacy_good
    assert sum(f["csat_score_sum"] for f in facts) == mean


def test_an_advance_answers_offers_makes_a_bad_rating_good_and_sends_surveys() -> None:
    desk = generate_desk(DeskSpec(now=NOW, csat_switch_days=12, survey_scale=5, **SWITCHED))
    before = {r.id: r.rating for r in desk.survey_responses.values()}
    summary = advance_desk(desk, minutes=180, seed=11)
    after = {r.id: r.rating for r in desk.survey_responses.values()}
    assert summary["surveys_offered"] and summary["surveys_answered"]
    assert any(before[i] is None and after[i] is not None for i in before)
    assert any(
        before[i] is not None and category(before[i] or 0, 5) == "bad" and after[i] == 5
        for i in before
    )
    assert set(after) - set(before)  # new surveys sent


def test_an_advance_answers_a_survey_then_sends_a_new_one_on_the_same_ticket() -> None:
    desk = generate_desk(DeskSpec(now=NOW, csat_switch_days=12, survey_scale=5, **SWITCHED))
    since = int(desk.now.timestamp())
    summary = advance_desk(desk, minutes=180, seed=11)
    [ticket, *_] = summary["surveys_answered_then_offered"]
    responses = sorted(
        (r for r in desk.survey_responses.values() if r.ticket_id == ticket), key=lambda r: r.id
    )
    assert [r.answered for r in responses[-2:]] == [True, False]
    assert desk.tickets[ticket].satisfaction == {"score": "offered"}
    scores = [
        (child["previous_value"], child["satisfaction_score"])
        for event in desk.events
        if event["ticket_id"] == ticket and event["timestamp"] > since
        for child in event["child_events"]
        if "satisfaction_score" in child
    ]
    answer = category(responses[-2].rating or 0, 5)
    assert scores == [("offered", answer), (answer, "offered")]


def test_survey_requests_have_a_rate_limit_of_their_own(sandbox: ZendeskSandbox) -> None:
    guide = get(sandbox, RESPONSES)
    support = get(sandbox, "/api/v2/users.json")
    assert guide.headers["X-Rate-Limit"] == "400"
    assert guide.headers["zendesk-service"] == "guide-rest"
    assert support.headers["X-Rate-Limit"] == "700"


def test_the_switch_day_is_counted_from_the_specs_now() -> None:
    spec = DeskSpec(now=NOW, csat_switch_days=3, **SWITCHED)
    desk = generate_desk(spec)
    assert desk.survey is not None and desk.survey.created_at == NOW - timedelta(days=3)


def test_a_legacy_rating_is_not_changed_once_its_ticket_was_sent_a_survey() -> None:
    # Zendesk has one CSAT option active at a time: a ticket rated under legacy CSAT and
    # surveyed after the switch shows the survey's answer, and a change of the legacy
    # rating scheduled before (a customer's second thought) no longer happens.
    desk = generate_desk(
        DeskSpec(now=datetime(2026, 11, 2, 9, 0, tzinfo=UTC), csat_switch_days=1, **SMALL)
    )
    tickets = advance_desk(desk, minutes=180, seed=11)["surveyed_after_legacy_rating"]
    assert tickets, "no ticket rated before the switch was surveyed after it"
    for ticket_id in tickets:
        rating = desk.ratings[desk.sim.rating_of[ticket_id]]
        before = (rating.score, rating.updated_at, list(rating.history))
        desk.sim.do_change_rating(desk.now, desk.tickets[ticket_id], 0)
        assert (rating.score, rating.updated_at, rating.history) == before
