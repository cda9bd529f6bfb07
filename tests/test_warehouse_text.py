"""PostgreSQL takes what SQLite takes (warehouse/text.py): any length, emoji and control
characters stored as they are, NUL removed and a lone surrogate replaced, the same on
both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from interactions import Agent, Interaction, Rating, StatusChange
from warehouse.day_marks import DirtyRule
from warehouse.schema import agents, interactions, ratings, status_changes
from warehouse.store import store_page

RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LONG_STATUS = "awaiting-customer-" + "x" * 182  # 200 characters; PostgreSQL took 32


def _store(engine: Engine, records: list[Any]) -> None:
    store_page(engine, "zendesk", "s", records, {"n": 1}, RULE, now=T0)


def _comment_stored(engine: Engine, comment: str) -> str:
    _store(engine, [Rating("zendesk", "r1", "1", "a1", "good", comment, T0, T0)])
    with engine.connect() as conn:
        stored: str = conn.execute(select(ratings.c.comment)).scalar_one()
    return stored


def test_a_status_of_200_characters_is_stored_whole(any_engine: Engine) -> None:
    _store(
        any_engine,
        [
            Interaction("zendesk", "1", T0, T0, LONG_STATUS, False, False, "c", "a", None),
            StatusChange("zendesk", "e1", "1", "u1", T0, "open", LONG_STATUS, False, False),
        ],
    )
    with any_engine.connect() as conn:
        assert conn.execute(select(interactions.c.status)).scalar() == LONG_STATUS
        assert conn.execute(select(status_changes.c.new_status)).scalar() == LONG_STATUS


def test_a_nul_character_is_removed_and_the_rest_kept(any_engine: Engine) -> None:
    assert _comment_stored(any_engine, "great\x00 help\x00") == "great help"


def test_emoji_and_other_control_characters_are_kept(any_engine: Engine) -> None:
    comment = "😀 thanks \u202e\x1b[31m\ttab \U0001f9d1\u200d\U0001f4bb"
    assert _comment_stored(any_engine, comment) == comment


def test_a_comment_of_one_mebibyte_is_stored_whole(any_engine: Engine) -> None:
    comment = ("é😀 " * (1 << 20))[: 1 << 20]
    assert _comment_stored(any_engine, comment) == comment


def test_a_lone_surrogate_becomes_the_replacement_character(any_engine: Engine) -> None:
    assert _comment_stored(any_engine, "bad \ud800 pair") == "bad \ufffd pair"


def test_a_nul_in_an_id_or_name_is_removed_before_records_meet(any_engine: Engine) -> None:
    _store(any_engine, [Agent("zendesk", "4\x002", "Ann\x00 Lee", "a@x\x00.io", "agent", True, T0)])
    _store(any_engine, [Rating("zendesk", "r\x001", "1", "a1", "good", None, T0, T0)])
    later = T0 + timedelta(hours=1)
    _store(any_engine, [Rating("zendesk", "r1", "1", "a1", "bad", None, later, later)])
    with any_engine.connect() as conn:
        assert conn.execute(select(agents.c.agent_id, agents.c.name, agents.c.email)).all() == [
            ("42", "Ann Lee", "a@x.io")
        ]
        assert conn.execute(select(ratings.c.rating_id, ratings.c.score)).all() == [("r1", "bad")]
