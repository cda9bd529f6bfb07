"""Invariants of scoring over generated histories (docs/metrics.md "Additivity" and friends)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from interactions import History, Interaction, OwnershipChange, Rating, StatusChange
from scoring import (
    AgentDayFact,
    Contact,
    ScoringSettings,
    Totals,
    report_rows,
    score_days,
    sum_facts,
    wilson_interval,
)

T0 = datetime(2024, 3, 25, tzinfo=UTC)  # a week that crosses Europe's spring DST change
RESOLVED = {"solved", "closed"}
NO_RESPONSE = {"offered", "unoffered", "7"}  # "7" is off the default 1..5 scale
COUNTS = tuple(f.name for f in fields(Totals))[2:]


@dataclass(frozen=True)
class Case:
    """Generated histories plus what they must add up to, known from how they were built."""

    histories: tuple[History, ...]
    contacts: dict[tuple[str, str], list[Contact]]
    hwm: datetime | None
    settings: ScoringSettings
    owner_pairs: int  # distinct (agent, interaction) owners of non-deleted interactions
    resolved_now: int
    surveys_answered: int


@st.composite
def a_history(draw: st.DrawFn, iid: str) -> tuple[History, int]:
    created = T0 + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    now = created
    owner: str | None = None
    state: str | None = None
    owners: set[str] = set()
    ownership: list[OwnershipChange] = []
    statuses: list[StatusChange] = []
    for n in range(draw(st.integers(0, 6))):
        now += timedelta(minutes=draw(st.integers(0, 3000)))
        if draw(st.booleans()):
            new_owner = draw(st.sampled_from(["a", "b", "c", None]))
            ownership.append(OwnershipChange("zd", f"o{n}", iid, str(n), now, owner, new_owner))
            owner = new_owner
            owners |= {new_owner} if new_owner else set()
        if draw(st.booleans()):
            new = draw(st.sampled_from(["new", "open", "solved", "closed"]))
            was: bool | None = None if state is None else state in RESOLVED
            statuses.append(
                StatusChange("zd", f"s{n}", iid, str(n), now, state, new, was, new in RESOLVED)
            )
            state = new
    scores = st.sampled_from(["good", "bad", "offered", "unoffered", "1", "3", "5", "7"])
    ratings = tuple(
        Rating(
            "zd",
            f"r{k}",
            iid,
            draw(st.sampled_from([None, "a", "b"])),
            draw(scores),
            None,
            now + timedelta(hours=draw(st.integers(0, 90))),
            None,
            draw(st.sampled_from(["", "s"])),
        )
        for k in range(draw(st.integers(0, 3)))
    )
    status = state or "new"
    interaction = Interaction(
        source="zd",
        interaction_id=iid,
        created_at=created,
        updated_at=now,
        status=status,
        resolved=status in RESOLVED,
        deleted=draw(st.booleans()) and draw(st.booleans()),
        customer_id=draw(st.sampled_from(["x", "y", None])),
        owner_id=owner,
        group_id=None,
    )
    history = History(interaction, tuple(ownership), tuple(statuses), ratings)
    return history, 0 if interaction.deleted else len(owners)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    drawn = [draw(a_history(str(i))) for i in range(draw(st.integers(1, 6)))]
    histories = tuple(h for h, _ in drawn)
    contacts: dict[tuple[str, str], list[Contact]] = {}
    for h in histories:
        i = h.interaction
        if i.customer_id is not None and not i.deleted:
            contacts.setdefault(("zd", i.customer_id), []).append(
                Contact(i.interaction_id, i.created_at)
            )
    alive = [h for h in histories if not h.interaction.deleted]
    hours = draw(st.none() | st.integers(0, 400))
    zone = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]))
    return Case(
        histories=histories,
        contacts=contacts,
        hwm=None if hours is None else T0 + timedelta(hours=hours),
        settings=ScoringSettings(timezone=zone, transfer_breaks_fcr=draw(st.booleans())),
        owner_pairs=sum(pairs for _, pairs in drawn),
        resolved_now=sum(1 for h in alive if h.interaction.resolved),
        surveys_answered=sum(
            len({r.survey_id for r in h.ratings if r.score not in NO_RESPONSE}) for h in alive
        ),
    )


def run(case: Case) -> list[AgentDayFact]:
    return score_days(case.histories, case.contacts, {"zd": case.hwm}, case.settings)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_every_fact_keeps_its_subset_relations(case: Case) -> None:
    for f in run(case):
        assert f.transferred_out <= f.handled  # transfers are a subset of handled, per day
        assert f.fcr <= f.fcr_eligible <= f.resolved
        assert f.csat_satisfied <= f.csat_responses
        assert 0.0 <= f.csat_score_sum <= 100.0 * f.csat_responses
        assert any(getattr(f, n) for n in COUNTS)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_counts_add_up_to_what_the_histories_hold(case: Case) -> None:
    facts = run(case)
    assert sum(f.handled for f in facts) == case.owner_pairs
    assert sum(f.resolved for f in facts) == case.resolved_now
    assert sum(f.csat_responses for f in facts) == case.surveys_answered


@settings(max_examples=200, deadline=None)
@given(cases())
def test_result_is_sorted_and_independent_of_input_order(case: Case) -> None:
    facts = run(case)
    assert facts == sorted(facts, key=lambda f: (f.source, f.day, f.agent_id or ""))
    shuffled = tuple(
        History(h.interaction, h.ownership[::-1], h.statuses[::-1], h.ratings[::-1])
        for h in reversed(case.histories)
    )
    assert score_days(shuffled, case.contacts, {"zd": case.hwm}, case.settings) == facts


@settings(max_examples=200, deadline=None)
@given(cases(), st.integers(0, 12))
def test_rates_of_any_split_of_days_equal_rates_of_the_total(case: Case, cut: int) -> None:
    facts = run(case)
    cut_day = T0.date() + timedelta(days=cut)
    parts = [[f for f in facts if f.day < cut_day], [f for f in facts if f.day >= cut_day]]
    combined: dict[tuple[str, str | None], list[float]] = {}
    for part in parts:
        for t in sum_facts(part):
            key = (t.source, t.agent_id)
            old = combined.get(key, [0] * len(COUNTS))
            combined[key] = [a + getattr(t, n) for a, n in zip(old, COUNTS, strict=True)]
    rolled = [Totals(s, a, *v) for (s, a), v in combined.items()]  # type: ignore[arg-type]
    whole = report_rows(sum_facts(facts), {}, "agent", case.settings)
    assert report_rows(rolled, {}, "agent", case.settings) == whole


@given(st.integers(0, 500), st.integers(0, 500))
def test_wilson_interval_holds_the_observed_rate(a: int, b: int) -> None:
    successes, trials = min(a, b), max(a, b)
    interval = wilson_interval(successes, trials)
    if trials == 0:
        assert interval is None
        return
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= successes / trials <= high <= 1.0
