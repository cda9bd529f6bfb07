"""Moving a desk on: `advance_desk` moves the clock and applies a seeded batch of changes.

Owns `advance_desk` (forced transfers, solves, reopens, ratings, a rating change, on an
advance of more than a day a rating answered and changed a day later, a deletion and new
tickets, some of them repeat contacts, all strictly inside the interval; on a desk
switched to new CSAT, surveys answered, a bad rating made good, surveys sent, and tickets
rated under legacy CSAT before the switch reopened and surveyed, instead of the rating
change) and the summary of what the batch changed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sandbox.desk.model import RESOLVED, iso
from sandbox.desk.sim_core import QUIET, Arrival, SimulationCore
from sandbox.desk.simulate import ANSWER_THEN_OFFER_TAKES, RESURVEY_TAKES
from sandbox.desk.state import Desk
from sandbox.desk.survey_life import surveys_on
from sandbox.desk.surveys import EXPIRES, category

# How long after its answer the rating an advance of more than a day answers is changed.
RATED_THEN_CHANGED = timedelta(days=1)


def advance_desk(desk: Desk, minutes: int, seed: int) -> dict[str, Any]:
    """Move the desk's clock `minutes` forward and apply a batch of changes strictly inside
    the interval (the simulation that made the desk goes on, seeded by `seed`). Returns a
    summary of what changed."""
    if minutes < 3:
        raise ValueError("advance needs at least 3 minutes (changes stay out of the last minute)")
    with desk.lock:
        return _advance(desk, minutes, seed)


def _advance(desk: Desk, minutes: int, seed: int) -> dict[str, Any]:
    sim: SimulationCore = desk.sim
    old = desk.now
    new_now = old + timedelta(minutes=minutes)
    end = new_now - QUIET
    rng = random.Random(f"advance:{desk.spec.seed}:{seed}:{iso(old)}")
    sim.rng = rng
    sim.postpone_until(old)
    first_event = len(desk.events)
    first_log = len(desk.log)

    def when() -> datetime:
        return old + timedelta(seconds=rng.randint(1, int((end - old).total_seconds())))

    live = sorted(t.id for t in desk.tickets.values() if not t.deleted)
    owned_open = sorted(
        t.id for t in desk.tickets.values() if t.assignee_id and t.status in ("open", "new")
    )
    rng.shuffle(owned_open)
    solved = sorted(t.id for t in desk.tickets.values() if t.status == "solved")
    rng.shuffle(solved)
    for tid in owned_open[:3]:
        sim.schedule(when(), "force_transfer", tid)
    for tid in owned_open[3:6]:
        sim.schedule(when(), "force_solve", tid)
    for tid in solved[:2]:
        sim.schedule(when(), "force_reopen", tid)
    unrated = [t for t in solved[2:] if t not in sim.rating_of and t not in sim.survey_of]
    for tid in unrated[:2]:
        sim.schedule(when(), "force_rate", tid)
    if surveys_on(desk, old):
        answered = _survey_batch(desk, sim, rng, when, unrated[2:4], (old, end))
    else:
        answered = sorted(
            r.ticket_id
            for r in desk.ratings.values()
            if r.score != "offered" and not desk.tickets[r.ticket_id].deleted
        )
        if answered:
            changed = rng.choice(answered)
            sim.schedule(when(), "force_change_rating", changed)
            # A rated case deleted: Salesforce clears its surveys' case lookup.
            others = [tid for tid in answered if tid != changed]
            if others:
                sim.schedule(when(), "delete", rng.choice(others))
        if end - old > RATED_THEN_CHANGED + timedelta(minutes=1) and unrated[2:3]:
            # A rating answered, then changed a day later: Zendesk re-dates the record to
            # the change, and only the ticket's events keep the day of the first answer.
            room = int((end - old - RATED_THEN_CHANGED).total_seconds())
            rated = old + timedelta(seconds=rng.randint(1, room - 60))
            sim.schedule(rated, "force_rate", unrated[2])
            sim.schedule(rated + RATED_THEN_CHANGED, "force_change_rating", unrated[2])
    busy = set(owned_open[:6]) | set(solved[:4]) | set(answered)
    deletable = [tid for tid in live if tid not in busy]
    if deletable:
        sim.schedule(when(), "delete", rng.choice(deletable))
    # New tickets, two of them repeat contacts of recently solved tickets.
    lately = old - timedelta(hours=48)
    recent = sorted(
        {
            t.requester_id
            for t in desk.tickets.values()
            if t.status in RESOLVED and t.metrics.solved_at and t.metrics.solved_at > lately
        }
    )
    count = min(3 + minutes // 20, 40)
    arrivals = [
        Arrival(when(), rng.choices(sim.customers, sim.customer_weights)[0]) for _ in range(count)
    ]
    for arrival, requester in zip(arrivals, rng.sample(recent, min(2, len(recent))), strict=False):
        arrival.requester, arrival.bound = requester, True
        desk.note("repeat_within_window", 0)
    sim.add_arrivals(arrivals)
    sim.run_until(end)
    desk.now = new_now
    desk.sort_events()
    return _summary(desk, old, first_event, first_log)


def _survey_batch(
    desk: Desk,
    sim: SimulationCore,
    rng: random.Random,
    when: Callable[[], datetime],
    unsurveyed: list[int],
    interval: tuple[datetime, datetime],
) -> list[int]:
    """New CSAT: two surveys sent earlier are answered, two more are answered and followed
    by a new survey (the ticket reopened and solved again), a bad rating becomes good, two
    surveys are sent and left unanswered, two tickets rated under legacy CSAT are reopened,
    surveyed and answered. Returns the tickets with an answer."""
    start, end = interval
    live = [r for r in desk.survey_responses.values() if not desk.tickets[r.ticket_id].deleted]
    pending = sorted(
        r.ticket_id
        for r in live
        if not r.answered and not r.skipped and r.offered_at + EXPIRES > end
    )
    rng.shuffle(pending)
    for tid in pending[:2]:
        sim.schedule(when(), "force_answer", tid)
    solved = [tid for tid in pending[2:] if desk.tickets[tid].status == "solved"]
    if end - start > 2 * ANSWER_THEN_OFFER_TAKES:
        for tid in solved[:2]:
            # Done before the batch's end: a change after the desk's clock is in no export.
            sim.schedule(min(when(), end - ANSWER_THEN_OFFER_TAKES), "force_answer_then_offer", tid)
    scale = desk.survey.scale if desk.survey else 5
    bad = sorted(
        r.ticket_id for r in live if r.rating is not None and category(r.rating, scale) == "bad"
    )
    if bad:
        sim.schedule(when(), "force_improve", rng.choice(bad))
    for tid in unsurveyed:
        sim.schedule(when(), "force_offer", tid)
    # Tickets rated under legacy CSAT before the switch and still solved: two are reopened,
    # solved again and surveyed, and the survey is answered (none on a desk that switched
    # longer ago than a solved ticket stays open to a reopen).
    rated = sorted(
        tid
        for tid, rid in sim.rating_of.items()
        if desk.ratings[rid].score in ("good", "bad")
        and desk.tickets[tid].status == "solved"
        and tid not in sim.survey_of
    )
    roomy = end - start > 2 * RESURVEY_TAKES
    resurveyed = rng.sample(rated, min(2, len(rated))) if rated and roomy else []
    for tid in resurveyed:
        # Done before the batch's end: a change after the desk's clock is in no export.
        sim.schedule(min(when(), end - RESURVEY_TAKES), "force_survey_after_rating", tid)
    answered = {r.ticket_id for r in live if r.answered} | set(pending[:4]) | set(resurveyed)
    return sorted(answered)


def _summary(desk: Desk, old: datetime, first_event: int, first_log: int) -> dict[str, Any]:
    log = desk.log[first_log:]

    def ids(*kinds: str) -> list[int]:
        return sorted({tid for kind, tid in log if kind in kinds and tid})

    changed_ratings = sorted(
        rid for rid, r in desk.ratings.items() if r.updated_at > old and len(r.history) > 1
    )
    events = [e for e in desk.events if e["timestamp"] > int(old.timestamp())]
    return {
        "since": iso(old),
        "now": iso(desk.now),
        "created": ids("ticket_created"),
        "repeat_contacts": sum(1 for kind, _ in log if kind == "repeat_within_window"),
        "reassigned": ids("reassigned"),
        "solved": ids("solved"),
        "reopened": ids("reopen"),
        "closed": ids("closed"),
        "rated": ids("rating_answered"),
        "surveys_offered": ids("survey_offered"),
        "surveys_answered": ids("survey_answered"),
        "surveys_changed": ids("survey_changed"),
        "surveys_answered_then_offered": ids("survey_answered_then_offered"),
        "surveyed_after_legacy_rating": ids("survey_after_legacy_rating"),
        "rating_changed": changed_ratings,
        "deleted": ids("deleted"),
        "events": len(desk.events) - first_event,
        "touched": sorted({e["ticket_id"] for e in events}),
    }
