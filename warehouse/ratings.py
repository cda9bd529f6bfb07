"""How copies of one satisfaction record become its stored row (docs/metrics.md "CSAT").

A source sends the same rating record (same id) many times: as an offer, later as an
answer, later as a changed answer, in any order across runs; and a ticket may show the
answer before the ratings stream has it (`RatingState`). The stored row holds:

- the answer of the newest copy (by `updated_at`, which is `created_at` for a copy that
  has none; on a tie the copy read last): score, comment, `updated_at`, agent,
  interaction and survey;
- in `created_at`, the first moment the record was seen answered: the day its response
  counts on, unless the interaction's satisfaction changes (ticket events) show its first
  answer earlier (scoring/csat.py). Offers never set it (docs/metrics.md "CSAT": offers are
  not answers):
  * an answer over a stored offer: the answer's `created_at` when it is later than the
    offer's (the source re-dated the record when it was answered), else the answer's
    `updated_at` (the source kept the offer's `created_at`: it was answered at the update);
  * an answer over a stored answer: the earlier `created_at` (a changed answer keeps the
    day of the first);
  * an offer over a stored answer: unchanged; an offer over an offer: the earlier.

A ticket's view of an answer (`RatingState`; a view of an offer changes nothing) with no
stored row, or newer than a stored offer, makes the row: credited to the ticket's owner
then, dated when the ticket showed it (`created_at`), and with `updated_at` empty, which
marks a row whose answer the ratings stream has not confirmed; a newer, different view
replaces its answer and agent. The first ratings-stream answer for it names the agent
(the ratings stream is authoritative for it) and the first answer (the earlier of the two
moments); the newer of the two answers stays. A view over a confirmed row changes its
answer when newer and different, never its agent, and dates its first answer earlier only
when the ticket showed an answer before it.

For a source that re-dates a record when it is answered (Zendesk, as observed), the
ratings stream's copies give the same row whatever order they arrive in.
`stored_ratings` reads the rows the (pure) merge functions are applied to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, func, select

from interactions import Rating, RatingState
from warehouse.json_params import among, json_param
from warehouse.schema import ratings

RatingKey = tuple[str, str]  # (source, rating_id)


def merged_rating(stored: Rating | None, incoming: Rating) -> Rating:
    """The row after a ratings-stream copy `incoming` meets the stored row."""
    if incoming.updated_at is None:
        # Never changed since it was made: its last change is its creation.
        incoming = replace(incoming, updated_at=incoming.created_at)
    if stored is None:
        return incoming
    if stored.updated_at is None and stored.is_answer:
        return _confirmed(stored, incoming)
    assert incoming.updated_at is not None
    newest = incoming if incoming.updated_at >= (stored.updated_at or stored.created_at) else stored
    return replace(newest, created_at=_first_answered_at(stored, incoming))


def rating_corrected_by_state(stored: Rating | None, state: RatingState) -> Rating | None:
    """The row after a ticket's view of its rating, or None when nothing changes."""
    if not state.is_answer:
        return None  # an offer a ticket shows: its moment is not the offer's, nor an answer
    if stored is None or _answers_an_offer(stored, state):
        return Rating(
            source=state.source,
            rating_id=state.rating_id,
            interaction_id=state.interaction_id,
            agent_id=state.agent_id,
            score=state.score,
            comment=state.comment,
            created_at=state.seen_at,
            updated_at=None,  # not confirmed by the ratings stream yet
            survey_id=stored.survey_id if stored is not None else "",
        )
    changed = (state.score, state.comment) != (stored.score, stored.comment)
    if stored.updated_at is None:  # only tickets have shown it: the newest view wins
        if not changed or state.seen_at <= stored.created_at:
            return None
        return replace(stored, score=state.score, comment=state.comment, agent_id=state.agent_id)
    corrected = stored
    if changed and stored.updated_at < state.seen_at:
        corrected = replace(stored, score=state.score, comment=state.comment)
        corrected = replace(corrected, updated_at=state.seen_at)
    if stored.is_answer and state.seen_at < stored.created_at:
        # The ticket showed an answer before the one the ratings stream dates first (a
        # source that re-dates a record at each change forgets the first answer).
        corrected = replace(corrected, created_at=state.seen_at)
    return corrected if corrected != stored else None


def _answers_an_offer(stored: Rating, state: RatingState) -> bool:
    last_offered = stored.updated_at or stored.created_at
    return not stored.is_answer and last_offered < state.seen_at


def _confirmed(view: Rating, copy: Rating) -> Rating:
    """A row made from a ticket's view (`created_at` = when it showed the answer) meets
    its first ratings-stream copy."""
    shown = view.created_at
    assert copy.updated_at is not None
    if copy.updated_at >= shown:  # the copy holds the newer answer
        first = min(shown, copy.created_at) if copy.is_answer else shown
        return replace(copy, created_at=first)
    if not copy.is_answer:
        return view  # an older offer says nothing about the answer the ticket showed
    same = (copy.score, copy.comment) == (view.score, view.comment)
    return replace(
        view,
        agent_id=copy.agent_id,
        created_at=min(shown, copy.created_at),
        updated_at=copy.updated_at if same else shown,
    )


def _first_answered_at(stored: Rating, incoming: Rating) -> datetime:
    if not incoming.is_answer:
        if stored.is_answer:
            return stored.created_at
        return min(stored.created_at, incoming.created_at)
    if not stored.is_answer:
        if incoming.created_at > stored.created_at:
            return incoming.created_at
        return incoming.updated_at or incoming.created_at
    return min(stored.created_at, incoming.created_at)


def stored_ratings(conn: Connection, keys: Iterable[RatingKey]) -> dict[RatingKey, Rating]:
    """The stored rows of these ratings, by (source, rating_id)."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, rating_id in sorted(set(keys)):
        by_source[source].append(rating_id)
    found: dict[RatingKey, Rating] = {}
    for source, ids in by_source.items():
        rows = select(ratings).where(
            ratings.c.source == source, among(conn, ratings.c.rating_id, "ids")
        )
        for row in conn.execute(rows, {"ids": json_param(ids)}):
            found[(row.source, row.rating_id)] = Rating(**row._mapping)
    return found


def unscaled_score_counts(conn: Connection, source: str) -> dict[str, int]:
    """How many stored answers of `source` carry each score, among those with no scale of
    their own (Salesforce's: the [csat] settings give theirs); offers (no score) left out."""
    rows = conn.execute(
        select(ratings.c.score, func.count())
        .where(
            ratings.c.source == source,
            ratings.c.scale_max.is_(None),
            ratings.c.score.is_not(None),
            ratings.c.score != "",
        )
        .group_by(ratings.c.score)
    )
    return {str(score): int(count) for score, count in rows}
