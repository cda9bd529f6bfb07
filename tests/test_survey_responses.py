"""Zendesk survey responses (new CSAT) through the connector over real HTTP: the recorded
page (tests/fixtures/zendesk/useairfoil_survey_responses_page.json), what docs/metrics.md "CSAT"
makes of its records, how the stream asks, and which CSAT a setting or the account selects.

Survey definitions are not recorded: they are served in the shape of the API reference
(research/zendesk-new-csat.md "2").
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.http import RetryPolicy
from connectors.zendesk import Page, ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from deskmetrics.settings import settings_from
from interactions import (
    ConfigError,
    History,
    Interaction,
    MalformedRecordError,
    Quarantined,
    Rating,
    RatingState,
)
from scoring import ScoringSettings, score_days
from tests.static_server import Query, serving

RESPONSES = "/api/v2/guide/survey_responses"
SURVEY = "01M4FMXHBW5WHJ6D7BEMA0RZC5"
DEFINITION = f"/api/v2/guide/en-us/surveys/{SURVEY}/1"
SURVEYS = "/api/v2/guide/en-us/surveys"
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def _recorded(samples: Path) -> dict[str, Any]:
    page = json.loads((samples / "useairfoil_survey_responses_page.json").read_text())
    assert isinstance(page, dict)
    return page


def _definition(scale: int = 5) -> dict[str, Any]:
    """A survey as `GET /api/v2/guide/{locale}/surveys/{id}/{version}` shows one."""
    options = [
        {"label": {"type": "static", "value": str(n)}, "rating": n} for n in range(1, scale + 1)
    ]
    return {
        "created_at": "2026-10-09T06:17:00.000Z",
        "id": SURVEY,
        "questions": [
            {
                "headline": {"type": "static", "value": "How would you rate the support?"},
                "id": "01M4FMXA2ZKKW0SW4G3MA6FBV9",
                "options": options,
                "sub_type": "customer_satisfaction",
                "type": "rating_scale_numeric",
            },
            {
                "headline": {"type": "static", "value": "Anything else?"},
                "id": "01M4FMXA30EKPSYPJRYHK3NJPQ",
                "type": "open_ended",
            },
        ],
        "state": "enabled",
        "updated_at": "2026-10-09T06:17:00.000Z",
        "version": 1,
    }


def _connector(base_url: str, **config: Any) -> ZendeskConnector:
    settings = ZendeskConfig(
        "zendesk", "acme", "agent@acme.test", "token", base_url=base_url, **config
    )
    return ZendeskConnector(settings, RetryPolicy(max_attempts=1, sleep=lambda _s: None))


def _read(routes: dict[str, Any], **config: Any) -> tuple[list[Any], ZendeskConnector]:
    """Every record one pass of the stream yields, and the connector that read them."""
    with serving(routes) as base_url:
        connector = _connector(base_url, **{"csat": "surveys", **config})
        pages = list(connector.survey_pages(None, SINCE))
    return [record for page in pages for record in page.records], connector


def _ratings(records: list[Any]) -> dict[str, Rating]:
    return {r.interaction_id: r for r in records if isinstance(r, Rating)}


def _page(*responses: dict[str, Any]) -> dict[str, Any]:
    return {"meta": {"has_more": False}, "survey_responses": list(responses)}


def test_the_recorded_page_yields_one_rating_per_answered_response(samples: Path) -> None:
    records, _ = _read({RESPONSES: [_recorded(samples)], DEFINITION: [{"survey": _definition()}]})
    assert sorted(_ratings(records)) == ["3", "6"]


def test_a_survey_sent_and_not_answered_is_stored_as_nothing(samples: Path) -> None:
    records, _ = _read({RESPONSES: [_recorded(samples)], DEFINITION: [{"survey": _definition()}]})
    assert "2" not in _ratings(records)  # ticket 2's survey has `answers: []`
    assert all(isinstance(r, Rating) for r in records)


def test_a_changed_answer_keeps_its_first_and_latest_moment(samples: Path) -> None:
    records, _ = _read({RESPONSES: [_recorded(samples)], DEFINITION: [{"survey": _definition()}]})
    six = _ratings(records)["6"]
    assert six == Rating(
        source="zendesk",
        rating_id="01M4FMZGKXZY6T2TJTER5PJWV7",
        interaction_id="6",
        agent_id=None,  # a survey response names no agent
        score="5",
        comment="Took too long to get a reply.",
        created_at=datetime(2026, 10, 9, 6, 18, 21, 129000, tzinfo=UTC),
        updated_at=datetime(2026, 10, 9, 6, 19, 22, 892000, tzinfo=UTC),
        survey_id=SURVEY,
        scale_max=5.0,
        category="good",
    )


def test_a_skipped_comment_is_no_comment(samples: Path) -> None:
    records, _ = _read({RESPONSES: [_recorded(samples)], DEFINITION: [{"survey": _definition()}]})
    three = _ratings(records)["3"]
    assert (three.score, three.category, three.comment) == ("1", "bad", None)


def _variant(samples: Path, ticket: str) -> dict[str, Any]:
    """The recorded response about `ticket`, to change one thing of."""
    page = _recorded(samples)
    found = next(r for r in page["survey_responses"] if r["subjects"][0]["id"] == ticket)
    return copy.deepcopy(found)


def test_a_response_with_only_a_skipped_rating_is_no_response(samples: Path) -> None:
    skipped = _variant(samples, "3")
    rating = skipped["answers"][0]
    for key in ("rating", "rating_category"):
        rating.pop(key)
    rating["type"] = "skipped"
    records, _ = _read({RESPONSES: [_page(skipped)], DEFINITION: [{"survey": _definition()}]})
    assert records == []


def _scored(rating: Rating, deleted: bool = False) -> tuple[int, int]:
    """(responses, satisfied) the rating adds up to, on a solved ticket of its own."""
    moment = datetime(2026, 10, 9, 6, 0, tzinfo=UTC)
    status = "deleted" if deleted else "solved"
    ticket = Interaction(
        "zendesk", rating.interaction_id, moment, moment, status, not deleted, deleted, "c",
        "39771704393373", None, solved_at=moment,
    )  # fmt: skip
    facts = score_days(
        [History(ticket, ratings=(rating,))], {}, {"zendesk": FAR}, ScoringSettings()
    )
    return sum(f.csat_responses for f in facts), sum(f.csat_satisfied for f in facts)


def test_a_neutral_rating_is_a_response_and_not_satisfied(samples: Path) -> None:
    neutral = _variant(samples, "6")
    neutral["answers"][0].update(rating=3, rating_category="neutral")
    records, _ = _read({RESPONSES: [_page(neutral)], DEFINITION: [{"survey": _definition()}]})
    assert _scored(_ratings(records)["6"]) == (1, 0)


def test_a_response_whose_ticket_was_deleted_counts_nowhere(samples: Path) -> None:
    records, _ = _read({RESPONSES: [_recorded(samples)], DEFINITION: [{"survey": _definition()}]})
    six = _ratings(records)["6"]
    assert _scored(six) == (1, 1)
    assert _scored(six, deleted=True) == (0, 0)


def test_the_first_pass_asks_for_fifty_a_page_sent_since_a_survey_life_before_since(
    samples: Path,
) -> None:
    # A survey sent up to 28 days before `since` may be answered inside the window.
    asked: list[Query] = []

    def responses(query: Query, _base: str) -> dict[str, Any]:
        asked.append(query)
        return _recorded(samples)

    _read({RESPONSES: responses, DEFINITION: [{"survey": _definition()}]})
    [query] = asked
    opened = SINCE - timedelta(days=29)
    assert query["filter[created_at_start]"] == [str(int(opened.timestamp()) * 1000)]
    assert query["page[size]"] == ["50"]


def test_a_survey_version_is_read_once_for_all_its_responses(samples: Path) -> None:
    definitions: list[Query] = []
    first = _recorded(samples)

    def responses(query: Query, base: str) -> dict[str, Any]:
        if "page[after]" in query:
            return _page(_variant(samples, "6"))
        return {
            **first,
            "meta": {"has_more": True},
            "links": {"next": f"{base}{RESPONSES}?page%5Bafter%5D=x"},
        }

    def definition(query: Query, _base: str) -> dict[str, Any]:
        definitions.append(query)
        return {"survey": _definition()}

    records, _ = _read({RESPONSES: responses, DEFINITION: definition})
    assert len(_ratings(records)) == 2 and len(records) == 3
    assert len(definitions) == 1


def test_pages_without_links_are_read_on_by_their_after_cursor(samples: Path) -> None:
    asked: list[Query] = []
    first = _recorded(samples)  # the recorded page: `meta` and no `links`

    def responses(query: Query, _base: str) -> dict[str, Any]:
        asked.append(query)
        if "page[after]" in query:
            return _page(_variant(samples, "6"))
        return {**first, "meta": {**first["meta"], "has_more": True}}

    records, _ = _read({RESPONSES: responses, DEFINITION: [{"survey": _definition()}]})
    assert len(records) == 3
    assert asked[1]["page[after]"] == [first["meta"]["after_cursor"]]
    assert asked[1]["filter[created_at_start]"] == asked[0]["filter[created_at_start]"]


def test_a_rating_off_its_surveys_scale_is_quarantined_or_stops_the_stream(
    samples: Path,
) -> None:
    routes = {RESPONSES: [_page(_variant(samples, "6"))], DEFINITION: [{"survey": _definition(3)}]}
    records, _ = _read(routes, bad_records="quarantine")
    assert [type(r) for r in records] == [Quarantined]
    assert "scale" in records[0].error
    with pytest.raises(MalformedRecordError, match=r"1\.\.3"):
        _read(routes)


def test_a_response_whose_survey_definition_is_refused_is_set_aside_or_stops_the_stream(
    samples: Path,
) -> None:
    # A version gone, or a survey_locale the Help Center lacks: the definition answers 404.
    # That is a fault of the responses to it, not of the others on the page.
    routes = {RESPONSES: [_page(_variant(samples, "6"))]}
    records, _ = _read(routes, bad_records="quarantine")
    assert [type(r) for r in records] == [Quarantined]
    assert "survey_locale" in records[0].error
    with pytest.raises(MalformedRecordError, match="survey_locale"):
        _read(routes)


def _enabled_surveys() -> dict[str, Any]:
    return {"meta": {"has_more": False}, "surveys": [_definition()]}


def test_auto_reads_no_survey_responses_while_the_account_has_no_survey(samples: Path) -> None:
    asked: list[Query] = []

    def responses(query: Query, _base: str) -> dict[str, Any]:
        asked.append(query)
        return _recorded(samples)

    # No survey list at all (404): an account whose plan has none.
    records, _ = _read({RESPONSES: responses}, csat="auto")
    assert records == [] and asked == []


def test_auto_reads_survey_responses_once_a_survey_is_enabled(samples: Path) -> None:
    routes = {SURVEYS: [_enabled_surveys()], RESPONSES: [_recorded(samples)]}
    records, _ = _read(routes, csat="auto")
    assert sorted(_ratings(records)) == ["3", "6"]  # the list gave the version's scale too


def test_csat_legacy_reads_nothing_of_the_surveys(samples: Path) -> None:
    routes = {SURVEYS: [_enabled_surveys()], RESPONSES: [_recorded(samples)]}
    _records, connector = _read(routes, csat="legacy")
    assert connector.usage.requests == 0


def test_the_usage_summary_names_the_survey_requests_apart(samples: Path) -> None:
    routes = {SURVEYS: [_enabled_surveys()], RESPONSES: [_recorded(samples)]}
    _records, connector = _read(routes, csat="auto")
    assert "2 of the requests were survey requests" in connector.usage.summary()
    assert "Help Center allowance" in connector.usage.summary()


def _pages_of(connector: ZendeskConnector) -> Iterator[Any]:
    yield from connector.survey_pages(None, SINCE)


def test_a_finished_pass_remembers_which_csat_it_read(samples: Path) -> None:
    routes = {SURVEYS: [_enabled_surveys()], RESPONSES: [_recorded(samples)]}
    with serving(routes) as base_url:
        last = list(_pages_of(_connector(base_url, csat="auto")))[-1]
    assert last.done and last.cursor["reading"] == "both" and last.cursor["seen"] is True


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("csat", "new", "'auto', 'legacy', 'surveys' or 'both'"),
        ("survey_locale", "../x", "not a locale"),
    ],
)
def test_a_bad_csat_setting_says_what_is_allowed(key: str, value: str, said: str) -> None:
    with pytest.raises(ConfigError, match=f"{key}.*{re.escape(said)}"):
        settings_from({"sources": {"zendesk": {key: value}}})


def test_the_csat_settings_reach_the_connector() -> None:
    source = {"email": "a@acme.test", "csat": "surveys", "survey_locale": "de"}
    settings = settings_from({"sources": {"zendesk": source}})
    config = settings.zendesk_config("zendesk", environ={"ZENDESK_API_TOKEN": "t"})
    assert (config.csat, config.survey_locale) == ("surveys", "de")


RESTART = {"start_time": int(datetime(2026, 10, 20, tzinfo=UTC).timestamp()), "seen": True}


def _restart(looked_back: datetime | None = None) -> dict[str, Any]:
    """A finished pass's cursor, its last whole read of the answerable window at
    `looked_back` (default: now, by the clock the served answers carry)."""
    moment = looked_back or datetime.now(UTC)
    return {**RESTART, "looked_back": int(moment.timestamp())}


def _ticket_pages(tickets: int) -> list[Page]:
    """A ticket export's pass in which `tickets` tickets show an answer."""
    moment = datetime(2026, 10, 20, 12, tzinfo=UTC)
    shown = tuple(
        RatingState("zendesk", f"9{n}", str(n), "good", None, moment) for n in range(tickets)
    )
    return [Page("tickets", shown, {}, False), Page("tickets", (), {"start_time": 1}, True)]


