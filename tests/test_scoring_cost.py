"""Scoring cost grows with the work, not with the warehouse (issue 9.9).

Every query that scoring days makes searches an index (SQLite's own query plans say so);
an interaction counted in several chunks of days is read once; a customer's contacts are
read only inside the repeat windows that matter; the
repeat-contact check (a binary search) agrees with docs/metrics.md's definition read literally.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from deskmetrics import pipeline, rescoring
from deskmetrics.settings import Settings
from interactions import History, Interaction, OwnershipChange, StatusChange
from scoring import Contact, ScoringSettings, score_days
from warehouse.day_marks import DirtyRule
from warehouse.facts import contacts_of
from warehouse.ledger import credits_between
from warehouse.schema import metadata
from warehouse.store import store_page

SOURCE = "zendesk"
RULE = DirtyRule(timezone="UTC", repeat_window=timedelta(hours=72))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
MOMENT_INDEXES = {
    "ix_ownership_at",
    "ix_status_at",
    "ix_ratings_created",
    "ix_interactions_created",
    "ix_interactions_updated",
    "ix_interactions_solved",
}


def solved(ticket_id: str, customer: str, created: datetime, hours: float = 1) -> list[Any]:
    """A ticket of `customer` assigned to A at creation and solved `hours` later."""
    done = created + timedelta(hours=hours)
    return [
        Interaction(SOURCE, ticket_id, created, done, "solved", True, False, customer, "A", None),
        OwnershipChange(SOURCE, f"o{ticket_id}", ticket_id, f"u{ticket_id}", created, None, "A"),
        StatusChange(SOURCE, f"s{ticket_id}", ticket_id, f"v{ticket_id}", done, "new", "solved",
                     False, True),
    ]  # fmt: skip


def contact(ticket_id: str, hours: int, deleted: bool) -> Interaction:
    """A new ticket of customer c1, `hours` after T0."""
    at = T0 + timedelta(hours=hours)
    return Interaction(SOURCE, ticket_id, at, at, "new", False, deleted, "c1", None, None)


def select_plans(engine: Engine, run: Any) -> Iterator[tuple[str, list[str]]]:
    """Each SELECT that `run()` makes, with SQLite's plan for it."""
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    with engine.connect() as conn:
        for statement, parameters in seen:
            if statement.lstrip().upper().startswith("SELECT"):
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                yield statement, [str(row[-1]) for row in plan]


def test_every_query_of_scoring_days_searches_an_index(engine: Engine) -> None:
    store_page(engine, SOURCE, "tickets", solved("1", "c1", T0), {}, RULE, FAR, T0)
    days = [T0.date(), T0.date() + timedelta(days=1)]

    def score_the_days() -> None:
        rescoring.facts_of_days(engine, SOURCE, days, ScoringSettings())

    plans = list(select_plans(engine, score_the_days))
    for statement, steps in plans:
        scans = [s for s in steps if s.startswith("SCAN") and s.split()[1] in metadata.tables]
        assert not scans, f"{statement}\n{steps}"
    used = {word for _, steps in plans for step in steps for word in step.split()}
    assert used >= MOMENT_INDEXES


def _ids_in(parameters: Any) -> list[str]:
    """The interaction ids a history read asks for: its JSON list parameter
    (warehouse/json_params.py)."""
    values = parameters.values() if isinstance(parameters, dict) else parameters
    lists = [v for v in values if isinstance(v, str) and v.startswith("[")]
    return [found for text in lists for found in json.loads(text)]


def _history_reads_of(engine: Engine, interaction_id: str, now: datetime) -> int:
    """How many times `score --all` reads the status changes of this interaction."""
    reads: list[Any] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM status_changes" in statement:
            reads.append(parameters)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        pipeline.score(engine, Settings(), everything=True, now=now)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return len([parameters for parameters in reads if interaction_id in _ids_in(parameters)])


def test_an_interaction_counted_in_two_chunks_is_read_once_and_credited_in_both(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Handled on T0's day, resolved the next day: with a chunk per day, in two chunks.
    read_to = T0 + timedelta(days=2)
    store_page(engine, SOURCE, "tickets", solved("1", "c1", T0, hours=30), {}, RULE, read_to, T0)
    monkeypatch.setattr(rescoring, "SCORE_CHUNK_DAYS", 1)
    assert _history_reads_of(engine, "1", read_to) == 1
    ledger = credits_between(engine, [(SOURCE, "A")], T0.date(), T0.date() + timedelta(days=2))
    assert [(row.values["day"], row.values["kind"]) for row in ledger] == [
        (T0.date(), "handled"),
        (T0.date() + timedelta(days=1), "resolution"),
    ]


def test_an_interaction_with_a_later_moment_but_no_credit_there_is_read_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Handled and solved on T0's day, a comment's status change the next day: with a chunk
    # per day, in two chunks, and credited in the first alone.
    read_to = T0 + timedelta(days=5)
    later = T0 + timedelta(days=1)
    touched = StatusChange(SOURCE, "s1b", "1", "v1b", later, "solved", "solved", True, True)
    page = [*solved("1", "c1", T0), touched]
    store_page(engine, SOURCE, "tickets", page, {}, RULE, read_to, T0)
    monkeypatch.setattr(rescoring, "SCORE_CHUNK_DAYS", 1)
    assert _history_reads_of(engine, "1", read_to) == 1
    ledger = credits_between(engine, [(SOURCE, "A")], T0.date(), T0.date() + timedelta(days=2))
    assert [(row.values["day"], row.values["kind"]) for row in ledger] == [
        (T0.date(), "handled"),
        (T0.date(), "resolution"),
    ]


def test_contacts_outside_the_repeat_windows_are_not_read(engine: Engine) -> None:
    years_ago = T0 - timedelta(days=800)
    past = [r for n in range(30) for r in solved(f"old{n}", "c1", years_ago + timedelta(days=n))]
    recent = solved("1", "c1", T0) + solved("2", "c1", T0 + timedelta(hours=5))
    store_page(engine, SOURCE, "tickets", past + recent, {}, RULE, FAR, T0)
    window = (T0, T0 + timedelta(hours=73))
    with engine.connect() as conn:
        found = contacts_of(conn, SOURCE, {"c1": window})
    assert sorted(iid for iid, _ in found[(SOURCE, "c1")]) == ["1", "2"]


@settings(max_examples=200, deadline=None)
@given(
    created=st.lists(st.integers(-100, 200), max_size=30),
    resolved_after=st.integers(0, 100),
    window=st.integers(0, 80),
    deleted=st.sets(st.integers(0, 29)),
)
def test_repeat_contact_check_agrees_with_the_definition(
    created: list[int], resolved_after: int, window: int, deleted: set[int]
) -> None:
    mine = solved("me", "c1", T0, resolved_after)
    history = History(mine[0], (mine[1],), (mine[2],))
    others = [History(contact(f"c{n}", h, n in deleted)) for n, h in enumerate(created)]
    contacts = [Contact(h.interaction.interaction_id, h.interaction.created_at) for h in others]
    scoring = ScoringSettings(repeat_window_hours=window)
    facts = score_days(
        [history, *others], {(SOURCE, "c1"): [Contact("me", T0), *contacts]}, {SOURCE: FAR}, scoring
    )
    # docs/metrics.md "Resolution and first-contact resolution (FCR)", condition 2, read literally.
    repeat = any(
        0 < h <= resolved_after + window for n, h in enumerate(created) if n not in deleted
    )
    assert sum(f.fcr for f in facts) == (0 if repeat else 1)
