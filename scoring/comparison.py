"""Comparing agents with their team and a period with the one before (docs/metrics.md
"Comparing agents and periods").

Owns the funnel limits of a proportion (`funnel_limits`: where an agent's rate may fall by
chance alone, given the team's rate and the agent's sample size), the two-proportion z-test
of a change between two periods (`change_test`), and the plain sentence a manager reads
(`change_sentence`). Pure functions of counts: no I/O, no rounding but the sentence's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoring.confidence import round1

# Two-sided normal quantiles of the funnel's two limits: 95 % (1.96) and 99.8 % (3.09),
# the limits of Spiegelhalter's funnel plots ("Funnel plots for comparing institutional
# performance", Statistics in Medicine, 2005).
Z_95 = 1.959964
Z_998 = 3.090232
# A change is "unlikely to be chance" when the test's p-value is below this.
SIGNIFICANCE = 0.05


def _checked(successes: int, trials: int) -> None:
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")


def funnel_limits(team_rate: float, trials: int, z: float) -> tuple[float, float] | None:
    """The limits (fractions in [0, 1]) within which a rate of `trials` falls by chance
    alone when the true rate is `team_rate`: team_rate ± z·√(team_rate·(1 - team_rate)/n).
    None for no trials: a rate of nothing is nowhere on the plot."""
    if not 0.0 <= team_rate <= 1.0:
        raise ValueError(f"the team's rate must be a fraction in [0, 1], got {team_rate}")
    if trials < 0:
        raise ValueError(f"need trials >= 0, got {trials}")
    if trials == 0:
        return None
    half = z * math.sqrt(team_rate * (1.0 - team_rate) / trials)
    return (max(0.0, team_rate - half), min(1.0, team_rate + half))


def outside_funnel(successes: int, trials: int, team_rate: float, z: float) -> bool:
    """Whether successes/trials lies outside the funnel at `z`: beyond chance."""
    _checked(successes, trials)
    limits = funnel_limits(team_rate, trials, z)
    if limits is None:
        return False
    rate = successes / trials
    return rate < limits[0] or rate > limits[1]


@dataclass(frozen=True)
class Change:
    """A rate in a period against the same rate in the period before."""

    before: float  # fractions
    after: float
    z: float  # the two-proportion z statistic; 0 when nothing varies
    p_value: float  # two-sided

    @property
    def points(self) -> float:
        """The change in percentage points, after minus before."""
        return 100.0 * (self.after - self.before)

    @property
    def beyond_chance(self) -> bool:
        return self.p_value < SIGNIFICANCE


def change_test(before_x: int, before_n: int, after_x: int, after_n: int) -> Change | None:
    """The two-proportion z-test (pooled) of after_x/after_n against before_x/before_n,
    two-sided; None when either period has no trials."""
    _checked(before_x, before_n)
    _checked(after_x, after_n)
    if before_n == 0 or after_n == 0:
        return None
    before, after = before_x / before_n, after_x / after_n
    pooled = (before_x + after_x) / (before_n + after_n)
    variance = pooled * (1.0 - pooled) * (1.0 / before_n + 1.0 / after_n)
    if variance == 0.0 or before_x * after_n == after_x * before_n:
        # Equal rates (or all 0 % / all 100 %): no change at all, never a significant one.
        return Change(before, after, 0.0, 1.0)
    z = (after - before) / math.sqrt(variance)
    return Change(before, after, z, math.erfc(abs(z) / math.sqrt(2.0)))


def p_text(p_value: float) -> str:
    """A p-value as a person reads it: two significant figures, `< 0.001` below that, and
    `< 0.05` for one just below the line that two figures would round onto it, so the
    words never contradict the verdict (docs/metrics.md "Comparing agents and periods")."""
    if p_value < 0.001:
        return "p < 0.001"
    shown = float(f"{p_value:.2g}")
    if p_value < SIGNIFICANCE <= shown:
        return f"p < {SIGNIFICANCE:g}"
    return f"p = {shown:g}"


def change_sentence(metric: str, change: Change | None) -> str:
    """E.g. "FCR down 6 points, unlikely to be chance, p = 0.01", or "... within chance"."""
    if change is None:
        return f"{metric}: no figures in one of the two periods to compare"
    points = round1(abs(change.points))
    if points == 0:
        moved = f"{metric} unchanged"
    else:
        unit = "point" if points == 1 else "points"
        moved = f"{metric} {'up' if change.points > 0 else 'down'} {points:g} {unit}"
    verdict = "unlikely to be chance" if change.beyond_chance else "within chance"
    return f"{moved}, {verdict}, {p_text(change.p_value)}"