def _event_pages() -> list[Page]:
    """A ticket events export's whole pass."""
    return [Page("events", (), {"start_time": 1}, True)]


def _asked_in_a_sync(
    samples: Path,
    ticket_cursor: dict[str, Any] | None,
    tickets: int,
    satisfied: tuple[str, ...] = (),
    looked_back: datetime | None = None,
) -> list[Query]:
    """The survey-response queries of one sync pass after the ticket export's pages and a
    whole pass of the ticket events export in which `satisfied` tickets' satisfaction
    changed."""
    asked: list[Query] = []

    def responses(query: Query, _base: str) -> dict[str, Any]:
        asked.append(query)
        return _recorded(samples)

    routes = {RESPONSES: responses, DEFINITION: [{"survey": _definition()}]}
    with serving(routes) as base_url:
        connector = _connector(base_url, csat="both")
        list(connector.surveys.noting(ticket_cursor, _ticket_pages(tickets)))
        for ticket in satisfied:
            connector.surveys.note(ticket)
        list(connector.surveys.noting_events({"start_time": 1}, _event_pages()))
        list(connector.survey_pages(_restart(looked_back), SINCE))
    return asked


def test_a_sync_reads_the_tickets_shown_answered_by_subject_fifty_a_request(
    samples: Path,
) -> None:
    created, *by_subject = _asked_in_a_sync(samples, None, tickets=120)
    assert created["filter[created_at_start]"] == [str(RESTART["start_time"] * 1000)]
    zrns = [query["filter[subject_zrns]"][0].split(",") for query in by_subject]
    assert [len(batch) for batch in zrns] == [50, 50, 20]
    assert sorted(z for batch in zrns for z in batch) == sorted(
        f"zen:ticket:{n}" for n in range(120)
    )


