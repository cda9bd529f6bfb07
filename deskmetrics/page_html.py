"""The manager's page as one self-contained HTML file (`report --format html`).

Owns `page_html`: the sources and how far each is read, the team's rates with their
intervals and their change against the previous period, each row's figures as the CSV
has them, per metric a funnel plot and each row's place in it, weekly trends, the CSAT
response rate and the latest low-score comments.

Offline and inert by construction: no script, no external style, font or image; the one
`<style>` is allowed by its hash in a Content-Security-Policy of `default-src 'none'`, so
even markup that got through could load or run nothing. Every text from a source (names,
ids, comments) goes through `esc`, and the only links are to the interactions, built
from the settings' own addresses (deskmetrics/page.py `interaction_link`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from deskmetrics.files import checked_target, written_text
from deskmetrics.output import agent_label, report_csv_cells, visible
from deskmetrics.page import DEFAULT_WEEKS, METRICS, Comment, PageData, counts, page_data, row_key
from deskmetrics.page_charts import (
    Point,
    WeekPoint,
    esc,
    funnel_svg,
    rate_text,
    row_trend_svg,
    team_trend_svg,
)
from deskmetrics.settings import Settings
from scoring import REPORT_COLUMNS, ReportRow
from scoring.comparison import Z_95, Z_998, change_sentence, change_test, funnel_limits, p_text
from scoring.confidence import round1, wilson_interval

CSS = """
body{font:15px/1.45 system-ui,sans-serif;color:#1c1c1c;margin:0 auto;max-width:1000px;padding:12px}
h1{font-size:1.5em;margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:middle}
tr:first-child>th:first-child,td:first-child{text-align:left;min-width:9em;max-width:16em;overflow-wrap:anywhere}
h3{overflow-wrap:anywhere}
.scroll{overflow-x:auto}.note{color:#555}.low{color:#8a5a00}
.beyond{font-weight:600;color:#a00000}
svg{width:100%;height:auto;font-size:11px}svg.spark{width:132px;height:44px}
.grid{stroke:#e5e5e5}.axis{fill:#666}.team{stroke:#333;stroke-dasharray:4 3}
.l95{fill:none;stroke:#4f86c6}.l998{fill:none;stroke:#1f4e8c}
.mark{stroke:#fff;fill:#1f4e8c}.mark.out95{fill:#b87700}.mark.out998{fill:#c00000}
.mark.low{fill:#fff;stroke:#1f4e8c;stroke-width:2}.mark.low.out95{stroke:#b87700}
.mark.low.out998{stroke:#c00000}.ci{stroke:#6c93c4;stroke-width:2}
.trend{fill:none;stroke:#1f4e8c}circle{fill:#1f4e8c}circle.low{fill:#fff;stroke:#1f4e8c}
.comment{white-space:pre-wrap;overflow-wrap:anywhere;margin:.2em 0 .8em}
@media (max-width:640px){svg:not(.spark){font-size:15px}}
@media print{body{max-width:none;font-size:10px}h2{break-after:avoid}svg,tr{break-inside:avoid}
.scroll{overflow:visible}th,td{padding:2px 4px}}
"""


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _interval(x: int, n: int) -> str:
    interval = wilson_interval(x, n)
    if interval is None:
        return ""
    return f"{round1(100 * interval[0])}&#8211;{round1(100 * interval[1])}"


def _label(row: ReportRow, several: bool) -> str:
    """Who a row is, as the terminal and CSV show it: controls and bidirectional marks
    escaped, so a name cannot show as another (deskmetrics/output.py `visible`)."""
    name = visible(agent_label(row))
    return f"{name} ({visible(row.source)})" if several else name


def funnel_verdict(x: int, n: int, team: float) -> str:
    """Where a rate is in the funnel, in words."""
    outer, inner = funnel_limits(team, n, Z_998), funnel_limits(team, n, Z_95)
    if outer is None or inner is None:
        return ""
    rate = x / n
    side = "above" if rate > team else "below"
    if not outer[0] <= rate <= outer[1]:
        return f"{side} the 99.8 % limit: beyond chance"
    if not inner[0] <= rate <= inner[1]:
        return f"{side} the 95 % limit: worth a look"
    return "inside: within chance"


def _change_cell(before: ReportRow | None, row: ReportRow, metric: str) -> str:
    x, n = counts(row, metric)
    bx, bn = counts(before, metric) if before is not None else (0, 0)
    change = change_test(bx, bn, x, n)
    if change is None:
        return ""
    text = f"{round1(change.points):+.1f} pts, {p_text(change.p_value)}"
    return f'<span class="beyond">{text}</span>' if change.beyond_chance else text


def _heading(data: PageData) -> list[str]:
    last = data.until - timedelta(days=1)
    prev_last = data.since - timedelta(days=1)
    out = [
        f"<h1>deskmetrics: {data.since} to {last}</h1>",
        f'<p class="note">Local days in {esc(data.meta.timezone)}, by {esc(data.by)}; '
        f"compared with the previous period of the same length, {data.previous_since} to "
        f"{prev_last}. Rates below {data.meta.min_sample} in their sample are marked "
        '<span class="low">low sample</span> and are not ranked.</p>',
        "<h2>Sources</h2><ul>",
        *(f"<li>{esc(line)}</li>" for line in data.meta.lines()),
        "</ul>",
    ]
    if data.warning:
        out.append(f'<p class="low">{esc(data.warning)}</p>')
    return out


def _team(data: PageData) -> list[str]:
    out = [
        "<h2>The team</h2>",
        '<div class="scroll"><table><tr><th>metric</th><th>rate</th><th>of</th>'
        "<th>95 % interval</th><th>previous period</th><th>change</th></tr>",
    ]
    for metric, label, _, denominator in METRICS:
        x, n = _sum(data.rows, metric)
        bx, bn = _sum(data.previous, metric)
        out.append(
            f'<tr data-team="{metric}"><td>{esc(label)}</td><td>{rate_text(x, n)}</td>'
            f"<td>{n} {_words(denominator)}{_low_mark(n, data.meta.min_sample)}</td>"
            f"<td>{_interval(x, n)}</td><td>{f'{rate_text(bx, bn)} of {bn}' if bn else 'none'}</td>"
            f'<td data-change="{metric}">{esc(change_sentence(label, change_test(bx, bn, x, n)))}'
            "</td></tr>"
        )
    out.append("</table></div>")
    for rate in data.response_rates:
        out.append(
            f'<p data-response-rate="{esc(rate.source)}">CSAT response rate, '
            f"{esc(rate.source)}: {rate_text(rate.answered, rate.offered)} "
            f"({rate.answered} answered of {rate.offered} surveys sent)</p>"
        )
    if not data.response_rates:
        out.append('<p class="note">No source records survey offers in this period: '
                   "no CSAT response rate.</p>")  # fmt: skip
    return out


def _words(column: str) -> str:
    """A count's column as words: `fcr_eligible` is "FCR-eligible"."""
    return {"fcr_eligible": "FCR-eligible", "csat_responses": "CSAT responses"}.get(column, column)


def _low_mark(n: int, min_sample: int) -> str:
    """The low-sample mark of a rate over `n` (docs/metrics.md "Confidence")."""
    return ' <span class="low">low sample</span>' if 0 < n < min_sample else ""


def _sum(rows: Sequence[ReportRow], metric: str) -> tuple[int, int]:
    x = n = 0
    for row in rows:
        rx, rn = counts(row, metric)
        x, n = x + rx, n + rn
    return x, n


def _agents(data: PageData, several: bool) -> list[str]:
    """Every row with every figure of the CSV, each in a cell named by its column."""
    shown = ("handled", "transfer_pct", "transfer_ci_low", "transfer_ci_high", "fcr_eligible",
             "fcr_pct", "fcr_ci_low", "fcr_ci_high", "csat_responses", "csat_pct",
             "csat_ci_low", "csat_ci_high", "csat_mean_pct", "low_sample")  # fmt: skip
    # Two header rows: each "low" and "high" stands under the metric it bounds, for a
    # reader and for a screen reader alike.
    groups = (("transfer", 3), ("FCR", 4), ("CSAT", 5))
    heads = ("%", "low", "high", "eligible", "%", "low", "high", "responses", "%", "low",
             "high", "mean, % of scale")  # fmt: skip
    out = [
        "<h2>Agents</h2>",
        '<p class="note">Each rate with its sample and 95 % interval (low, high); '
        "in report order, not ranked.</p>",
        '<div class="scroll"><table class="agents"><tr><th rowspan="2">agent</th>'
        '<th rowspan="2">handled</th>',
        *(f'<th colspan="{n}" scope="colgroup">{name}</th>' for name, n in groups),
        '<th rowspan="2">low sample</th></tr><tr>',
        *(f"<th>{h}</th>" for h in heads),
        "</tr>",
    ]
    for row in data.rows:
        cells = dict(zip(REPORT_COLUMNS, report_csv_cells(row), strict=True))
        out.append(f'<tr data-agent="{esc(row_key(row))}"><td>{esc(_label(row, several))}</td>')
        for column in shown:
            kind = ' class="low"' if column == "low_sample" else ""
            out.append(f'<td data-field="{column}"{kind}>{esc(cells[column])}</td>')
        out.append("</tr>")
    out.append("</table></div>")
    return out


FUNNEL_NOTE = (
    '<p class="note">Each dot is an agent: its rate against its sample size. Dashed: '
    "the team's rate; light and dark curves: the 95 % and 99.8 % limits. Outside the "
    "dark curves an agent differs beyond chance; inside, not, however far from the "
    "mean. Blue dots are inside the limits, orange ones outside the 95 % limits, red ones "
    "outside the 99.8 % limits; hollow dots: low sample.</p>"
)


def _metric(data: PageData, metric: str, label: str, denominator: str, several: bool) -> list[str]:
    team_x, team_n = _sum(data.rows, metric)
    team = team_x / team_n if team_n else None
    before = {row_key(row): row for row in data.previous}
    points = [
        Point(row_key(r), _label(r, several), *counts(r, metric), metric in r.low_sample.split())
        for r in data.rows
    ]
    weeks = [week.start for week in data.weeks]
    team_series = [WeekPoint(week.start, *_sum(week.rows, metric)) for week in data.weeks]
    by_week = {week.start: {row_key(r): r for r in week.rows} for week in data.weeks}
    out = [
        f'<h2 id="{metric}">{esc(label)}</h2>',
        funnel_svg(metric, label, points, team_x, team_n),
        *([FUNNEL_NOTE] if team_n else []),  # no funnel, nothing to explain
        f"<h3>{esc(label)} by week, the team</h3>",
        team_trend_svg(metric, label, team_series, weeks, data.meta.min_sample),
        '<div class="scroll"><table><tr><th>agent</th><th>rate</th>'
        f"<th>of ({_words(denominator)})</th>"
        "<th>funnel</th><th>change</th><th>weekly, 0&#8211;100 %</th></tr>",
    ]
    for row in data.rows:
        key = row_key(row)
        x, n = counts(row, metric)
        series = [
            WeekPoint(week, *counts(by_week[week][key], metric))
            for week in weeks
            if key in by_week[week]
        ]
        low = metric in row.low_sample.split()
        verdict = funnel_verdict(x, n, team) if team is not None else ""
        out.append(
            f'<tr data-agent="{esc(key)}"><td>{esc(_label(row, several))}</td>'
            f'<td data-rate="{metric}">{rate_text(x, n)}</td>'
            f"<td>{n}{' <span class=low>low sample</span>' if low else ''}"
            f'</td><td>{verdict}</td><td data-change="{metric}">'
            f"{_change_cell(before.get(key), row, metric)}</td>"
            f"<td>{row_trend_svg(key, metric, series, weeks, team, data.meta.min_sample)}</td></tr>"
        )
    out.append("</table></div>")
    return out


def _comments(data: PageData, several: bool) -> list[str]:
    out = ["<h2>What customers said: the latest low-score comments</h2>"]
    zone = ZoneInfo(data.meta.timezone)  # a comment's day is a local day, as the page's
    if not data.comments:
        out.append('<p class="note">No low score with a comment in this period.</p>')
    for row in data.rows:
        said: Sequence[Comment] = data.comments.get(row_key(row), ())
        if not said:
            continue
        out.append(f'<h3 data-agent="{esc(row_key(row))}">{esc(_label(row, several))}</h3><ul>')
        for c in said:
            where = f"{esc(c.low.source)} {esc(c.low.interaction_id)}"
            link = (
                f'<a href="{esc(c.link)}" rel="noopener noreferrer">{where}</a>'
                if c.link is not None
                else where
            )
            out.append(
                f"<li>{c.low.first_answered_at.astimezone(zone):%Y-%m-%d}, score "
                f"{esc(c.low.score)}, {link}"
                f'<p class="comment">{esc(c.low.comment)}</p></li>'
            )
        out.append("</ul>")
    return out


def page_html(data: PageData) -> str:
    """The whole page."""
    several = len({row.source for row in data.rows}) > 1
    title = f"deskmetrics {data.since} to {data.until - timedelta(days=1)}"
    body = [
        *_heading(data),
        *_team(data),
        *_agents(data, several),
        *(line for m, label, _, n in METRICS for line in _metric(data, m, label, n, several)),
        *_comments(data, several),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style>",
            "</head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def write_page(
    engine: Engine,
    settings: Settings,
    out: Path,
    since: date,
    until: date,
    source: str | None = None,
    by: str = "agent",
    weeks: int = DEFAULT_WEEKS,
) -> PageData:
    """The page of local days [since, until) written to `out` (beside it first, then moved
    into place: a mail client or browser never reads half of one); what it shows."""
    checked_target(out, "--out")
    data = page_data(engine, settings, since, until, source, by, weeks)
    written_text(out, "--out", page_html(data))
    return data
