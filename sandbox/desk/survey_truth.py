"""The ground truth of survey responses (new CSAT), by construction (docs/metrics.md "CSAT").

Owns `survey_facts`: what each answered survey response adds to the per-agent-day counts;
and `response_rate`: of the surveys sent in a period (legacy ratings offered and survey
responses), how many were answered.
It reads the responses as the simulation left them and each ticket's recorded `Step`s,
never the API JSON. A response counts on the day of its first answer, by its latest
rating on the survey's scale 1..N (satisfied when Zendesk's category is good, the mean on
1..N), for the ticket's owner at the moment of the latest answer, else the ticket's
resolver, else no agent; a survey sent and never rated (or sent back with the rating
skipped) is no response, and a deleted ticket's response counts nowhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sandbox.desk.model import Ticket
from sandbox.desk.state import Desk
from sandbox.desk.surveys import category

Add = Callable[[int | None, date, str, int], None]


def owner_at(ticket: Ticket, moment: datetime) -> int | None:
    """The ticket's owner once every update at or before `moment` is applied."""
    owner = None
    for step in ticket.history:
        if step.at > moment:
            break
        owner = step.owner_after
    return owner


def survey_facts(
    desk: Desk,
    add: Add,
    day_of: Callable[[datetime], date],
    resolver_of: Mapping[int, int | None],
) -> None:
    """Add every answered survey response of the desk to the counts."""
    if desk.survey is None:
        return
    scale = desk.survey.scale
    for response in desk.survey_responses.values():
        ticket = desk.tickets[response.ticket_id]
        if response.rating is None or ticket.deleted:
            continue
        assert response.answered_at is not None and response.changed_at is not None
        ever_owned = any(step.owner_after is not None for step in ticket.history)
        agent = owner_at(ticket, response.changed_at) if ever_owned else None
        if agent is None:
            agent = resolver_of.get(ticket.id)
        day = day_of(response.answered_at)
        add(agent, day, "csat_responses", 1)
        if category(response.rating, scale) == "good":
            add(agent, day, "csat_satisfied", 1)
        points = 100 * (response.rating - 1)
        assert points % (scale - 1) == 0  # whole points on 1-2, 1-3 and 1-5 scales
        add(agent, day, "csat_score_sum", points // (scale - 1))


def response_rate(desk: Desk, since: date, until: date, timezone: str = "UTC") -> tuple[int, int]:
    """(answered, sent) of the surveys sent on local days [since, until) about live
    tickets: each legacy rating offered and each survey response, answered when the
    customer rated it by now (a skipped rating is no answer)."""
    zone = ZoneInfo(timezone)

    def in_period(ticket_id: int, offered_at: datetime) -> bool:
        sent_day = offered_at.astimezone(zone).date()
        return not desk.tickets[ticket_id].deleted and since <= sent_day < until

    sent = [
        rating.score in ("good", "bad")
        for rating in desk.ratings.values()
        if rating.offered_at is not None and in_period(rating.ticket_id, rating.offered_at)
    ]
    sent += [
        response.answered
        for response in desk.survey_responses.values()
        if in_period(response.ticket_id, response.offered_at)
    ]
    return sum(sent), len(sent)
