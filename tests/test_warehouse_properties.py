"""Nothing lost, nothing doubled: whatever order pages arrive in, however often a page is
re-read, the warehouse ends up holding the same rows (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from interactions import Interaction, Rating
from tests.desks import table_dump
from warehouse.day_marks import DirtyRule
from warehouse.schema import open_engine
from warehouse.store import store_page

RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
T0 = datetime(2026, 5, 1, tzinfo=UTC)
STATUSES = ("new", "open", "pending", "solved", "closed")


def _ticket(ticket_id: int, version: int) -> Interaction:
    status = STATUSES[version % len(STATUSES)]
    return Interaction(
        "zendesk", str(ticket_id), T0, T0 + timedelta(minutes=version), status,
        status in ("solved", "closed"), False, f"c{ticket_id % 3}", f"a{version % 4}", None,
    )  # fmt: skip


def _rating(rating_id: int, version: int) -> Rating:
    at = T0 + timedelta(hours=version)
    return Rating("zendesk", str(rating_id), "1", "a1", ("good", "bad")[version % 2], None, at, at)


versions = st.lists(
    st.tuples(st.sampled_from(["ticket", "rating"]), st.integers(1, 4), st.integers(0, 9)),
    min_size=1,
    max_size=25,
)


def _stored(pages: list[list[Any]]) -> dict[str, list[tuple[str, ...]]]:
    engine = open_engine("sqlite://")
    for number, page in enumerate(pages):
        store_page(engine, "zendesk", "s", page, {"page": number}, RULE, now=T0)
    return table_dump(engine)


@settings(max_examples=40, deadline=None)
@given(versions, st.randoms(use_true_random=False))
def test_any_order_and_any_repeat_of_pages_stores_the_same_rows(
    changes: list[tuple[str, int, int]], shuffler: Any
) -> None:
    records = [
        _ticket(key, version) if kind == "ticket" else _rating(key, version)
        for kind, key, version in changes
    ]
    in_order = [[r] for r in records]
    shuffled = in_order + in_order[: len(in_order) // 2]  # some pages read twice
    shuffler.shuffle(shuffled)
    assert _stored(shuffled) == _stored(in_order)
