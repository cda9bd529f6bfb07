"""What the manager's page shows (`report --format html`), read from the warehouse: the
period's report rows, the same rows of the previous period of equal length and of each
trailing week, the CSAT response rate of each source that records offers, and the latest
low-score comments per row with a link to the interaction.

Owns `PageData` and `page_data`; deskmetrics/page_html.py draws it. Every figure comes
from the rows `deskmetrics report` prints (pipeline.report), so the page and the CSV
agree by construction; the comparisons are scoring/comparison.py's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from deskmetrics import pipeline
from deskmetrics.export import fresh_report
from deskmetrics.provenance import FileMeta
from deskmetrics.settings import SalesforceSourceSettings, Settings, ZendeskSourceSettings
from interactions import InputError, is_answer_score
from scoring import ReportRow
from scoring.comments import LowScore, low_scores
from warehouse.facts import histories
from warehouse.schema import interactions, ratings, satisfaction_changes

# (metric, label, numerator, denominator) of each rate, as the report names its columns.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("transfer", "Transfer rate", "transferred_out", "handled"),
    ("fcr", "FCR", "fcr", "fcr_eligible"),
    ("csat", "CSAT", "csat_satisfied", "csat_responses"),
)
DEFAULT_WEEKS = 13
MAX_WEEKS = 104
COMMENTS_PER_ROW = 3
OFFER = "offered"  # the score an interaction shows once a survey is sent
WITHDRAWN = "unoffered"  # a survey offer taken back: neither an offer nor an answer


def row_key(row: ReportRow) -> str:
    """A row's key on the page (`data-agent`): source and agent id, as the CSV has them."""
    return f"{row.source}|{row.agent_id or ''}"


def counts(row: ReportRow, metric: str) -> tuple[int, int]:
    """(numerator, denominator) of one of the row's rates."""
    _, _, x, n = next(m for m in METRICS if m[0] == metric)
    return int(getattr(row, x)), int(getattr(row, n))


@dataclass(frozen=True)
class Week:
    start: date  # a Monday
    until: date  # exclusive; the period's end cuts the last week short
    rows: list[ReportRow]


@dataclass(frozen=True)
class Comment:
    row: str  # the key of the row the response counts in
    low: LowScore
    link: str | None  # the interaction in its source's own screens


@dataclass(frozen=True)
class ResponseRate:
    source: str
    answered: int
    offered: int  # answered ones included: every survey sent


@dataclass(frozen=True)
class PageData:
    since: date
    until: date
    by: str
    meta: FileMeta
    warning: str | None
    rows: list[ReportRow]
    previous_since: date
    previous: list[ReportRow]
    weeks: list[Week]
    comments: dict[str, list[Comment]]
    response_rates: list[ResponseRate]


