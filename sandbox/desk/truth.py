"""The ground truth of a desk: per-agent counts straight from docs/metrics.md, by construction.

Owns `daily_facts` (per agent and local day counts) and `report_rows` (the report over a
period). It reads what the simulation recorded as it went (each ticket's `Step`s: owner and
status before and after every update; the ratings and survey responses as the customer left
them, survey_truth.py adding the latter), never the API JSON, and shares no code with
deskmetrics. What differs between the faces of the desk is a parameter: which CSAT answers
the face shows and whose they are (`csat`, by default Zendesk's `zendesk_csat`), how a desk
user is named as an agent (`agent_id`) and the `source`; sandbox/salesforce/truth.py passes
Salesforce's.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.desk.model import RESOLVED, Rating
from sandbox.desk.state import Desk
from sandbox.desk.survey_truth import Add, survey_facts

SOURCE = "zendesk"
COUNTS = (
    "handled",
    "transferred_out",
    "resolved",
    "fcr_eligible",
    "fcr",
    "csat_responses",
    "csat_satisfied",
    "csat_score_sum",
)
ROW_KEYS = (
    "source", "agent_id", "agent_name", "agent_email",
    "handled", "transferred_out", "transfer_pct", "transfer_ci_low", "transfer_ci_high",
    "resolved", "fcr_eligible", "fcr", "fcr_pct", "fcr_ci_low", "fcr_ci_high",
    "csat_responses", "csat_satisfied", "csat_pct", "csat_ci_low", "csat_ci_high",
    "csat_mean_pct", "low_sample",
)  # fmt: skip

Key = tuple[int | None, date]  # (desk user id or None for no agent, local day)
# Adds a face's CSAT responses to the counts: (desk, add, day_of, resolver_of), where
# resolver_of maps each ticket that was ever resolved to its resolver (docs/metrics.md "CSAT").
CsatCounter = Callable[[Desk, Add, Callable[[datetime], date], Mapping[int, int | None]], None]


def answered_ratings(desk: Desk) -> list[tuple[datetime, Rating]]:
    """Each live ticket's legacy rating answer: (first answered, latest answer), one per ticket.

    docs/metrics.md "CSAT": a changed answer is one response, its latest answer counted on the
    day of the first; offers are no answer, and a deleted ticket's ratings count nowhere.
    """
    answers: dict[int, list[Rating]] = defaultdict(list)
    for rating in desk.ratings.values():
        if rating.score in ("good", "bad") and not desk.tickets[rating.ticket_id].deleted:
            answers[rating.ticket_id].append(rating)
    return [
        (
            min(r.created_at for r in given),
            max(given, key=lambda r: (r.updated_at, r.created_at, r.id)),
        )
        for given in answers.values()
    ]


def zendesk_csat(
    desk: Desk,
    add: Add,
    day_of: Callable[[datetime], date],
    resolver_of: Mapping[int, int | None],
) -> None:
    """Zendesk's CSAT: legacy ratings (good is satisfied) for the rating's `assignee_id`,
    else the resolver; then the survey responses of a desk switched to new CSAT."""
    for first, latest in answered_ratings(desk):
        agent = latest.assignee_id
        if agent is None:
            agent = resolver_of.get(latest.ticket_id)
        day = day_of(first)
        add(agent, day, "csat_responses", 1)
        if latest.score == "good":
            add(agent, day, "csat_satisfied", 1)
            add(agent, day, "csat_score_sum", 100)
    survey_facts(desk, add, day_of, resolver_of)  # new CSAT, on a desk that switched


def daily_facts(
    desk: Desk,
    timezone: str = "UTC",
    repeat_window_hours: float = 72,
    transfer_breaks_fcr: bool = False,
    high_water_mark: datetime | None = None,
    *,
    csat: CsatCounter = zendesk_csat,
    agent_id: Callable[[int], str] = str,
) -> list[dict[str, Any]]:
    """Counts per (agent_id, or None for no agent; local day), non-zero rows only, as
    docs/metrics.md "Additivity" stores them."""
    with desk.lock:
        facts = _facts(
            desk, timezone, repeat_window_hours, transfer_breaks_fcr, high_water_mark, csat
        )
    rows = [
        {"agent_id": None if agent is None else agent_id(agent), "day": day, **counts}
        for (agent, day), counts in facts.items()
        if any(counts.values())
    ]
    rows.sort(key=lambda r: (r["day"], r["agent_id"] is None, r["agent_id"] or ""))
    return rows


def _facts(
    desk: Desk,
    timezone: str,
    repeat_window_hours: float,
    transfer_breaks_fcr: bool,
    high_water_mark: datetime | None,
    csat: CsatCounter,
) -> dict[Key, dict[str, int]]:
    """Counts per (desk user id or None, local day)."""
    zone = ZoneInfo(timezone)
    mark = high_water_mark or desk.now - timedelta(minutes=1)
    window = timedelta(hours=repeat_window_hours)
    facts: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))

    def add(agent: int | None, day: date, name: str, amount: int = 1) -> None:
        facts[(agent, day)][name] += amount

    def day_of(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    # Deleted tickets count nowhere and are no repeat contact.
    live = [t for t in desk.tickets.values() if not t.deleted]
    opened: dict[int, list[datetime]] = defaultdict(list)
    for t in live:
        opened[t.requester_id].append(t.created_at)
    for times in opened.values():
        times.sort()

    resolver_of: dict[int, int | None] = {}
    for t in live:
        handled_on: dict[int, date] = {}
        passed_on: set[int] = set()
        transferred = reopened = False
        resolver: int | None = None
        resolved_at: datetime | None = None
        for step in t.history:
            # Within an update the ownership change comes first, judged by the status before.
            if step.owner_after != step.owner_before:
                gone = step.owner_before
                if gone is not None and step.status_before not in RESOLVED:
                    transferred = True
                    if gone not in passed_on:
                        passed_on.add(gone)
                        add(gone, handled_on[gone], "transferred_out")
                new = step.owner_after
                if new is not None and new not in handled_on:
                    handled_on[new] = day_of(step.at)
                    add(new, handled_on[new], "handled")
            was = step.status_before in RESOLVED
            now = step.status_after in RESOLVED
            if not was and now:
                resolver, resolved_at = step.owner_after, step.at
            elif was and not now:
                reopened = True
        if resolved_at is not None:
            # A response with no agent on it goes to the resolver (docs/metrics.md "CSAT"), the
            # owner at the last resolution, even when the ticket was reopened since.
            resolver_of[t.id] = resolver
        if t.status not in RESOLVED or resolved_at is None:
            continue
        day = day_of(resolved_at)
        add(resolver, day, "resolved")
        if resolved_at + window > mark:
            continue  # FCR-pending: the repeat window is still open
        add(resolver, day, "fcr_eligible")
        times = opened[t.requester_id]
        later = bisect.bisect_right(times, t.created_at)
        repeat = later < len(times) and times[later] <= resolved_at + window
        if not (reopened or repeat or (transfer_breaks_fcr and transferred)):
            add(resolver, day, "fcr")

    csat(desk, add, day_of, resolver_of)
    return facts


def _round1(value: Decimal | float) -> float:
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _rate(successes: int, trials: int) -> tuple[float | None, float | None, float | None]:
    """Percentage and 95 % Wilson interval, each x100 to one decimal half-up; None for 0 trials."""
    if trials == 0:
        return None, None, None
    z = 1.96
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    pct = _round1(Decimal(100 * successes) / Decimal(trials))
    return pct, _round1(100 * low), _round1(100 * high)


def report_rows(
    desk: Desk,
    since: date,
    until: date,
    timezone: str = "UTC",
    repeat_window_hours: float = 72,
    transfer_breaks_fcr: bool = False,
    min_sample: int = 30,
    high_water_mark: datetime | None = None,
    *,
    source: str = SOURCE,
    csat: CsatCounter = zendesk_csat,
    agent_id: Callable[[int], str] = str,
) -> list[dict[str, Any]]:
    """The per-agent report rows over local days [since, until), in report order."""
    sums: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    with desk.lock:  # the agents' names are read after the counts, from the same desk state
        facts = _facts(
            desk, timezone, repeat_window_hours, transfer_breaks_fcr, high_water_mark, csat
        )
        named = {agent: desk.users.get(agent) for agent, _ in facts if agent is not None}
    for (agent, day), counts in facts.items():
        if since <= day < until:
            total = sums[agent]
            for name in COUNTS:
                total[name] += counts[name]
    rows = []
    for agent, c in sums.items():
        if not any(c.values()):
            continue
        user = named.get(agent) if agent is not None else None
        transfer = _rate(c["transferred_out"], c["handled"])
        fcr = _rate(c["fcr"], c["fcr_eligible"])
        csat_rate = _rate(c["csat_satisfied"], c["csat_responses"])
        mean = (
            _round1(Decimal(c["csat_score_sum"]) / Decimal(c["csat_responses"]))
            if c["csat_responses"]
            else None
        )
        flagged = [
            name
            for name, n in (
                ("transfer", c["handled"]),
                ("fcr", c["fcr_eligible"]),
                ("csat", c["csat_responses"]),
            )
            if 0 < n < min_sample
        ]
        values = (
            source, None if agent is None else agent_id(agent),
            user.name if user else None, user.email if user else None,
            c["handled"], c["transferred_out"], *transfer,
            c["resolved"], c["fcr_eligible"], c["fcr"], *fcr,
            c["csat_responses"], c["csat_satisfied"], *csat_rate,
            mean, " ".join(flagged),
        )  # fmt: skip
        rows.append(dict(zip(ROW_KEYS, values, strict=True)))
    rows.sort(
        key=lambda r: (
            r["agent_id"] is None,
            str(r["agent_name"] or "").casefold(),
            str(r["agent_id"] or ""),
        )
    )
    return rows
