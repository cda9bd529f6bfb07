"""Scoring never loses a change stored while it ran (issue 9.5), on SQLite and PostgreSQL.

`score` reads the dirty marks, then the model, then replaces the facts and clears the marks
it read. A page a concurrent `sync` stores in between marks its days again under a new
token, so those marks survive the write and the next `score` counts the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from deskmetrics import pipeline, rescoring
from deskmetrics.settings import Settings
from interactions import Interaction, OwnershipChange
from warehouse.day_marks import DirtyRule, mark_days
from warehouse.facts import dirty_marks, replace_day_facts
from warehouse.schema import agent_day_facts, dirty_days
from warehouse.store import store_page

SOURCE = "zendesk"
RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = T0.date()
SETTINGS = Settings()


def assigned(ticket_id: str, agent: str) -> list[Any]:
    """A ticket created at T0 and assigned to `agent` at once: handled by them on DAY."""
    return [
        Interaction(SOURCE, ticket_id, T0, T0, "open", False, False, "c1", agent, None),
        OwnershipChange(SOURCE, f"o{ticket_id}", ticket_id, f"u{ticket_id}", T0, None, agent),
    ]


def store(engine: Engine, records: list[Any]) -> None:
    store_page(engine, SOURCE, "tickets", records, {}, RULE, now=T0)


def handled_on_day(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(agent_day_facts.c.agent_id, agent_day_facts.c.handled).where(
                agent_day_facts.c.day == DAY
            )
        )
        return {row.agent_id: row.handled for row in rows}


def test_a_page_stored_while_score_runs_is_scored_by_the_next_score(any_engine: Engine) -> None:
    store(any_engine, assigned("1", "A"))
    # What score reads first: the marks, then the model of their days ...
    marks = dirty_marks(any_engine, SOURCE)
    facts = rescoring.facts_of_days(any_engine, SOURCE, [m.day for m in marks], SETTINGS.scoring())
    # ... a concurrent sync stores a page about the same day ...
    store(any_engine, assigned("2", "B"))
    # ... and score writes what it computed, which cannot know of that page.
    replace_day_facts(any_engine, SOURCE, marks, facts, T0)
    assert handled_on_day(any_engine) == {"A": 1}

    pipeline.score(any_engine, SETTINGS, now=T0)
    assert handled_on_day(any_engine) == {"A": 1, "B": 1}


def test_marking_a_dirty_day_again_gives_it_a_new_token(any_engine: Engine) -> None:
    with any_engine.begin() as conn:
        mark_days(conn, SOURCE, [DAY])
    (first,) = dirty_marks(any_engine, SOURCE)
    with any_engine.begin() as conn:
        mark_days(conn, SOURCE, [DAY])
    (again,) = dirty_marks(any_engine, SOURCE)
    assert again.day == first.day == DAY
    assert first.token is not None and again.token != first.token


def test_score_clears_the_marks_it_read(any_engine: Engine) -> None:
    store(any_engine, assigned("1", "A"))
    assert dirty_marks(any_engine, SOURCE)
    pipeline.score(any_engine, SETTINGS, now=T0)
    assert dirty_marks(any_engine, SOURCE) == []
    assert handled_on_day(any_engine) == {"A": 1}


def test_score_clears_marks_made_before_marks_had_tokens(any_engine: Engine) -> None:
    store(any_engine, assigned("1", "A"))
    with any_engine.begin() as conn:
        conn.execute(dirty_days.update().values(token=None))  # as a schema v1 database left it
    pipeline.score(any_engine, SETTINGS, now=T0)
    assert dirty_marks(any_engine, SOURCE) == []
    assert handled_on_day(any_engine) == {"A": 1}
