"""Wilson score intervals and the rounding of reported percentages (docs/metrics.md "Confidence").

Owns `wilson_interval` (fractions) and `percent` (100x, one decimal, half-up).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of successes/trials as fractions in [0, 1].

    None when there are no trials: a rate of nothing has no interval.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # Exact at the edges and around p: float error must not put p outside its own interval.
    low = 0.0 if successes == 0 else min(p, max(0.0, centre - half))
    high = 1.0 if successes == trials else max(p, min(1.0, centre + half))
    return (low, high)


def round1(value: float) -> float:
    """`value` to one decimal, half-up on its shortest repr, so 12.25 -> 12.3."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(numerator: int, denominator: int) -> float | None:
    """100 x numerator / denominator to one decimal; None for a zero denominator."""
    if denominator == 0:
        return None
    return round1(100 * numerator / denominator)
