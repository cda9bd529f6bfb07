"""warehouse/facts.py `owners_without_agent`: the people a pass looks up by id because the
agent list does not hold them (docs/metrics.md "Words", Agent: one who left still counts,
under the name last known)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from interactions import Agent, Interaction, OwnershipChange
from warehouse.facts import owners_without_agent
from warehouse.schema import open_engine
from warehouse.upserts import store_records

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_an_owner_seen_only_before_the_first_change_read_is_looked_up(tmp_path: Path) -> None:
    # A backfill read ticket 1 from its reassignment 103 -> 101 on; 103 (downgraded since,
    # so not listed) owned it before and appears nowhere else.
    engine = open_engine(f"sqlite:///{tmp_path}/warehouse.sqlite")
    ticket = Interaction(
        "zendesk", "1", T0 - timedelta(days=2), T0, "open", False, False, "c1", "101", None
    )
    change = OwnershipChange("zendesk", "e1", "1", "u1", T0, "103", "101")
    listed = Agent("zendesk", "101", "Ana", "ana@example.com", "agent", True, T0)
    with engine.begin() as conn:
        store_records(conn, [ticket, change, listed], T0)
        assert owners_without_agent(conn, "zendesk") == {"103"}
