"""Rescoring: the facts of dirty days recomputed from the warehouse, a chunk of days at a time.

A chunk's facts are made from every interaction that counts on its days, its histories
read in batches, and written in one transaction with the credit ledger they are the sums
of (`scored_days`). An interaction with moments in several chunks of one score is read
and replayed once: its credits on the later chunks' days wait for them (`_Carry`). The
scoring settings the facts were made with are remembered per source (`SCORING_ROW`): when
they change, every day is scored again. Each score also
rewrites every source's `source_completeness` row (warehouse/completeness.py), which the
views join, and every configured source's `source_links` row (how a link into it is made,
for `explain` and the drill-through view). The caller holds the scoring lease
(deskmetrics/pipeline.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from connectors.links import salesforce_case_link, zendesk_ticket_link
from deskmetrics.collector import collector_paused
from deskmetrics.settings import SalesforceSourceSettings, Settings, ZendeskSourceSettings
from interactions import History
from scoring import (
    AgentDayFact,
    Contact,
    Credit,
    FactTally,
    ScoringSettings,
    day_of,
    repeat_contact_windows,
)
from warehouse.completeness import write_completeness
from warehouse.cursors import high_water_mark, known_sources, load_cursor, save_cursor
from warehouse.day_marks import mark_days
from warehouse.facts import (
    DirtyMark,
    all_fact_days,
    contacts_of,
    dirty_marks,
    histories,
    interaction_ids_on,
    replace_day_facts,
)
from warehouse.ledger import write_source_link
from warehouse.planner_statistics import refresh_statistics

log = logging.getLogger(__name__)

# Scoring memory is bounded by work, not by the warehouse: a chunk of days (scored, then
# written in one transaction) spans at most SCORE_CHUNK_DAYS days and, unless one day alone
# has more, SCORE_CHUNK_INTERACTIONS interactions; its histories are read SCORE_BATCH at a
# time. A chunk's credits are held until it is written, so the cap bounds the peak. The cap
# is what a month of a small desk holds, so a large warehouse's chunks are no bigger than a
# small one's: measured on bench/rescore.py's desks (bench/PROFILE.md), 10,000 interactions
# (chunks of 31 days, about 3,400) traced an 11 MiB peak; 100,000 (chunks of a few days)
# traced 22 MiB at a cap of 10,000, 12 MiB at 5,000 for a tenth more CPU (interactions with
# moments in later chunks and no credit there are read again, and each chunk is one more
# transaction), 8 MiB at 3,000 for a sixth more.
SCORE_CHUNK_DAYS = 31
SCORE_CHUNK_INTERACTIONS = 5_000
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
    refresh_statistics(engine)  # PostgreSQL: plans made with statistics of what is stored
    for name in sorted(known_sources(engine) | set(settings.sources)):
        marks = _days_to_score(engine, name, scoring, everything, days)
        carry = _Carry([mark.day for mark in marks])
        for chunk in _chunks(engine, name, marks, scoring):
            with collector_paused():
                written += _score_chunk(engine, name, chunk, scoring, now, carry)
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


@dataclass(frozen=True)
class Chunk:
    """Marked days scored and written together, and the interactions with a moment on one
    of them (`interaction_ids_on`), read while the chunk was made."""

    marks: list[DirtyMark]
    interaction_ids: set[str]


def _chunks(
    engine: Engine, name: str, marks: Sequence[DirtyMark], scoring: ScoringSettings
) -> Iterator[Chunk]:
    """The marks in day order, grouped so that each group spans at most SCORE_CHUNK_DAYS
    marked days and, unless one day alone has more, SCORE_CHUNK_INTERACTIONS interactions;
    made one chunk ahead of the scoring, so no more than one chunk's ids are held."""
    held: list[DirtyMark] = []
    ids: set[str] = set()
    for mark in sorted(marks, key=lambda m: m.day):
        # The ids of one day at a time: they size the chunk and are the chunk's ids (a
        # count first, then the ids again, read every moment twice or three times).
        with engine.connect() as conn:
            found = interaction_ids_on(conn, name, [mark.day], scoring.timezone)
        if held and (
            len(held) == SCORE_CHUNK_DAYS or len(ids) + len(found - ids) > SCORE_CHUNK_INTERACTIONS
        ):
            yield Chunk(held, ids)
            held, ids = [], set()
        held.append(mark)
        ids |= found
    if held:
        yield Chunk(held, ids)


