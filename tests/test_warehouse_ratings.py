"""docs/metrics.md "CSAT": a response counts on the day of its first ANSWER, never of an offer,
whatever order the copies of a rating arrive in; a ticket's view of a rating creates it
when none is stored. Stored through store_page, scored by pipeline.report, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from deskmetrics import pipeline
from deskmetrics.settings import Settings
from interactions import OFFER_SCORES, Interaction, OwnershipChange, Rating, RatingState
from interactions import StatusChange as Status
from scoring import ReportRow
from warehouse.day_marks import DirtyRule
from warehouse.ratings import merged_rating
from warehouse.schema import ratings
from warehouse.store import store_page

RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
DAY1 = date(2026, 3, 2)
DAY2 = date(2026, 3, 3)
SOLVED = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
OFFERED = datetime(2026, 3, 2, 23, 50, tzinfo=UTC)  # day 1, ten minutes to midnight
ANSWERED = datetime(2026, 3, 3, 0, 10, tzinfo=UTC)  # day 2, ten minutes past
NOW = datetime(2026, 3, 20, tzinfo=UTC)


def _rating(
    score: str, created: datetime, updated: datetime | None, agent: str | None = "a1"
) -> Rating:
    return Rating("zendesk", "r1", "1", agent, score, None, created, updated)


def _store(engine: Engine, stream: str, records: list[Any]) -> None:
    store_page(engine, "zendesk", stream, records, {"n": 1}, RULE, now=NOW)


def _solved_ticket(engine: Engine) -> None:
    """Ticket 1, taken by a1 on day 1 and solved by a1 before midnight."""
    created = SOLVED - timedelta(hours=3)
    ticket = Interaction(
        "zendesk", "1", created, SOLVED, "solved", True, False, "c1", "a1", None, SOLVED
    )
    _store(
        engine,
        "tickets",
        [
            ticket,
            OwnershipChange("zendesk", "o1", "1", "u1", created, None, "a1"),
            Status("zendesk", "s1", "1", "u2", SOLVED, "open", "solved", False, True),
        ],
    )


def _csat_by_day(engine: Engine) -> dict[date, tuple[int, int]]:
    """(responses, satisfied) of agent a1 on day 1 and day 2, as `report` shows them."""
    found = {}
    for day in (DAY1, DAY2):
        rows = pipeline.report(engine, Settings(), day, day + timedelta(days=1))
        row: ReportRow | None = next((r for r in rows if r.agent_id == "a1"), None)
        found[day] = (row.csat_responses, row.csat_satisfied) if row else (0, 0)
    return found


def _stored_rating(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(ratings)).one()


# The offer and the answer of one record, as a source that re-dates the record when the
# customer answers sends them (created_at moves to the answer).
OFFER = _rating("offered", OFFERED, OFFERED)
REDATED_ANSWER = _rating("good", ANSWERED, ANSWERED)


@pytest.mark.parametrize("order", ["offer first", "answer first"])
def test_an_answer_to_an_offer_before_midnight_counts_on_the_answers_day(
    any_engine: Engine, order: str
) -> None:
    _solved_ticket(any_engine)
    copies = [OFFER, REDATED_ANSWER] if order == "offer first" else [REDATED_ANSWER, OFFER]
    for copy in copies:
        _store(any_engine, "ratings", [copy])
    assert _csat_by_day(any_engine) == {DAY1: (0, 0), DAY2: (1, 1)}


def test_an_answer_that_keeps_the_offers_created_at_counts_on_the_day_it_was_given(
    any_engine: Engine,
) -> None:
    _solved_ticket(any_engine)
    _store(any_engine, "ratings", [OFFER])
    _store(any_engine, "ratings", [_rating("good", OFFERED, ANSWERED)])  # answered at update
    assert _csat_by_day(any_engine) == {DAY1: (0, 0), DAY2: (1, 1)}


def test_a_changed_answer_keeps_the_day_of_the_first_answer(any_engine: Engine) -> None:
    _solved_ticket(any_engine)
    changed = ANSWERED + timedelta(days=2)
    for copy in (OFFER, REDATED_ANSWER, _rating("bad", changed, changed)):
        _store(any_engine, "ratings", [copy])
    assert _csat_by_day(any_engine) == {DAY1: (0, 0), DAY2: (1, 0)}
    assert _stored_rating(any_engine).created_at == ANSWERED


def test_an_offer_read_again_after_the_answer_changes_nothing(any_engine: Engine) -> None:
    _store(any_engine, "ratings", [REDATED_ANSWER])
    before = _stored_rating(any_engine)
    _store(any_engine, "ratings", [OFFER])
    assert _stored_rating(any_engine) == before


# A ticket's view of its rating (RatingState)


def _state(score: str, seen_at: datetime, agent: str | None = "a9") -> RatingState:
    return RatingState("zendesk", "r1", "1", score, None, seen_at, agent)


def test_a_ticket_shows_a_rating_not_yet_stored_and_it_counts_on_that_day(
    any_engine: Engine,
) -> None:
    _solved_ticket(any_engine)
    _store(any_engine, "tickets", [_state("good", ANSWERED, agent="a1")])
    row = _stored_rating(any_engine)
    assert (row.score, row.agent_id, row.created_at) == ("good", "a1", ANSWERED)
    assert row.updated_at is None  # not confirmed by the ratings stream yet
    assert _csat_by_day(any_engine) == {DAY1: (0, 0), DAY2: (1, 1)}


def test_a_ticket_showing_an_offer_stores_nothing(any_engine: Engine) -> None:
    _store(any_engine, "tickets", [_state("offered", ANSWERED)])
    with any_engine.connect() as conn:
        assert conn.execute(select(ratings)).first() is None


def test_the_ratings_stream_then_names_the_agent_and_the_first_answer(any_engine: Engine) -> None:
    seen = ANSWERED + timedelta(hours=5)  # the ticket changed again after the answer
    _store(any_engine, "tickets", [_state("good", seen, agent="a9")])
    made = _stored_rating(any_engine)
    assert (made.agent_id, made.created_at, made.updated_at) == ("a9", seen, None)
    _store(any_engine, "ratings", [REDATED_ANSWER])
    row = _stored_rating(any_engine)
    assert (row.agent_id, row.created_at, row.updated_at) == ("a1", ANSWERED, ANSWERED)


def test_a_ticket_corrects_a_changed_answer_and_keeps_its_agent_and_first_day(
    any_engine: Engine,
) -> None:
    _store(any_engine, "ratings", [REDATED_ANSWER])
    changed = ANSWERED + timedelta(days=3)
    _store(any_engine, "tickets", [_state("bad", changed, agent="a9")])
    row = _stored_rating(any_engine)
    assert (row.score, row.updated_at) == ("bad", changed)
    assert (row.agent_id, row.created_at) == ("a1", ANSWERED)


def test_an_older_ticket_view_corrects_no_answer(any_engine: Engine) -> None:
    changed = ANSWERED + timedelta(days=3)
    _store(any_engine, "ratings", [_rating("bad", ANSWERED, changed)])
    _store(any_engine, "tickets", [_state("good", ANSWERED + timedelta(days=1))])
    assert _stored_rating(any_engine).score == "bad"


LATER = ANSWERED + timedelta(hours=5)
BOTH_ORDERS = {
    # a ratings copy and a later ticket view of the same answer
    "same answer": ([REDATED_ANSWER], _state("good", LATER)),
    # the ticket shows the answer changed after the ratings copy
    "changed on the ticket": ([REDATED_ANSWER], _state("bad", LATER)),
    # the ratings stream has the changed answer, re-dated; the ticket showed the first
    "changed in the ratings": (
        [_rating("bad", LATER, LATER, agent="a2")],
        _state("good", ANSWERED),
    ),
    # the ticket answers an offer the ratings stream sent
    "offer then answer": ([OFFER], _state("good", ANSWERED)),
}


@pytest.mark.parametrize("case", sorted(BOTH_ORDERS))
def test_a_ticket_view_and_ratings_copies_give_one_row_in_either_order(
    any_engine: Engine, case: str
) -> None:
    copies, state = BOTH_ORDERS[case]
    _store(any_engine, "ratings", copies)
    _store(any_engine, "tickets", [state])
    copies_first = _stored_rating(any_engine)
    with any_engine.begin() as conn:
        conn.execute(ratings.delete())
    _store(any_engine, "tickets", [state])
    _store(any_engine, "ratings", copies)
    assert _stored_rating(any_engine) == copies_first
    assert copies_first.created_at == ANSWERED  # the first answer, whoever told it


# Any order of arrival (the pure merge)


def test_offer_scores_are_no_answers_and_scores_are_compared_loosely() -> None:
    assert {"offered", "unoffered", ""} == OFFER_SCORES
    assert not _rating(" Offered ", OFFERED, None).is_answer
    assert _rating("good", OFFERED, None).is_answer and _rating("4", OFFERED, None).is_answer


T0 = datetime(2026, 5, 1, tzinfo=UTC)


@st.composite
def _copies_of_one_rating(draw: st.DrawFn) -> tuple[list[Rating], datetime]:
    """An offer, then answers changed over time, as a source that re-dates the record at
    each answer sends them (each copy read possibly several times); and the first answer."""
    offered = T0 + timedelta(minutes=draw(st.integers(0, 60)))
    answers = sorted(draw(st.lists(st.integers(1, 10_000), min_size=1, max_size=4, unique=True)))
    copies = [_rating("offered", offered, offered)]
    for n, minutes in enumerate(answers):
        at = offered + timedelta(minutes=minutes)
        copies.append(_rating(("good", "bad")[n % 2], at, at, agent=f"a{n}"))
    return copies, offered + timedelta(minutes=answers[0])


@settings(max_examples=200, deadline=None)
@given(_copies_of_one_rating(), st.randoms(use_true_random=False))
def test_any_order_of_copies_keeps_the_first_answer_and_the_latest_copy(
    case: tuple[list[Rating], datetime], shuffler: Any
) -> None:
    copies, first_answer = case
    arrivals = copies + copies[: len(copies) // 2]
    shuffler.shuffle(arrivals)
    merged: Rating | None = None
    for copy in arrivals:
        merged = merged_rating(merged, copy)
    assert merged is not None
    assert merged.created_at == first_answer
    latest = copies[-1]
    assert (merged.score, merged.agent_id, merged.updated_at) == (
        latest.score,
        latest.agent_id,
        latest.updated_at,
    )


def test_a_response_dated_earlier_by_a_later_copy_leaves_the_day_it_left(
    any_engine: Engine,
) -> None:
    _solved_ticket(any_engine)
    shown = ANSWERED + timedelta(days=1)  # the ticket showed the answer a day later
    _store(any_engine, "tickets", [_state("good", shown, agent="a1")])
    assert _csat_on(any_engine, shown.date()) == (1, 1)  # scored as the ticket showed it
    _store(any_engine, "ratings", [REDATED_ANSWER])  # the first answer was on day 2
    pipeline.score(any_engine, Settings(), now=NOW)  # only the days the pages marked
    dirty_only = _csat_by_day(any_engine), _csat_on(any_engine, shown.date())
    assert dirty_only == ({DAY1: (0, 0), DAY2: (1, 1)}, (0, 0))
    pipeline.score(any_engine, Settings(), everything=True, now=NOW)
    assert (_csat_by_day(any_engine), _csat_on(any_engine, shown.date())) == dirty_only


def _csat_on(engine: Engine, day: date) -> tuple[int, int]:
    rows = pipeline.report(engine, Settings(), day, day + timedelta(days=1))
    row = next((r for r in rows if r.agent_id == "a1"), None)
    return (row.csat_responses, row.csat_satisfied) if row else (0, 0)
