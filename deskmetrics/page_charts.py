"""The manager's page's charts as inline SVG: the funnel plot of a metric and the weekly
trends (the team's, large, and each row's, small), drawn from counts alone.

Owns `funnel_svg`, `team_trend_svg` and `row_trend_svg`. Inline SVG needs no script, no
font and no request, prints sharp and scales to a phone; every text in it (a name in a
mark's tooltip) goes through `esc`. Each mark carries `data-agent` (the row's key) and,
in trends, `data-week` (its Monday), so a test can count them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from scoring.comparison import Z_95, Z_998, funnel_limits
from scoring.confidence import percent, wilson_interval


def esc(text: str) -> str:
    """Text as HTML or SVG text or attribute: `<`, `>`, `&` and quotes escaped."""
    return escape(text, quote=True)


def _f(value: float) -> str:
    """A drawing coordinate, to a tenth of a unit."""
    return f"{value:.1f}"


def rate_text(x: int, n: int) -> str:
    """A rate as the report rounds it (docs/metrics.md "Confidence": half-up), `12.5%`;
    empty for a zero denominator."""
    return f"{percent(x, n)}%" if n else ""


@dataclass(frozen=True)
class Point:
    """One row's rate in a chart."""

    key: str  # the row's key (data-agent)
    label: str  # shown in the tooltip
    x: int  # numerator
    n: int  # denominator
    low_sample: bool


# The funnel plot's frame: the plot area inside margins for the axes' labels.
FW, FH, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 44, 12, 10, 34


def _funnel_paths(team: float, most: int, sx: float, sy: float) -> str:
    """The 95 % and 99.8 % limits as four curves, sampled on a square-root scale of n."""
    steps = 60
    sizes = sorted({max(1, round(most * (k / steps) ** 2)) for k in range(1, steps + 1)})
    paths = []
    for z, kind in ((Z_95, "l95"), (Z_998, "l998")):
        for side in (0, 1):
            points = []
            for n in sizes:
                limits = funnel_limits(team, n, z)
                assert limits is not None
                points.append(f"{_f(LEFT + n * sx)},{_f(TOP + (1 - limits[side]) * sy)}")
            paths.append(f'<polyline class="{kind}" points="{" ".join(points)}"/>')
    return "".join(paths)