class _Carry:
    """What this run has scored already, for the later chunks' days.

    An interaction with moments on days of several chunks is read and replayed once, in
    the first of them: its credits on a later chunk's days wait here (by interaction), and
    that chunk takes them instead of scoring the interaction again; one with a moment there
    but no credit is not scored again either. Held: only the credits that reach past the
    chunk being written, and the ids of interactions with a moment past it (chunks come in
    day order, `_chunks`).
    """

    def __init__(self, days: Sequence[date]) -> None:
        self._later = set(days)
        self._credits: dict[str, list[Credit]] = {}
        self._last_days: dict[str, date] = {}  # scored: the day of its latest moment

    def take(self, days: Sequence[date]) -> tuple[set[str], list[Credit]]:
        """Start scoring these days: the interactions scored already, and their credits on
        these days."""
        self._later.difference_update(days)
        first = min(days, default=None)
        self._last_days = {
            interaction_id: last
            for interaction_id, last in self._last_days.items()
            if first is not None and last >= first
        }
        scored = set(self._credits) | self._last_days.keys()
        wanted = set(days)
        taken: list[Credit] = []
        for interaction_id in set(self._credits):
            credits = self._credits[interaction_id]
            taken.extend(credit for credit in credits if credit.day in wanted)
            kept = [credit for credit in credits if credit.day in self._later]
            if kept:
                self._credits[interaction_id] = kept
            else:
                del self._credits[interaction_id]
        return scored, taken

    def keep(self, credits: Iterable[Credit], last_days: Mapping[str, date]) -> None:
        """Keep the credits on days of later chunks, of interactions scored now, and which
        of these interactions have a moment on or after the next of those days."""
        for credit in credits:
            if credit.day in self._later:
                self._credits.setdefault(credit.interaction_id, []).append(credit)
        if self._later:
            after = min(self._later)
            self._last_days.update(
                (interaction_id, last)
                for interaction_id, last in last_days.items()
                if last >= after
            )


def _last_day(history: History, scoring: ScoringSettings) -> date:
    """The local day of the latest moment recorded about an interaction: no chunk of a
    later day holds it (`interaction_ids_on`)."""
    interaction = history.interaction
    moments = [interaction.created_at, interaction.updated_at]
    if interaction.solved_at is not None:
        moments.append(interaction.solved_at)
    moments.extend(change.at for change in history.ownership)
    moments.extend(change.at for change in history.statuses)
    moments.extend(rating.created_at for rating in history.ratings)
    moments.extend(rating.updated_at for rating in history.ratings if rating.updated_at)
    moments.extend(change.at for change in history.satisfaction)
    return day_of(max(moments), scoring)


def _score_chunk(
    engine: Engine,
    name: str,
    chunk: Chunk,
    scoring: ScoringSettings,
    now: datetime,
    carry: _Carry,
) -> int:
    # Read the marks first, then the model, then write: a page stored after the marks were
    # read marks its days again under a new token, so `replace_day_facts` leaves them dirty.
    days = [mark.day for mark in chunk.marks]
    scored, taken = carry.take(days)
    tally = FactTally(scoring)
    tally.add_credits(taken)
    last_days: dict[str, date] = {}
    found = _score_interactions(
        engine, name, chunk.interaction_ids - scored, scoring, tally, last_days=last_days
    )
    carry.keep(found, last_days)
    wanted = set(days)
    credits = taken + [credit for credit in found if credit.day in wanted]
    return replace_day_facts(engine, name, chunk.marks, tally.facts(days), now, credits)


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
    one of them (see `_score_interactions`)."""
    with engine.connect() as conn:
        ids = interaction_ids_on(conn, name, days, scoring.timezone)
    tally = FactTally(scoring)
    wanted = set(days)
    found = _score_interactions(engine, name, ids, scoring, tally, batch_size)
    return tally.facts(days), [credit for credit in found if credit.day in wanted]


def _score_interactions(
    engine: Engine,
    name: str,
    interaction_ids: Iterable[str],
    scoring: ScoringSettings,
    tally: FactTally,
    batch_size: int = SCORE_BATCH,
    last_days: dict[str, date] | None = None,
) -> list[Credit]:
    """Every credit of these interactions, on any day, added to `tally`: read `batch_size`
    histories at a time with the contacts their repeat windows need. Facts add up, so the
    batches change no count. `last_days`, when given, gets each one's `_last_day`."""
    credits: list[Credit] = []
    with engine.connect() as conn:
        mark = high_water_mark(conn, name)
        ids = sorted(interaction_ids)
        for offset in range(0, len(ids), batch_size):
            batch = ids[offset : offset + batch_size]
            credits.extend(_tally_batch(conn, name, batch, mark, scoring, tally, last_days))
    return credits


def _tally_batch(
    conn: Connection,
    name: str,
    ids: Sequence[str],
    mark: datetime | None,
    scoring: ScoringSettings,
    tally: FactTally,
    last_days: dict[str, date] | None,
) -> list[Credit]:
    # A function of its own, so one batch's histories are gone before the next is read.
    found = histories(conn, name, ids)
    if last_days is not None:
        last_days.update(
            (history.interaction.interaction_id, _last_day(history, scoring)) for history in found
        )
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
