"""docs/metrics.md rules, one test each, from a few hand-made records (scoring.score_days)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from interactions import (
    ConfigError,
    History,
    Interaction,
    OwnershipChange,
    Rating,
    StatusChange,
)
from scoring import (
    AgentDayFact,
    Contact,
    ScoringSettings,
    Totals,
    day_of,
    score_days,
    sum_facts,
)

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # a Monday morning, UTC
DAY0 = T0.date()
FAR = datetime(2100, 1, 1, tzinfo=UTC)  # a high-water mark that leaves nothing pending
RESOLVED = {"solved", "closed"}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ticket(
    iid: str = "1",
    *,
    status: str = "open",
    created: float = 0,
    updated: float = 1,
    customer: str | None = "cust",
    owner: str | None = None,
    deleted: bool = False,
    solved_at: datetime | None = None,
    source: str = "zendesk",
) -> Interaction:
    return Interaction(
        source=source,
        interaction_id=iid,
        created_at=at(created),
        updated_at=at(updated),
        status=status,
        resolved=status in RESOLVED,
        deleted=deleted,
        customer_id=customer,
        owner_id=owner,
        group_id=None,
        solved_at=solved_at,
    )


def own(update: int, hours: float, prev: str | None, new: str | None) -> OwnershipChange:
    return OwnershipChange("zendesk", f"{update}o", "1", str(update), at(hours), prev, new)


def status(update: int, hours: float, prev: str | None, new: str) -> StatusChange:
    was = None if prev is None else prev in RESOLVED
    return StatusChange(
        "zendesk", f"{update}s", "1", str(update), at(hours), prev, new, was, new in RESOLVED
    )


def rating(
    rid: str,
    hours: float,
    score: str,
    *,
    agent: str | None = "A",
    updated: float | None = None,
    survey: str = "",
) -> Rating:
    changed = None if updated is None else at(updated)
    return Rating("zendesk", rid, "1", agent, score, None, at(hours), changed, survey)


def history(interaction: Interaction, *records: OwnershipChange | StatusChange | Rating) -> History:
    return History(
        interaction,
        ownership=tuple(r for r in records if isinstance(r, OwnershipChange)),
        statuses=tuple(r for r in records if isinstance(r, StatusChange)),
        ratings=tuple(r for r in records if isinstance(r, Rating)),
    )


def score(
    *histories: History,
    contacts: Mapping[tuple[str, str], Sequence[Contact]] | None = None,
    hwm: datetime | None = FAR,
    settings: ScoringSettings | None = None,
) -> list[AgentDayFact]:
    return score_days(histories, contacts or {}, {"zendesk": hwm}, settings or ScoringSettings())


def total(facts: list[AgentDayFact], agent: str | None) -> Totals:
    found = [t for t in sum_facts(facts) if t.agent_id == agent]
    return found[0] if found else Totals("zendesk", agent, 0, 0, 0, 0, 0, 0, 0, 0.0)


def fact(facts: list[AgentDayFact], agent: str | None, day: date) -> AgentDayFact:
    (found,) = [f for f in facts if f.agent_id == agent and f.day == day]
    return found


def solved_by_a() -> History:
    """Assigned to A at creation and solved by A an hour later."""
    return history(
        ticket(status="solved"),
        own(1, 0, None, "A"),
        status(1, 0, None, "new"),
        status(2, 1, "new", "solved"),
    )


# docs/metrics.md "Handled"


def test_owner_counts_handled_once_on_day_first_became_owner() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            own(2, 30, "A", "B"),
            own(3, 60, "B", "A"),
        )
    )
    assert fact(facts, "A", DAY0).handled == 1
    assert total(facts, "A").handled == 1
    assert fact(facts, "B", DAY0 + timedelta(days=1)).handled == 1


def test_current_owner_without_recorded_changes_handled_since_creation() -> None:
    facts = score(history(ticket(owner="A")))
    assert fact(facts, "A", DAY0).handled == 1


# docs/metrics.md "Transfer out"


def test_first_assignment_is_not_a_transfer() -> None:
    facts = score(history(ticket(), own(1, 0, None, "A")))
    assert total(facts, "A").handled == 1
    assert total(facts, "A").transferred_out == 0


def test_handing_on_while_open_is_transfer_out_on_the_handled_day() -> None:
    facts = score(history(ticket(), own(1, 0, None, "A"), own(2, 48, "A", "B")))
    assert fact(facts, "A", DAY0).transferred_out == 1
    assert total(facts, "B").transferred_out == 0
    assert fact(facts, "B", DAY0 + timedelta(days=2)).handled == 1


def test_handing_back_to_a_group_is_a_transfer_out() -> None:
    facts = score(history(ticket(), own(1, 0, None, "A"), own(2, 1, "A", None)))
    assert total(facts, "A").transferred_out == 1


def test_ownership_change_while_resolved_is_no_transfer() -> None:
    facts = score(
        history(
            ticket(status="closed"),
            own(1, 0, None, "A"),
            status(2, 1, "open", "solved"),
            own(3, 2, "A", "B"),
            status(4, 3, "solved", "closed"),
        )
    )
    assert total(facts, "A").transferred_out == 0
    assert total(facts, "A").resolved == 1
    assert total(facts, "B").resolved == 0


# docs/metrics.md "Words": Resolved -- a history that records no status change


def test_a_move_of_an_interaction_resolved_throughout_is_no_transfer() -> None:
    # A case logged closed (no history row for its status at creation), moved later.
    facts = score(history(ticket(status="closed"), own(1, 24, "A", "B")))
    assert total(facts, "A").transferred_out == 0


def test_a_move_before_the_sources_resolution_time_is_a_transfer() -> None:
    # The solve's own event is not read yet; the source says when it was solved.
    facts = score(history(ticket(status="solved", solved_at=at(5)), own(1, 2, "A", "B")))
    assert total(facts, "A").transferred_out == 1


def test_a_move_after_the_sources_resolution_time_is_no_transfer() -> None:
    facts = score(history(ticket(status="solved", solved_at=at(1)), own(1, 2, "A", "B")))
    assert total(facts, "A").transferred_out == 0


def test_transfer_counted_at_most_once_per_agent_and_interaction() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            own(2, 1, "A", "B"),
            own(3, 2, "B", "A"),
            own(4, 3, "A", "C"),
        )
    )
    assert total(facts, "A") == Totals("zendesk", "A", 1, 1, 0, 0, 0, 0, 0, 0.0)
    assert total(facts, "B").transferred_out == 1


def test_change_to_same_owner_is_no_change() -> None:
    facts = score(history(ticket(), own(1, 0, None, "A"), own(2, 1, "A", "A")))
    assert total(facts, "A").transferred_out == 0
    assert total(facts, "A").handled == 1


def test_take_and_solve_in_one_update_is_transfer_for_old_owner_and_resolution_for_new() -> None:
    facts = score(
        history(
            ticket(status="solved"),
            own(1, 0, None, "A"),
            status(1, 0, None, "new"),
            own(2, 5, "A", "B"),
            status(2, 5, "new", "solved"),
        )
    )
    assert total(facts, "A").transferred_out == 1
    assert total(facts, "A").resolved == 0
    assert total(facts, "B").resolved == 1
    assert total(facts, "B").transferred_out == 0


def test_reopened_and_handed_on_is_no_transfer_for_solver() -> None:
    facts = score(
        history(
            ticket(status="open"),
            own(1, 0, None, "A"),
            status(1, 0, None, "new"),
            status(2, 1, "new", "solved"),
            own(3, 5, "A", "C"),
            status(3, 5, "solved", "open"),
        )
    )
    assert total(facts, "A").transferred_out == 0
    assert total(facts, "C").handled == 1


def test_updates_at_one_moment_order_numerically_by_update_id() -> None:
    # Update "10" follows update "9" although it sorts first as text.
    changes = [
        OwnershipChange("zendesk", "c10", "1", "10", at(1), "A", "B"),
        OwnershipChange("zendesk", "c9", "1", "9", at(1), None, "A"),
    ]
    facts = score(history(ticket(), *changes))
    assert total(facts, "A").transferred_out == 1
    assert total(facts, "B").transferred_out == 0


# docs/metrics.md "Resolution and first-contact resolution (FCR)"


def test_resolver_is_owner_at_last_resolution() -> None:
    facts = score(
        history(
            ticket(status="solved"),
            own(1, 0, None, "A"),
            status(1, 0, None, "new"),
            status(2, 1, "new", "solved"),
            status(3, 2, "solved", "open"),
            own(4, 3, "A", "B"),
            status(5, 30, "open", "solved"),
        )
    )
    assert total(facts, "A").resolved == 0
    assert fact(facts, "B", DAY0 + timedelta(days=1)).resolved == 1


def test_solved_to_closed_is_no_new_resolution() -> None:
    facts = score(
        history(
            ticket(status="closed"),
            own(1, 0, None, "A"),
            status(1, 0, None, "new"),
            status(2, 1, "new", "solved"),
            own(3, 40, "A", "B"),
            status(4, 100, "solved", "closed"),
        )
    )
    assert fact(facts, "A", DAY0).resolved == 1
    assert total(facts, "B").resolved == 0


def test_creation_with_resolved_status_is_a_resolution() -> None:
    facts = score(
        history(ticket(status="solved"), own(1, 0, None, "A"), status(1, 0, None, "solved"))
    )
    assert fact(facts, "A", DAY0).resolved == 1


def test_reopened_interaction_open_now_counts_as_unresolved() -> None:
    facts = score(
        history(
            ticket(status="open"),
            own(1, 0, None, "A"),
            status(2, 1, "new", "solved"),
            status(3, 2, "solved", "open"),
        )
    )
    assert total(facts, "A").resolved == 0


def test_resolution_without_recorded_change_falls_back_to_solved_at() -> None:
    facts = score(
        history(
            ticket(status="solved", updated=90, solved_at=at(50)),
            own(1, 0, None, "A"),
            own(2, 40, "A", "B"),
            own(3, 60, "B", "C"),
        )
    )
    assert fact(facts, "B", DAY0 + timedelta(days=2)).resolved == 1


def test_resolution_without_recorded_change_or_solved_at_uses_updated_at() -> None:
    facts = score(history(ticket(status="solved", updated=30, owner="A")))
    assert fact(facts, "A", DAY0 + timedelta(days=1)).resolved == 1


def test_resolution_without_an_owner_goes_to_the_unassigned_row() -> None:
    facts = score(
        history(
            ticket(status="solved"),
            own(1, 0, None, "A"),
            own(2, 1, "A", None),
            status(3, 2, "open", "solved"),
        )
    )
    assert total(facts, None).resolved == 1
    assert total(facts, "A").resolved == 0


def test_resolved_fcr_eligible_and_fcr_counted_on_resolution_day() -> None:
    facts = score(
        history(
            ticket(status="solved"),
            own(1, 0, None, "A"),
            status(2, 50, "open", "solved"),
        )
    )
    resolution_day = fact(facts, "A", DAY0 + timedelta(days=2))
    assert (resolution_day.resolved, resolution_day.fcr_eligible, resolution_day.fcr) == (1, 1, 1)
    assert fact(facts, "A", DAY0).resolved == 0


def test_reopened_interaction_is_not_fcr() -> None:
    facts = score(
        history(
            ticket(status="solved"),
            own(1, 0, None, "A"),
            status(2, 1, "open", "solved"),
            status(3, 2, "solved", "open"),
            status(4, 3, "open", "solved"),
        )
    )
    assert (total(facts, "A").fcr_eligible, total(facts, "A").fcr) == (1, 0)


def contacts_of(*created_hours: float) -> dict[tuple[str, str], list[Contact]]:
    own_contact = Contact("1", at(0))
    others = [Contact(f"r{i}", at(h)) for i, h in enumerate(created_hours)]
    return {("zendesk", "cust"): [own_contact, *others]}


def test_repeat_contact_inside_window_breaks_fcr() -> None:
    # Solved at hour 1; the window runs to hour 73.
    facts = score(solved_by_a(), contacts=contacts_of(70))
    assert (total(facts, "A").fcr_eligible, total(facts, "A").fcr) == (1, 0)


def test_repeat_contact_at_window_end_breaks_fcr() -> None:
    facts = score(solved_by_a(), contacts=contacts_of(73))
    assert total(facts, "A").fcr == 0


def test_repeat_contact_after_window_keeps_fcr() -> None:
    facts = score(solved_by_a(), contacts=contacts_of(73.01))
    assert (total(facts, "A").fcr_eligible, total(facts, "A").fcr) == (1, 1)


def test_repeat_window_follows_settings() -> None:
    facts = score(
        solved_by_a(), contacts=contacts_of(20), settings=ScoringSettings(repeat_window_hours=12)
    )
    assert total(facts, "A").fcr == 1


def test_contact_created_before_or_with_the_interaction_is_no_repeat() -> None:
    facts = score(solved_by_a(), contacts=contacts_of(-5, 0))
    assert total(facts, "A").fcr == 1


def test_contact_of_another_customer_is_no_repeat() -> None:
    other = {("zendesk", "someone-else"): [Contact("9", at(2))]}
    facts = score(solved_by_a(), contacts=other)
    assert total(facts, "A").fcr == 1


def test_deleted_interaction_is_no_repeat_contact() -> None:
    deleted = history(ticket("r0", deleted=True, created=2))
    facts = score(solved_by_a(), deleted, contacts=contacts_of(2))
    assert total(facts, "A").fcr == 1


def test_transfer_breaks_fcr_only_when_configured() -> None:
    transferred = history(
        ticket(status="solved"),
        own(1, 0, None, "A"),
        own(2, 1, "A", "B"),
        status(3, 2, "open", "solved"),
    )
    assert total(score(transferred), "B").fcr == 1
    strict = ScoringSettings(transfer_breaks_fcr=True)
    assert (
        total(score(transferred, settings=strict), "B").fcr_eligible,
        total(score(transferred, settings=strict), "B").fcr,
    ) == (1, 0)


def test_pending_resolution_is_left_out_of_fcr_counts() -> None:
    # Solved at hour 1: its window closes at hour 73.
    pending = score(solved_by_a(), hwm=at(72))
    assert (total(pending, "A").resolved, total(pending, "A").fcr_eligible) == (1, 0)
    assert total(pending, "A").fcr == 0
    closed = score(solved_by_a(), hwm=at(73))
    assert (total(closed, "A").fcr_eligible, total(closed, "A").fcr) == (1, 1)


def test_missing_high_water_mark_leaves_every_resolution_pending() -> None:
    facts = score(solved_by_a(), hwm=None)
    assert (total(facts, "A").resolved, total(facts, "A").fcr_eligible) == (1, 0)
    no_entry = score_days([solved_by_a()], {}, {}, ScoringSettings())
    assert total(no_entry, "A").fcr_eligible == 0


# docs/metrics.md "CSAT"


def test_zendesk_good_is_satisfied_and_bad_is_not() -> None:
    facts = score(
        history(ticket(), own(1, 0, None, "A"), rating("r1", 2, "good", survey="s1")),
        history(ticket("2"), own(1, 0, None, "A"), rating("r2", 2, "bad", survey="s1")),
    )
    assert (total(facts, "A").csat_responses, total(facts, "A").csat_satisfied) == (2, 1)
    assert total(facts, "A").csat_score_sum == 100.0


def test_offered_unoffered_and_empty_are_no_response() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            rating("r1", 2, "offered", survey="s1"),
            rating("r2", 2, "unoffered", survey="s2"),
            rating("r3", 2, "", survey="s3"),
        )
    )
    assert total(facts, "A").csat_responses == 0


def test_numeric_scores_on_the_scale_are_responses_satisfied_from_threshold() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            rating("r1", 2, "4", survey="s1"),
            rating("r2", 2, "3.5", survey="s2"),
            rating("r3", 2, "1", survey="s3"),
            rating("r4", 2, "5", survey="s4"),
        )
    )
    a = total(facts, "A")
    assert (a.csat_responses, a.csat_satisfied) == (4, 2)
    assert a.csat_score_sum == pytest.approx(75.0 + 62.5 + 0.0 + 100.0)


def test_numeric_scores_off_the_scale_are_no_response() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            rating("r1", 2, "0", survey="s1"),
            rating("r2", 2, "6", survey="s2"),
            rating("r3", 2, "nan", survey="s3"),
        )
    )
    assert total(facts, "A").csat_responses == 0


def test_csat_scale_and_threshold_follow_settings() -> None:
    ten = ScoringSettings(csat_scale_min=0, csat_scale_max=10, csat_satisfied_threshold=9)
    facts = score(history(ticket(), own(1, 0, None, "A"), rating("r1", 2, "8")), settings=ten)
    assert (total(facts, "A").csat_satisfied, total(facts, "A").csat_score_sum) == (0, 80.0)


def test_changed_rating_counts_once_latest_answer_on_first_day() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            rating("r1", 2, "good"),
            rating("r2", 30, "offered"),  # a re-offer is no answer and changes nothing
            rating("r3", 50, "bad"),
        )
    )
    assert fact(facts, "A", DAY0).csat_responses == 1
    assert fact(facts, "A", DAY0).csat_satisfied == 0
    assert total(facts, "A").csat_responses == 1


def test_changed_rating_in_the_same_record_uses_its_latest_answer() -> None:
    facts = score(history(ticket(), own(1, 0, None, "A"), rating("r1", 2, "bad", updated=40)))
    assert fact(facts, "A", DAY0).csat_responses == 1
    assert fact(facts, "A", DAY0).csat_satisfied == 0


def test_latest_answer_is_by_updated_at_before_created_at() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            rating("r1", 2, "good", updated=60),
            rating("r2", 30, "bad"),
        )
    )
    assert (total(facts, "A").csat_responses, total(facts, "A").csat_satisfied) == (1, 1)


def test_each_survey_of_an_interaction_has_its_own_response() -> None:
    facts = score(
        history(
            ticket(),
            own(1, 0, None, "A"),
            rating("r1", 2, "good", survey="s1"),
            rating("r2", 2, "bad", survey="s2"),
        )
    )
    assert total(facts, "A").csat_responses == 2


def test_response_belongs_to_rating_agent_then_resolver_then_unassigned() -> None:
    recorded = history(
        ticket(status="solved"),
        own(1, 0, None, "A"),
        own(2, 1, "A", "B"),
        status(3, 2, "open", "solved"),
        rating("r1", 3, "good", agent="A"),
    )
    to_resolver = history(
        ticket("2", status="solved"),
        own(1, 0, None, "A"),
        own(2, 1, "A", "B"),
        status(3, 2, "open", "solved"),
        rating("r2", 3, "good", agent=None),
    )
    to_nobody = history(
        ticket("3"), own(1, 0, None, "A"), own(2, 1, "A", None), rating("r3", 3, "good", agent=None)
    )
    facts = score(recorded, to_resolver, to_nobody)
    assert total(facts, "A").csat_responses == 1
    assert total(facts, "B").csat_responses == 1
    assert total(facts, None).csat_responses == 1


def test_response_without_agent_goes_to_resolver_even_if_reopened_since() -> None:
    facts = score(
        history(
            ticket(status="open"),
            own(1, 0, None, "A"),
            status(2, 1, "open", "solved"),
            own(3, 2, "A", "B"),
            status(4, 3, "solved", "open"),
            rating("r1", 2, "bad", agent=None),
        )
    )
    assert (total(facts, "A").csat_responses, total(facts, "A").resolved) == (1, 0)


def test_rated_ticket_reopened_and_open_now_gives_its_response_to_the_last_resolver() -> None:
    facts = score(
        history(
            ticket(status="open", owner="C"),
            own(1, 0, None, "A"),
            status(2, 1, "open", "solved"),  # A resolves
            status(3, 2, "solved", "open"),
            own(4, 3, "A", "B"),
            status(5, 5, "open", "solved"),  # B resolves: the last resolution
            own(6, 8, "B", "C"),
            status(6, 8, "solved", "open"),  # reopened and handed to C, open now
            rating("r1", 9, "good", agent=None),  # no agent recorded; C owns it by then
        )
    )
    assert fact(facts, "B", DAY0).csat_responses == 1
    assert (total(facts, "A").csat_responses, total(facts, "C").csat_responses) == (0, 0)
    assert sum(f.resolved for f in facts) == 0  # open now: counted as unresolved


# docs/metrics.md "Left out"


def test_deleted_interaction_counts_nowhere() -> None:
    deleted = history(
        ticket(status="solved", deleted=True),
        own(1, 0, None, "A"),
        status(2, 1, "open", "solved"),
        rating("r1", 2, "good", agent="A"),
    )
    assert score(deleted) == []


def test_never_owned_interaction_counts_only_in_unassigned_row() -> None:
    facts = score(
        history(
            ticket(status="solved"),
            status(2, 1, "open", "solved"),
            rating("r1", 2, "good", agent="A"),
        )
    )
    assert [f.agent_id for f in facts] == [None]
    assert (facts[0].resolved, facts[0].csat_responses) == (1, 1)


# docs/metrics.md "Words": Day, and the shape of the output


def test_days_bucket_in_configured_timezone_across_dst() -> None:
    berlin = ScoringSettings(timezone="Europe/Berlin")
    # 2024-03-31 is the spring-forward day in Berlin: UTC+1 before, UTC+2 after.
    before = datetime(2024, 3, 30, 23, 30, tzinfo=UTC)  # 00:30 CET on the 31st
    after = datetime(2024, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 CEST on 1 April
    assert day_of(before, berlin) == date(2024, 3, 31)
    assert day_of(after, berlin) == date(2024, 4, 1)
    assert day_of(after, ScoringSettings()) == date(2024, 3, 31)

    def assigned(iid: str, when: datetime) -> History:
        change = OwnershipChange("zendesk", f"c{iid}", iid, f"u{iid}", when, None, "A")
        return History(ticket(iid), ownership=(change,))

    facts = score(assigned("1", before), assigned("2", after), settings=berlin)
    assert [(f.day, f.handled) for f in facts] == [(date(2024, 3, 31), 1), (date(2024, 4, 1), 1)]


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        day_of(datetime(2024, 1, 1), ScoringSettings())


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        ScoringSettings(timezone="Mars/Olympus")


def test_upside_down_csat_scale_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="scale_min"):
        ScoringSettings(csat_scale_min=5, csat_scale_max=1)


def test_output_sorted_by_source_day_agent_without_all_zero_rows() -> None:
    facts = score(
        history(ticket("1"), own(1, 30, None, "B")),
        history(ticket("2"), own(1, 0, None, "B")),
        history(ticket("3"), own(1, 0, None, "A")),
        history(ticket("4")),  # never owned, never resolved: no row at all
    )
    assert [(f.day, f.agent_id) for f in facts] == [
        (DAY0, "A"),
        (DAY0, "B"),
        (DAY0 + timedelta(days=1), "B"),
    ]