def funnel_svg(metric: str, label: str, points: Sequence[Point], team_x: int, team_n: int) -> str:
    """Each row's rate against its sample size, with the team's rate and the funnel."""
    shown = [p for p in points if p.n > 0]
    if team_n == 0 or not shown:
        return f'<p class="none">No {esc(label)} figures in this period.</p>'
    team = team_x / team_n
    most = max(p.n for p in shown)
    sx, sy = (FW - LEFT - RIGHT) / most, FH - TOP - BOTTOM
    parts = [
        f'<svg class="funnel" data-metric="{metric}" viewBox="0 0 {FW} {FH}" role="img" '
        f'aria-label="{esc(label)} funnel plot">',
        f"<title>{esc(label)}: each agent's rate against its sample size</title>",
    ]
    for pct in (0, 25, 50, 75, 100):
        y = _f(TOP + (1 - pct / 100) * sy)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{FW - RIGHT}" y1="{y}" y2="{y}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 4}" y="{y}" text-anchor="end">{pct}%</text>')
    for k in range(5):
        n = round(most * k / 4)
        parts.append(
            f'<text class="axis" x="{_f(LEFT + n * sx)}" y="{FH - BOTTOM + 14}" '
            f'text-anchor="middle">{n}</text>'
        )
    parts.append(
        f'<text class="axis" x="{(FW + LEFT) // 2}" y="{FH - 4}" text-anchor="middle">'
        "sample size</text>"
    )
    parts.append(_funnel_paths(team, most, sx, sy))
    ty = _f(TOP + (1 - team) * sy)
    parts.append(f'<line class="team" x1="{LEFT}" x2="{FW - RIGHT}" y1="{ty}" y2="{ty}"/>')
    for p in shown:
        rate = p.x / p.n
        outer = funnel_limits(team, p.n, Z_998)
        inner = funnel_limits(team, p.n, Z_95)
        assert outer is not None and inner is not None
        kind = (
            "out998"
            if not outer[0] <= rate <= outer[1]
            else "out95"
            if not inner[0] <= rate <= inner[1]
            else "inside"
        )
        kind += " low" if p.low_sample else ""
        parts.append(
            f'<circle class="mark {kind}" data-agent="{esc(p.key)}" '
            f'cx="{_f(LEFT + p.n * sx)}" cy="{_f(TOP + (1 - rate) * sy)}" r="4">'
            f"<title>{esc(p.label)}: {rate_text(p.x, p.n)} of {p.n}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class WeekPoint:
    week: date
    x: int
    n: int


def _week_x(weeks: Sequence[date], w: int, left: int, right: int) -> dict[date, float]:
    """Where each week is along a trend's x axis: the first at `left`, the last at
    w - `right`; a single week in the middle."""
    if len(weeks) == 1:
        return {weeks[0]: (left + w - right) / 2}
    step = (w - left - right) / max(1, len(weeks) - 1)
    return {week: left + i * step for i, week in enumerate(weeks)}


def _trend(
    series: Sequence[WeekPoint],
    place: dict[date, float],
    h: int,
    pad: int,
    titled: str,
    min_sample: int,
) -> list[str]:
    """Marks and 95 % interval whiskers of a weekly series on a 0-100 % scale, each week
    at its `place` along x; a week's mark is hollow when its sample is below `min_sample`
    (docs/metrics.md "Confidence": low-sample rates are shown, flagged)."""
    whiskers, line, marks = [], [], []
    for p in series:
        if p.n == 0:
            continue
        interval = wilson_interval(p.x, p.n)
        assert interval is not None
        x = place[p.week]
        y = pad + (1 - p.x / p.n) * (h - 2 * pad)
        top = pad + (1 - interval[1]) * (h - 2 * pad)
        bottom = pad + (1 - interval[0]) * (h - 2 * pad)
        whiskers.append(f"M{_f(x)} {_f(top)}V{_f(bottom)}")
        line.append(f"{_f(x)},{_f(y)}")
        tip = (
            f"<title>{esc(titled)} week of {p.week}: {rate_text(p.x, p.n)} of {p.n}</title>"
            if titled
            else ""
        )
        low = ' class="low"' if p.n < min_sample else ""
        marks.append(
            f'<circle data-week="{p.week}"{low} cx="{_f(x)}" cy="{_f(y)}" r="2">{tip}</circle>'
        )
    out = []
    if whiskers:
        out.append(f'<path class="ci" d="{"".join(whiskers)}"/>')
    if len(line) > 1:
        out.append(f'<polyline class="trend" points="{" ".join(line)}"/>')
    return out + marks


def team_trend_svg(
    metric: str, label: str, series: Sequence[WeekPoint], weeks: Sequence[date], min_sample: int
) -> str:
    """The team's weekly rate with each week's 95 % interval, dated along the bottom.

    The percentages stand left of the plot, and the first and last dates are anchored at
    their own end, so no label runs past the drawing's edge or over a mark."""
    w, h, pad, left = 640, 160, 24, 44
    place = _week_x(weeks, w, left, pad)
    parts = [
        f'<svg class="team-trend" data-metric="{metric}" viewBox="0 0 {w} {h + 16}" role="img" '
        f'aria-label="{esc(label)} by week">'
    ]
    for pct in (0, 50, 100):
        y = _f(pad + (1 - pct / 100) * (h - 2 * pad))
        parts.append(f'<line class="grid" x1="{left}" x2="{w - pad}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{pct}%</text>'
        )
    every = max(1, math.ceil(len(weeks) / 8))
    for i, week in enumerate(weeks):
        if i % every == 0:
            anchor = "middle"
            if len(weeks) > 1 and i == 0:
                anchor = "start"
            elif len(weeks) > 1 and i == len(weeks) - 1:
                anchor = "end"
            parts.append(
                f'<text class="axis" data-week="{week}" x="{_f(place[week])}" y="{h + 12}" '
                f'text-anchor="{anchor}">{week:%d %b}</text>'
            )
    parts.extend(_trend(series, place, h, pad, label, min_sample))
    parts.append("</svg>")
    return "".join(parts)


def row_trend_svg(
    key: str,
    metric: str,
    series: Sequence[WeekPoint],
    weeks: Sequence[date],
    team: float | None,
    min_sample: int,
) -> str:
    """A row's weekly rate, small: one mark per week with activity, its interval, and the
    team's rate of the period as a dashed line (on 0-100 %, like every trend). Its weeks'
    figures are its text, for a screen reader, a tooltip and paper alike."""
    w, h, pad = 132, 44, 4
    weekly = "; ".join(f"{p.week:%d %b} {rate_text(p.x, p.n)} of {p.n}" for p in series if p.n)
    parts = [f'<svg class="spark" data-agent="{esc(key)}" data-metric="{metric}" '
             f'viewBox="0 0 {w} {h}" role="img" aria-label="by week: {esc(weekly or "none")}">'
             f"<title>by week: {esc(weekly or 'none')}</title>"]  # fmt: skip
    if team is not None:
        y = _f(pad + (1 - team) * (h - 2 * pad))
        parts.append(f'<line class="team" x1="0" x2="{w}" y1="{y}" y2="{y}"/>')
    parts.extend(_trend(series, _week_x(weeks, w, pad, pad), h, pad, "", min_sample))
    parts.append("</svg>")
    return "".join(parts)
