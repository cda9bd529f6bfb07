"""A backfill that starts after the desk's history began: a survey sent before `--since`
and answered inside the window is read, and counts on its answer's day for the agent it
names (docs/metrics.md "CSAT"), not on the day its ticket next changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from deskmetrics import pipeline
from sandbox.desk.model import Rating as DeskRating
from tests.desks import Served, served_desk
from warehouse.schema import ratings

ANSWERABLE = timedelta(days=28)  # a survey's life: what the look-back before --since covers


def _backfill_from(served: Served, since: date) -> None:
    pipeline.backfill(
        served.engine, served.settings, "zendesk", since, None,
        config=served.config(), policy=served.policy(),
    )  # fmt: skip


def _stored(served: Served, rating_id: str) -> tuple[datetime, str | None] | None:
    with served.engine.connect() as conn:
        row = conn.execute(
            select(ratings.c.created_at, ratings.c.agent_id).where(ratings.c.rating_id == rating_id)
        ).one_or_none()
    return None if row is None else (row.created_at, row.agent_id)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def test_a_survey_sent_before_the_backfill_start_and_answered_inside_it_is_read(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path, csat_switch_days=12, survey_scale=5) as served:
        answered_later = [
            r
            for r in served.desk.survey_responses.values()
            if r.answered_at is not None
            and r.rating is not None
            and not r.skipped
            and r.answered_at.date() > r.offered_at.date()
        ]
        # a skipped survey has no answer to store (docs/metrics.md "CSAT"), so it is left out
        assert answered_later, "the desk has no survey rated on a later day than sent"
        response = min(answered_later, key=lambda r: r.id)
        assert response.answered_at is not None
        _backfill_from(served, response.answered_at.date())
        assert response.offered_at < _midnight(response.answered_at.date())
        stored = _stored(served, response.id)
        assert stored is not None, "a survey answered inside the window was never read"
        assert stored[0] == response.answered_at


def _answered_before_and_ticket_changed_inside(served: Served) -> tuple[DeskRating, date]:
    """A legacy rating answered once (never changed), on a day before one on which its ticket
    changed again (closed by automation, say), within a survey's life of it."""
    for rating in sorted(served.desk.ratings.values(), key=lambda r: r.id):
        if rating.score not in ("good", "bad") or len(rating.history) > 1:
            continue
        since = rating.created_at.date() + timedelta(days=1)
        ticket = served.desk.tickets[rating.ticket_id]
        if ticket.updated_at >= _midnight(since) and _midnight(since) - rating.created_at < (
            ANSWERABLE
        ):
            return rating, since
    raise AssertionError("the desk has no rating answered before its ticket's last change")


def test_a_rating_answered_before_the_backfill_start_keeps_its_day_and_agent(
    tmp_path: Path,
) -> None:
    with served_desk(tmp_path) as served:
        rating, since = _answered_before_and_ticket_changed_inside(served)
        _backfill_from(served, since)
        recorded = None if rating.assignee_id is None else str(rating.assignee_id)
        assert _stored(served, str(rating.id)) == (rating.created_at, recorded)
