"""Rescoring: the facts of dirty days recomputed from the warehouse, a chunk of days at a time.

A chunk's facts are made from every interaction that counts on its days, its histories
read in batches, and written in one transaction with the credit ledger they are the sums
of (`scored_days`). The scoring settings the facts were made with are remembered per
source (`SCORING_ROW`): when they change, every day is scored again. Each score also
rewrites every source's `source_completeness` row (warehouse/completeness.py), which the
views join, and every configured source's `source_links` row (how a link into it is made,
for `explain` and the drill-through view). The caller holds the scoring lease
(deskmetrics/pipeline.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from connectors.links import salesforce_case_link, zendesk_ticket_link
from deskmetrics.settings import SalesforceSourceSettings, Settings, ZendeskSourceSettings
from scoring import (
    AgentDayFact,
    Contact,
    Credit,
    FactTally,
    ScoringSettings,
    repeat_contact_windows,
)
from warehouse.completeness import write_completeness
from warehouse.cursors import high_water_mark, known_sources, load_cursor, save_cursor
from warehouse.day_marks import mark_days
from warehouse.facts import (
    DirtyMark,
    all_fact_days,
    contacts_of,
    count_interactions_on,
    dirty_marks,
    histories,
    interaction_ids_on,
    replace_day_facts,
)
from warehouse.ledger import write_source_link

log = logging.getLogger(__name__)

# Scoring memory is bounded by work, not by the warehouse: a chunk of days (scored, then
# written in one transaction) spans at most SCORE_CHUNK_DAYS days and, unless one day alone
# has more, SCORE_CHUNK_INTERACTIONS interactions; its histories are read SCORE_BATCH at a
# time.
SCORE_CHUNK_DAYS = 31
SCORE_CHUNK_INTERACTIONS = 20_000
SCORE_BATCH = 1_000
SCORING_ROW = "*scoring"  # sync_state row remembering the settings the facts were made with


def score_leased(
    engine: Engine,
    settings: Settings,
    everything: bool,
    days: Sequence[date] | None,
    now: datetime | None,
) -> int:
    scoring = settings.scoring()
    now = now or datetime.now(UTC)
    written = 0
    for name in sorted(known_sources(engine) | set(settings.sources)):
        marks = _days_to_score(engine, name, scoring, everything, days)
        for chunk in _chunks(engine, name, marks, scoring):
            written += _score_chunk(engine, name, chunk, scoring, now)
        _remember_scoring(engine, name, scoring, now)
        with engine.begin() as conn:
            window = timedelta(hours=scoring.repeat_window_hours)
            write_completeness(conn, name, scoring.timezone, window, now)
            link = interaction_link(settings, name)
            if link is not None:
                write_source_link(conn, name, *link, now)
        if marks:
            log.info("%s: scored %d days", name, len(marks))
    return written


def _days_to_score(
    engine: Engine,
    name: str,
    scoring: ScoringSettings,
    everything: bool,
    days: Sequence[date] | None,
) -> list[DirtyMark]:
    changed = load_cursor(engine, name, SCORING_ROW) not in (None, _fingerprint(scoring))
    if changed:
        log.info("%s: scoring settings changed since the last score: rescoring all days", name)
    if everything or changed:
        with engine.begin() as conn:
            mark_days(conn, name, all_fact_days(conn, name, scoring.timezone))
    if days is not None:
        with engine.begin() as conn:
            mark_days(conn, name, days)
    return dirty_marks(engine, name)


def _chunks(
    engine: Engine, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings
) -> list[list[DirtyMark]]:
    """The marks in day order, grouped so that each group spans at most SCORE_CHUNK_DAYS
    days and, unless one day alone has more, SCORE_CHUNK_INTERACTIONS interactions."""
    chunks: list[list[DirtyMark]] = []
    with engine.connect() as conn:
        for offset in range(0, len(marks), SCORE_CHUNK_DAYS):
            block = list(marks[offset : offset + SCORE_CHUNK_DAYS])
            if _interactions_on(conn, name, block, scoring) <= SCORE_CHUNK_INTERACTIONS:
                chunks.append(block)
                continue
            # A busy block: fill chunks day by day, an interaction counted once for each
            # day it counts on (never fewer than it is).
            held = 0
            chunks.append([])
            for mark in block:
                count = _interactions_on(conn, name, [mark], scoring)
                if chunks[-1] and held + count > SCORE_CHUNK_INTERACTIONS:
                    chunks.append([])
                    held = 0
                chunks[-1].append(mark)
                held += count
    return chunks


def _interactions_on(
    conn: Connection, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings
) -> int:
    return count_interactions_on(conn, name, [mark.day for mark in marks], scoring.timezone)


def _score_chunk(
    engine: Engine, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings, now: datetime
) -> int:
    # Read the marks first, then the model, then write: a page stored after the marks were
    # read marks its days again under a new token, so `replace_day_facts` leaves them dirty.
    facts, credits = scored_days(engine, name, [mark.day for mark in marks], scoring)
    return replace_day_facts(engine, name, marks, facts, now, credits)


def facts_of_days(
    engine: Engine,
    name: str,
    days: Sequence[date],
    scoring: ScoringSettings,
    batch_size: int = SCORE_BATCH,
) -> list[AgentDayFact]:
    """The complete facts of these local days of source `name` (see `scored_days`)."""
    return scored_days(engine, name, days, scoring, batch_size)[0]


def scored_days(
    engine: Engine,
    name: str,
    days: Sequence[date],
    scoring: ScoringSettings,
    batch_size: int = SCORE_BATCH,
) -> tuple[list[AgentDayFact], list[Credit]]:
    """The complete facts of these local days of source `name`, and the credits they are
    the sums of (the credit ledger of those days): from every interaction that counts on
    one of them, read `batch_size` histories at a time with the contacts their repeat
    windows need. Facts add up, so the batches change no count."""
    tally = FactTally(scoring)
    wanted = set(days)
    credits: list[Credit] = []
    with engine.connect() as conn:
        mark = high_water_mark(conn, name)
        ids = sorted(interaction_ids_on(conn, name, days, scoring.timezone))
        for offset in range(0, len(ids), batch_size):
            batch = ids[offset : offset + batch_size]
            found = _tally_batch(conn, name, batch, mark, scoring, tally)
            credits.extend(credit for credit in found if credit.day in wanted)
    return tally.facts(days), credits


def _tally_batch(
    conn: Connection,
    name: str,
    ids: Sequence[str],
    mark: datetime | None,
    scoring: ScoringSettings,
    tally: FactTally,
) -> list[Credit]:
    # A function of its own, so one batch's histories are gone before the next is read.
    found = histories(conn, name, ids)
    windows = {
        customer: span for (_, customer), span in repeat_contact_windows(found, scoring).items()
    }
    contacts = {
        key: [Contact(i, at) for i, at in items]
        for key, items in contacts_of(conn, name, windows).items()
    }
    return tally.add(found, contacts, {name: mark})


def interaction_link(settings: Settings, name: str) -> tuple[str, str] | None:
    """How a link to an interaction of source `name` is made (prefix, suffix), from its
    settings; None for a source the settings no longer name."""
    source = settings.sources.get(name)
    if isinstance(source, SalesforceSourceSettings):
        return salesforce_case_link(source.instance_url)
    if isinstance(source, ZendeskSourceSettings):
        return zendesk_ticket_link(source.subdomain, source.base_url)
    return None


def _fingerprint(scoring: ScoringSettings) -> dict[str, Any]:
    kept = asdict(scoring)
    kept.pop("min_sample")  # a report-time setting: changing it changes no stored fact
    return json.loads(json.dumps(kept))  # type: ignore[no-any-return]


def _remember_scoring(engine: Engine, name: str, scoring: ScoringSettings, now: datetime) -> None:
    with engine.begin() as conn:
        save_cursor(conn, name, SCORING_ROW, _fingerprint(scoring), now)
