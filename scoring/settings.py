"""Scoring settings and day bucketing (docs/metrics.md "Words": Day).

Owns `ScoringSettings`, the settings scoring reads (validated when built), and `day_of`,
the one place a moment becomes a calendar date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from interactions import ConfigError


@dataclass(frozen=True)
class ScoringSettings:
    """The settings that change a number scoring writes; the defaults are docs/metrics.md's."""

    timezone: str = "UTC"
    repeat_window_hours: float = 72.0
    transfer_breaks_fcr: bool = False
    csat_scale_min: float = 1.0
    csat_scale_max: float = 5.0
    csat_satisfied_threshold: float = 4.0
    min_sample: int = 30

    def __post_init__(self) -> None:
        # A bad value would silently skew every figure, so refuse it where it is built.
        _zone(self.timezone)
        if not math.isfinite(self.repeat_window_hours) or self.repeat_window_hours < 0:
            raise ConfigError(
                f"fcr.repeat_window_hours is {self.repeat_window_hours!r}: "
                "set it to a number of hours of 0 or more (default 72)"
            )
        bounds = (self.csat_scale_min, self.csat_scale_max, self.csat_satisfied_threshold)
        if not all(math.isfinite(b) for b in bounds) or self.csat_scale_min >= self.csat_scale_max:
            raise ConfigError(
                f"csat.scale_min {self.csat_scale_min!r} and csat.scale_max "
                f"{self.csat_scale_max!r} do not make a scale: set finite numbers with "
                "scale_min < scale_max (default 1 and 5)"
            )
        if self.min_sample < 0:
            raise ConfigError(
                f"min_sample is {self.min_sample!r}: set it to 0 or more (default 30)"
            )


@cache  # day_of asks once per credit; a failed look-up raises again, it is not kept
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"timezone {name!r} is not an IANA time zone name: "
            "use a name such as 'UTC' or 'Europe/Berlin'"
        ) from exc


def day_of(at: datetime, settings: ScoringSettings) -> date:
    """The calendar date of `at` in the settings' time zone (docs/metrics.md "Words": Day)."""
    if at.tzinfo is None or at.utcoffset() is None:
        # A naive time would be read in the machine's zone: a bug in the caller, not data.
        raise ValueError(f"day_of needs a timezone-aware datetime, got naive {at!r}")
    return at.astimezone(_zone(settings.timezone)).date()