def test_without_a_whole_ticket_pass_the_answerable_window_is_read_again(
    samples: Path,
) -> None:
    # The ticket export resumed in the middle of its pass: it did not show every change.
    asked = _asked_in_a_sync(samples, {"start_time": 1, "after_cursor": "c1"}, tickets=120)
    [created] = asked
    answerable = RESTART["start_time"] - 29 * 24 * 3600
    assert created["filter[created_at_start]"] == [str(answerable * 1000)]


def test_a_day_after_the_last_whole_read_a_sync_reads_the_answerable_window_again(
    samples: Path,
) -> None:
    # An answer that leaves its ticket as it was (4 -> 5, both good) shows in no export.
    a_day_ago = datetime.now(UTC) - timedelta(days=1, minutes=1)
    asked = _asked_in_a_sync(samples, None, tickets=120, looked_back=a_day_ago)
    [created] = asked
    answerable = RESTART["start_time"] - 29 * 24 * 3600
    assert created["filter[created_at_start]"] == [str(answerable * 1000)]


def test_a_sync_reads_the_tickets_whose_events_show_a_satisfaction_change(
    samples: Path,
) -> None:
    # Ticket 900 shows `offered` (answered, then offered a new survey): only its events
    # tell of the answer.
    _created, by_subject = _asked_in_a_sync(samples, None, tickets=1, satisfied=("900",))
    assert by_subject["filter[subject_zrns]"] == ["zen:ticket:0,zen:ticket:900"]


def test_without_a_whole_ticket_events_pass_the_answerable_window_is_read_again(
    samples: Path,
) -> None:
    asked: list[Query] = []

    def responses(query: Query, _base: str) -> dict[str, Any]:
        asked.append(query)
        return _recorded(samples)

    routes = {RESPONSES: responses, DEFINITION: [{"survey": _definition()}]}
    with serving(routes) as base_url:
        connector = _connector(base_url, csat="both")
        list(connector.surveys.noting(None, _ticket_pages(3)))
        resumed = {"start_time": 5, "pass_start": 1, "began": 9}  # cut short in a past run
        list(connector.surveys.noting_events(resumed, _event_pages()))
        list(connector.survey_pages(dict(RESTART), SINCE))
    [created] = asked
    answerable = RESTART["start_time"] - 29 * 24 * 3600
    assert created["filter[created_at_start]"] == [str(answerable * 1000)]