def trailing_weeks(until: date, weeks: int) -> list[tuple[date, date]]:
    """The `weeks` Monday-to-Sunday weeks ending with the one holding the day before
    `until`, the last cut at `until`."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise InputError(f"--weeks {weeks}: choose 1 to {MAX_WEEKS} trailing weeks.")
    last = until - timedelta(days=1)
    monday = last - timedelta(days=last.weekday())
    starts = [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    return [(start, min(start + timedelta(days=7), until)) for start in starts]


def page_data(
    engine: Engine,
    settings: Settings,
    since: date,
    until: date,
    source: str | None = None,
    by: str = "agent",
    weeks: int = DEFAULT_WEEKS,
) -> PageData:
    """Everything the page shows for local days [since, until)."""
    try:
        spans = trailing_weeks(until, weeks)
        previous_since = since - (until - since)  # the period before, as long
    except OverflowError:
        raise InputError(
            f"--since {since} --until {until}: the page compares the period with the one "
            "before it and shows the weeks up to --until, which fall outside the calendar "
            "(years 1 to 9999) here; choose dates nearer today."
        ) from None
    found = fresh_report(engine, settings, since, until, source, by)

    def rows_of(start: date, end: date) -> list[ReportRow]:
        return pipeline.report(engine, settings, start, end, source, by, rescore=False)

    return PageData(
        since=since,
        until=until,
        by=by,
        meta=found.meta,
        warning=found.warning,
        rows=found.rows,
        previous_since=previous_since,
        previous=rows_of(previous_since, since),
        weeks=_from_first_activity([Week(start, end, rows_of(start, end)) for start, end in spans]),
        comments=_comments(engine, settings, since, until, source, found.rows),
        response_rates=_response_rates(engine, settings, since, until, source),
    )


def _from_first_activity(weeks: list[Week]) -> list[Week]:
    """The weeks from the first with any figure on: the trends' axis starts where the
    history does, not weeks before it (the last week stays when none has a figure)."""
    for number, week in enumerate(weeks):
        if any(counts(row, metric)[1] for row in week.rows for metric, _, _, _ in METRICS):
            return weeks[number:]
    return weeks[-1:]


def _local(day: date, settings: Settings) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(settings.timezone))


def _kept(source: str | None) -> ColumnElement[bool]:
    """Ratings of interactions that are not deleted (docs/metrics.md "Left out")."""
    alive = or_(interactions.c.deleted.is_(None), interactions.c.deleted.is_(False))
    return alive if source is None else and_(alive, ratings.c.source == source)


def _rated(
    since: date, until: date, settings: Settings, source: str | None
) -> tuple[Any, ColumnElement[bool]]:
    joined = ratings.outerjoin(
        interactions,
        (interactions.c.source == ratings.c.source)
        & (interactions.c.interaction_id == ratings.c.interaction_id),
    )
    return joined, and_(
        _kept(source),
        ratings.c.created_at >= _local(since, settings),
        ratings.c.created_at < _local(until, settings),
    )


def _response_rates(
    engine: Engine, settings: Settings, since: date, until: date, source: str | None
) -> list[ResponseRate]:
    """Per source whose interactions record survey offers (Zendesk ticket events: the
    satisfaction score went to `offered`, for a legacy rating or a survey response alike):
    of the surveys sent in the period, how many were answered by now (docs/metrics.md
    "CSAT response rate"). A survey is an offer and what its interaction shows until the
    next offer: answered once that shows an answer; withdrawn (`unoffered`) before an
    answer, it was not sent. Deleted interactions count nowhere ("Left out")."""
    changes = satisfaction_changes.c
    alive = or_(interactions.c.deleted.is_(None), interactions.c.deleted.is_(False))
    offered = (
        select(changes.source, changes.interaction_id)
        .where(
            changes.score == OFFER,
            changes.at >= _local(since, settings),
            changes.at < _local(until, settings),
            *([changes.source == source] if source is not None else []),
        )
        .distinct()
        .subquery()
    )
    query = (
        select(changes.source, changes.interaction_id, changes.at, changes.score)
        .join(
            offered,
            (offered.c.source == changes.source)
            & (offered.c.interaction_id == changes.interaction_id),
        )
        .join(
            interactions,
            (interactions.c.source == changes.source)
            & (interactions.c.interaction_id == changes.interaction_id),
        )
        .where(alive)
        .order_by(changes.source, changes.interaction_id, changes.at, changes.change_id)
    )
    start, end = _local(since, settings), _local(until, settings)
    answered: dict[str, int] = defaultdict(int)
    sent: dict[str, int] = defaultdict(int)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for (name, _), history in groupby(rows, key=lambda row: (row[0], row[1])):
        survey: list[bool] | None = None  # [answered] of the open survey sent in the period
        for _, _, at, score in history:
            word = score.strip().lower()
            if word == OFFER:
                survey = [False] if start <= at < end else None
                if survey is not None:
                    sent[name] += 1
            elif survey is not None and word == WITHDRAWN and not survey[0]:
                sent[name] -= 1
                survey = None
            elif survey is not None and is_answer_score(score) and not survey[0]:
                survey[0] = True
                answered[name] += 1
    return [ResponseRate(name, answered[name], sent[name]) for name in sorted(sent) if sent[name]]


def _comments(
    engine: Engine,
    settings: Settings,
    since: date,
    until: date,
    source: str | None,
    rows: Sequence[ReportRow],
) -> dict[str, list[Comment]]:
    """The latest COMMENTS_PER_ROW low-score comments of each row, newest first."""
    owner = _row_of_agent(rows)
    joined, where = _rated(since, until, settings, source)
    query = (
        select(ratings.c.source, ratings.c.interaction_id)
        .distinct()
        .select_from(joined)
        .where(where, ratings.c.comment.is_not(None), ratings.c.comment != "")
    )
    scoring = settings.scoring()
    start, end = _local(since, settings), _local(until, settings)
    found: dict[str, list[Comment]] = defaultdict(list)
    with engine.connect() as conn:
        by_source: dict[str, list[str]] = defaultdict(list)
        for name, interaction_id in conn.execute(query):
            by_source[name].append(interaction_id)
        for name, ids in sorted(by_source.items()):
            for history in histories(conn, name, ids):
                for low in low_scores(history, scoring):
                    key = owner.get((low.source, low.agent_id or ""))
                    if key is not None and start <= low.first_answered_at < end:
                        found[key].append(Comment(key, low, interaction_link(settings, low)))
    return {
        key: sorted(said, key=lambda c: c.low.first_answered_at, reverse=True)[:COMMENTS_PER_ROW]
        for key, said in found.items()
    }


def _row_of_agent(rows: Sequence[ReportRow]) -> dict[tuple[str, str], str]:
    """(source, agent_id or "") to the key of the row its figures are in (by agent or
    by person: a person's agent_id joins `source:id` parts with `+`)."""
    owner: dict[tuple[str, str], str] = {}
    for row in rows:
        if row.agent_id is not None and "+" in row.source:
            for part in row.agent_id.split("+"):
                member_source, _, member = part.partition(":")
                owner[(member_source, member)] = row_key(row)
        elif row.agent_id is not None and row.agent_id.startswith(f"{row.source}:"):
            owner[(row.source, row.agent_id.partition(":")[2])] = row_key(row)
        else:
            owner[(row.source, row.agent_id or "")] = row_key(row)
    return owner


def interaction_link(settings: Settings, low: LowScore) -> str | None:
    """Where the interaction is in its source's own screens, when the settings say where
    the source is: a Zendesk ticket, a Salesforce case."""
    source = settings.sources.get(low.source)
    if isinstance(source, ZendeskSourceSettings):
        base = source.base_url.rstrip("/") or f"https://{source.subdomain}.zendesk.com"
        return f"{base}/agent/tickets/{low.interaction_id}"
    if isinstance(source, SalesforceSourceSettings) and source.instance_url:
        return f"{source.instance_url.rstrip('/')}/lightning/r/Case/{low.interaction_id}/view"
    return None
