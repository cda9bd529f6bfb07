"""The warehouse: every write an idempotent upsert, committed with its cursor; nothing lost,
nothing doubled, an older copy never over a newer one. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from deskmetrics import pipeline
from deskmetrics.pull import CSAT_SILENCE_MIN_RESOLUTIONS, csat_silence
from deskmetrics.settings import Settings
from interactions import Interaction, OwnershipChange, Rating, StatusChange
from warehouse.cursors import load_cursor
from warehouse.day_marks import DirtyRule, dirty_days_of
from warehouse.schema import (
    agent_day_facts,
    dirty_days,
    interactions,
    metadata,
    ratings,
    sync_state,
)
from warehouse.store import store_page

RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _ticket(ticket_id: str = "1", status: str = "open", updated: datetime = T0) -> Interaction:
    return Interaction(
        source="zendesk",
        interaction_id=ticket_id,
        created_at=T0,
        updated_at=updated,
        status=status,
        resolved=status in ("solved", "closed"),
        deleted=status == "deleted",
        customer_id="c1",
        owner_id="a1",
        group_id=None,
    )


def _rating(score: str, created: datetime, updated: datetime) -> Rating:
    return Rating("zendesk", "r1", "1", "a1", score, None, created, updated)


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row but runs, and no dirty mark's token (a fresh one each time a day is marked)."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                tuple(map(str, row))
                for row in conn.execute(select(*(c for c in table.c if c.name != "token")))
            )
            for table in metadata.sorted_tables
            if table.name not in ("runs",)
        }


def _store(engine: Engine, records: list[Any], cursor: dict[str, Any] | None = None) -> None:
    when = T0 + timedelta(days=1)
    store_page(engine, "zendesk", "tickets", records, cursor or {"start_time": 1}, RULE, now=when)


def test_storing_a_page_twice_changes_nothing(any_engine: Engine) -> None:
    page = [
        _ticket(),
        OwnershipChange("zendesk", "e1", "1", "u1", T0, None, "a1"),
        StatusChange("zendesk", "e2", "1", "u1", T0, None, "new", None, False),
    ]
    _store(any_engine, page)
    once = _dump(any_engine)
    _store(any_engine, page)
    assert _dump(any_engine) == once


def test_an_older_copy_never_overwrites_a_newer_one(any_engine: Engine) -> None:
    _store(any_engine, [_ticket(status="solved", updated=T0 + timedelta(hours=2))])
    _store(any_engine, [_ticket(status="open", updated=T0)])
    with any_engine.connect() as conn:
        assert conn.execute(select(interactions.c.status)).scalar() == "solved"


def test_a_newer_copy_replaces_the_older(any_engine: Engine) -> None:
    _store(any_engine, [_ticket(status="open", updated=T0)])
    _store(any_engine, [_ticket(status="deleted", updated=T0 + timedelta(hours=1))])
    with any_engine.connect() as conn:
        assert conn.execute(select(interactions.c.deleted)).scalar() is True


def test_a_changed_rating_keeps_the_day_it_was_first_given(any_engine: Engine) -> None:
    first = T0 + timedelta(hours=1)
    _store(any_engine, [_rating("good", first, first)])
    later = T0 + timedelta(days=2)
    _store(any_engine, [_rating("bad", later, later)])  # a changed answer, created_at moved
    with any_engine.connect() as conn:
        row = conn.execute(select(ratings.c.score, ratings.c.created_at)).one()
    assert row.score == "bad" and row.created_at == first


def test_the_cursor_is_saved_with_its_page(any_engine: Engine) -> None:
    _store(any_engine, [_ticket()], {"start_time": 123, "after_cursor": "abc"})
    assert load_cursor(any_engine, "zendesk", "tickets") == {
        "start_time": 123,
        "after_cursor": "abc",
    }


def test_a_failed_page_stores_neither_records_nor_cursor(any_engine: Engine) -> None:
    _store(any_engine, [_ticket("1")], {"start_time": 1})
    broken = [_ticket("2"), "not a record"]
    with pytest.raises(TypeError):
        _store(any_engine, broken, {"start_time": 2})
    with any_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(interactions)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(sync_state)).scalar() == 1
    assert load_cursor(any_engine, "zendesk", "tickets") == {"start_time": 1}


def test_a_page_marks_the_days_its_interactions_count_on(any_engine: Engine) -> None:
    later = T0 + timedelta(days=3)
    _store(
        any_engine,
        [
            _ticket(updated=later),
            OwnershipChange("zendesk", "e1", "1", "u1", T0, None, "a1"),
            StatusChange("zendesk", "e2", "1", "u2", later, "open", "solved", False, True),
        ],
    )
    days = dirty_days_of(any_engine, "zendesk")
    assert date(2026, 3, 2) in days and date(2026, 3, 5) in days


def test_a_new_contact_marks_the_resolution_day_of_the_customers_earlier_interaction(
    any_engine: Engine,
) -> None:
    solved = T0 + timedelta(days=5)
    _store(
        any_engine,
        [
            _ticket("1", "solved", solved),
            StatusChange("zendesk", "e2", "1", "u2", solved, "open", "solved", False, True),
        ],
    )
    with any_engine.begin() as conn:
        conn.execute(sync_state.delete())
        conn.execute(dirty_days.delete())
    repeat = Interaction(
        "zendesk",
        "2",
        solved + timedelta(hours=10),
        solved + timedelta(hours=10),
        "new",
        False,
        False,
        "c1",
        None,
        None,
    )
    _store(any_engine, [repeat])
    assert date(2026, 3, 7) in dirty_days_of(any_engine, "zendesk")


def test_a_new_contact_marks_the_day_of_an_earlier_resolution_change_not_only_its_solved_day(
    any_engine: Engine,
) -> None:
    resolved_at = datetime(2026, 3, 7, 23, 30, tzinfo=UTC)  # the status change: day D
    solved_at = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)  # the ticket's own times: day D+1
    earlier = Interaction(
        "zendesk", "1", T0, solved_at, "solved", True, False, "c1", "a1", None, solved_at
    )
    change = StatusChange("zendesk", "e2", "1", "u2", resolved_at, "open", "solved", False, True)
    _store(any_engine, [earlier, change])
    with any_engine.begin() as conn:
        conn.execute(dirty_days.delete())
    contact = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)  # within the repeat window of both
    repeat = Interaction("zendesk", "2", contact, contact, "new", False, False, "c1", None, None)
    _store(any_engine, [repeat], {"start_time": 2})
    assert date(2026, 3, 7) in dirty_days_of(any_engine, "zendesk")


SOLVED = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)  # ticket 1 of customer c1, solved on day D
CONTACT = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # within its repeat window, on day D+2
LATER = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a later moment of ticket 2, on day D+3


def _contact(created: datetime, updated: datetime, status: str = "new") -> Interaction:
    """Ticket 2 of customer c1."""
    deleted = status == "deleted"
    return Interaction("zendesk", "2", created, updated, status, False, deleted, "c1", None, None)


def _solved_then_contact(engine: Engine, solved: datetime, contact: datetime) -> None:
    """Ticket 1 solved at `solved`, ticket 2 created at `contact`; then no day is dirty."""
    _store(
        engine,
        [
            _ticket("1", "solved", solved),
            StatusChange("zendesk", "e2", "1", "u2", solved, "open", "solved", False, True),
            _contact(contact, contact),
        ],
    )
    with engine.begin() as conn:
        conn.execute(dirty_days.delete())


def test_a_page_of_history_alone_marks_no_other_interactions_resolution_day(
    any_engine: Engine,
) -> None:
    # A change of the later ticket leaves its customer, creation and deletion as they were,
    # so it is no new repeat contact for the earlier one: condition 2 of
    # docs/metrics.md "Resolution and first-contact resolution (FCR)".
    _solved_then_contact(any_engine, SOLVED, CONTACT)
    change = StatusChange("zendesk", "e3", "2", "u3", LATER, "new", "open", False, False)
    _store(any_engine, [change], {"start_time": 2})
    assert dirty_days_of(any_engine, "zendesk") == [date(2026, 3, 9), date(2026, 3, 10)]


def test_a_new_copy_of_a_contact_as_it_was_marks_no_other_interactions_resolution_day(
    any_engine: Engine,
) -> None:
    # A sync's copy of the later ticket, updated but with the same customer, creation and
    # deletion, is no new repeat contact for the earlier one.
    _solved_then_contact(any_engine, SOLVED, CONTACT)
    _store(any_engine, [_contact(CONTACT, LATER, "open")], {"start_time": 2})
    assert dirty_days_of(any_engine, "zendesk") == [date(2026, 3, 9), date(2026, 3, 10)]


def test_a_contact_created_earlier_than_stored_marks_the_resolution_day_it_now_reaches(
    any_engine: Engine,
) -> None:
    solved = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    beyond = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # after the repeat window
    _solved_then_contact(any_engine, solved, beyond)
    within = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    _store(any_engine, [_contact(within, beyond)], {"start_time": 2})
    assert date(2026, 3, 3) in dirty_days_of(any_engine, "zendesk")


def test_a_contact_deleted_since_marks_the_resolution_day_it_no_longer_reaches(
    any_engine: Engine,
) -> None:
    _solved_then_contact(any_engine, SOLVED, CONTACT)
    _store(any_engine, [_contact(CONTACT, LATER, "deleted")], {"start_time": 2})
    assert date(2026, 3, 7) in dirty_days_of(any_engine, "zendesk")


def test_a_moment_is_marked_on_its_local_day_in_a_half_hour_zone(any_engine: Engine) -> None:
    kolkata = DirtyRule(timezone="Asia/Kolkata", repeat_window=timedelta(hours=72))
    at = datetime(2026, 3, 2, 18, 40, tzinfo=UTC)  # 00:10 on March 3rd in Kolkata (+05:30)
    ticket = Interaction("zendesk", "1", at, at, "new", False, False, "c1", None, None)
    store_page(any_engine, "zendesk", "tickets", [ticket], {"start_time": 1}, kolkata, now=at)
    assert date(2026, 3, 3) in dirty_days_of(any_engine, "zendesk")


def test_a_moment_is_marked_on_its_local_day_when_the_offset_changes_within_its_hour(
    any_engine: Engine,
) -> None:
    st_johns = DirtyRule(timezone="America/St_Johns", repeat_window=timedelta(hours=72))
    # 00:00:30 on October 25th in St. John's, half a minute before it fell back from -2:30
    # to -3:30 at 00:01: the hour's first and last instants are both on the 24th there.
    at = datetime(1987, 10, 25, 2, 30, 30, tzinfo=UTC)
    ticket = Interaction("zendesk", "1", at, at, "new", False, False, "c1", None, None)
    store_page(any_engine, "zendesk", "tickets", [ticket], {"start_time": 1}, st_johns, now=at)
    assert date(1987, 10, 25) in dirty_days_of(any_engine, "zendesk")


def test_solved_tickets_without_any_rating_raise_the_new_csat_warning(engine: Engine) -> None:
    solves = [
        StatusChange("zendesk", f"s{n}", str(n), f"u{n}", T0, "open", "solved", False, True)
        for n in range(CSAT_SILENCE_MIN_RESOLUTIONS)
    ]
    _store(engine, solves)
    warning = csat_silence(engine, "zendesk", T0 + timedelta(days=1))
    assert warning is not None and "new CSAT" in warning
    _store(engine, [_rating("good", T0, T0)])
    assert csat_silence(engine, "zendesk", T0 + timedelta(days=1)) is None


def test_a_salesforce_source_without_answers_is_told_of_its_own_csat_settings(
    engine: Engine,
) -> None:
    solves = [
        StatusChange("service", f"s{n}", str(n), f"u{n}", T0, "New", "Closed", False, True)
        for n in range(CSAT_SILENCE_MIN_RESOLUTIONS)
    ]
    _store(engine, solves)
    warning = csat_silence(engine, "service", T0 + timedelta(days=1), "salesforce")
    assert warning is not None and "csat_object" in warning and "[sources.service]" in warning
    assert "Admin Center" not in warning and "new CSAT" not in warning


def _facts(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        columns = [c for c in agent_day_facts.c if c.name != "computed_at"]
        return sorted(tuple(row) for row in conn.execute(select(*columns)))


def _fcr_of(engine: Engine, agent: str, day: date) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(agent_day_facts.c.fcr_eligible, agent_day_facts.c.fcr).where(
                agent_day_facts.c.agent_id == agent, agent_day_facts.c.day == day
            )
        ).one()
    return row.fcr_eligible, row.fcr


def test_a_changed_requester_gives_the_old_customers_resolution_its_fcr_back(
    any_engine: Engine,
) -> None:
    settings = Settings()
    solved = T0 + timedelta(hours=1)
    day_b = T0 + timedelta(days=1)  # within the repeat window of A's resolution

    def ticket_b(customer: str, updated: datetime) -> Interaction:
        return Interaction("zendesk", "B", day_b, updated, "open", False, False, customer,
                           "a2", None)  # fmt: skip

    first_page = [
        Interaction("zendesk", "A", T0, solved, "solved", True, False, "X", "a1", None, solved),
        OwnershipChange("zendesk", "oA", "A", "uA1", T0, None, "a1"),
        StatusChange("zendesk", "sA", "A", "uA2", solved, "open", "solved", False, True),
        ticket_b("X", day_b),
        OwnershipChange("zendesk", "oB", "B", "uB1", day_b, None, "a2"),
    ]
    mark = T0 + timedelta(days=30)  # every window closed: nothing pending
    store_page(any_engine, "zendesk", "tickets", first_page, {"n": 1}, RULE, mark, now=mark)
    pipeline.score(any_engine, settings, now=mark)
    assert _fcr_of(any_engine, "a1", T0.date()) == (1, 0)  # B was A's repeat contact

    moved = [ticket_b("Y", day_b + timedelta(days=2))]
    store_page(any_engine, "zendesk", "tickets", moved, {"n": 2}, RULE, mark, now=mark)
    pipeline.score(any_engine, settings, now=mark)  # only the days the page marked
    assert _fcr_of(any_engine, "a1", T0.date()) == (1, 1)
    dirty_only = _facts(any_engine)
    pipeline.score(any_engine, settings, everything=True, now=mark)
    assert _facts(any_engine) == dirty_only
