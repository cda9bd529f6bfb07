"""Crontab expressions read as cron reads them, as APScheduler 3.x triggers.

APScheduler 3.x numbers weekdays from Monday (0 = Monday) where cron numbers them from
Sunday (0 or 7 = Sunday), and keeps that for compatibility (its `from_crontab` warns about
it): "1-5", Monday to Friday for cron, would run Tuesday to Saturday. So the weekday
field is turned into day names first, which both read alike. And where both the day of
the month and the weekday are restricted (neither starts with `*`), cron runs when either
matches (crontab(5)), APScheduler only when both do: such an expression is two triggers,
either of which fires. One that never fires (31 February) is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from apscheduler.triggers.combining import OrTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's 0..6 (7 is Sunday too)


def crontab_trigger(expression: str, timezone: tzinfo | str) -> Any:
    """A `CronTrigger` firing when cron would for `expression` (minute hour day month
    weekday); `ValueError` saying what is wrong with it otherwise."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{len(fields)} fields where cron has 5")
    minute, hour, day, month, weekdays = fields
    common = {"minute": minute, "hour": hour, "month": month, "timezone": timezone}
    names = weekday_names(weekdays)
    if day.startswith("*") or weekdays.startswith("*"):
        trigger = CronTrigger(day=day, day_of_week=names, **common)
    else:
        trigger = OrTrigger(
            [CronTrigger(day=day, **common), CronTrigger(day_of_week=names, **common)]
        )
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError("it names a day that never comes, such as 31 February")
    return trigger


def weekday_names(field: str) -> str:
    """Cron's weekday field as a list of day names: "1-5" is "mon,tue,wed,thu,fri"."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, "step") if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step {step_text!r} is not a positive number")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = _weekday(start), _weekday(end)
        else:
            # "N/step" runs from N to the end of the week, as in cron.
            first = _weekday(span)
            last = 6 if step_text else first
        if last < first:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(DAYS[day] for day in sorted(days))


def _weekday(text: str) -> int:
    if text.isdigit():
        day = int(text)
        if day > 7:
            raise ValueError(f"weekday {text!r} is past 7 (0 and 7 are Sunday)")
        return day
    name = text.lower()
    if name not in DAYS:
        raise ValueError(f"weekday {text!r} is neither 0-7 nor a name such as mon")
    return DAYS.index(name)


def _number(text: str, what: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{what} {text!r} is not a number")
    return int(text)
