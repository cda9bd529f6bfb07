"""People who work on several desks (`DeskSpec.shared_staff`): the same names and addresses in
every desk that shares staff, nobody else's address shared, and the rest of a desk unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.desk import Desk, DeskSpec, generate_desk
from sandbox.desk.names import SHARED_STAFF
from sandbox.desk.state import ADMINS

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SMALL = DeskSpec(now=NOW, tickets=40, customers=30, days=10)


def addresses(desk: Desk) -> set[str]:
    return {u.email.casefold() for u in desk.agents()}


def shared_addresses(count: int) -> set[str]:
    return {f"{n.replace(' ', '.')}@acme-support.example".lower() for n in SHARED_STAFF[:count]}


def test_shared_staff_changes_nothing_but_the_agents_names_and_addresses() -> None:
    spec = replace(SMALL, tickets=300, customers=100, days=20)
    own, sharing = generate_desk(spec), generate_desk(replace(spec, shared_staff=3))
    assert sharing.tickets == own.tickets
    assert sharing.events == own.events
    assert sharing.ratings == own.ratings
    assert sharing.scenarios == own.scenarios
    renamed = [
        (i, sharing.users[u.id].name)
        for i, u in enumerate(own.agents())
        if sharing.users[u.id].name != u.name
    ]
    assert renamed == [(ADMINS + i, name) for i, name in enumerate(SHARED_STAFF[:3])]
    for user in own.users.values():
        assert replace(sharing.users[user.id], name=user.name, email=user.email) == user
    assert len({u.name for u in sharing.agents()}) == len(sharing.agents())


def test_the_shared_people_are_agents_who_own_tickets() -> None:
    desk = generate_desk(replace(SMALL, tickets=300, shared_staff=3))
    shared = [u for u in desk.agents() if u.name in SHARED_STAFF]
    assert [u.role for u in shared] == ["agent"] * 3
    owners = {t.assignee_id for t in desk.tickets.values()}
    assert all(u.id in owners for u in shared)


@settings(max_examples=40, deadline=None)
@given(
    seeds=st.lists(st.integers(-1000, 1000), min_size=2, max_size=2, unique=True),
    counts=st.tuples(st.integers(1, 5), st.integers(0, 5)),
)
def test_two_desks_of_other_seeds_share_the_addresses_of_their_shared_people_only(
    seeds: list[int], counts: tuple[int, int]
) -> None:
    one, two = (
        generate_desk(replace(SMALL, seed=seed, shared_staff=count))
        for seed, count in zip(seeds, counts, strict=True)
    )
    assert addresses(one) & addresses(two) == shared_addresses(min(counts))


@pytest.mark.parametrize("count", [-1, 5, len(SHARED_STAFF) + 1])
def test_a_desk_shares_no_more_staff_than_its_agents_and_the_roster(count: int) -> None:
    agents = 6 if count == 5 else 25  # 6 agents: 2 admins and 4 who can be shared
    with pytest.raises(ValueError, match=r"shared_staff must be 0\.\."):
        DeskSpec(now=NOW, agents=agents, shared_staff=count)
