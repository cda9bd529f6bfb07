"""The manager's page's text, from hand-made page data (deskmetrics/page_html.py): rates
rounded as the report rounds them, names shown as the terminal shows them, comment days
local, and a p-value's words never across the line of its verdict."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from deskmetrics.page import Comment, PageData, Week, row_key
from deskmetrics.page_html import CSS, page_html
from deskmetrics.provenance import FileMeta
from scoring import ReportRow
from scoring.comments import LowScore

SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 15)


def _row(agent_id: str, name: str, handled: int, transferred: int) -> ReportRow:
    return ReportRow("zendesk", agent_id, name, None, handled, transferred, None, None, None,
                     0, 0, 0, None, None, None, 0, 0, None, None, None, None, "")  # fmt: skip


def _page(
    rows: list[ReportRow],
    timezone: str = "UTC",
    comments: dict[str, list[Comment]] | None = None,
    weeks: list[Week] | None = None,
) -> str:
    meta = FileMeta("report", SINCE, UNTIL, timezone, 30, "agent", ())
    previous = date(2026, 10, 18)
    return page_html(
        PageData(
            SINCE, UNTIL, "agent", meta, None, rows, previous, [], weeks or [], comments or {}, []
        )
    )


def test_a_rate_on_the_page_is_rounded_half_up_as_in_the_report() -> None:
    shown = _page([_row("1", "Julia Fischer", 16, 1)])  # 6.25 %
    assert '<td data-rate="transfer">6.3%</td>' in shown


def test_a_name_with_bidirectional_marks_is_shown_escaped_as_in_the_terminal() -> None:
    shown = _page([_row("1", "Eve\u202egnirts desrever\u202c Normal", 3, 0)])
    assert "Eve\\u202egnirts desrever\\u202c Normal" in shown
    assert "\u202e" not in shown


def test_a_comments_day_is_the_local_day_it_was_answered() -> None:
    row = _row("1", "Ann Lee", 3, 0)
    answered = datetime(2026, 11, 6, 10, 8, tzinfo=UTC)  # 7 November in Kiritimati (+14)
    low = LowScore("zendesk", "267", "1", answered, "bad", "Too slow")
    comments = {row_key(row): [Comment(row_key(row), low, None)]}
    shown = _page([row], "Pacific/Kiritimati", comments=comments)
    assert "<li>2026-11-07, score bad" in shown


def test_the_teams_rate_over_few_interactions_is_marked_low_sample() -> None:
    shown = _page([_row("1", "Ann Lee", 1, 0)])
    assert '<td>1 handled <span class="low">low sample</span></td>' in shown


def test_a_period_without_figures_has_no_funnel_to_explain() -> None:
    shown = _page([])
    assert "No Transfer rate figures in this period." in shown
    assert "Each dot is an agent" not in shown


def _weekly(handled: int, transferred: int) -> tuple[ReportRow, list[Week]]:
    row = _row("1", "Ann Lee", 2 * handled, 2 * transferred)
    first, second = date(2026, 11, 2), date(2026, 11, 9)
    week = _row("1", "Ann Lee", handled, transferred)
    return row, [Week(first, second, [week]), Week(second, UNTIL, [week])]


def test_an_agents_weekly_rates_are_its_trends_text() -> None:
    row, weeks = _weekly(40, 10)
    shown = _page([row], weeks=weeks)
    assert "<title>by week: 02 Nov 25.0% of 40; 09 Nov 25.0% of 40</title>" in shown


def test_a_week_of_few_interactions_is_a_hollow_mark_in_the_trends() -> None:
    row, weeks = _weekly(2, 1)
    assert '<circle data-week="2026-11-02" class="low"' in _page([row], weeks=weeks)
    row, weeks = _weekly(40, 10)
    assert '<circle data-week="2026-11-02" cx=' in _page([row], weeks=weeks)


def test_each_low_and_high_stands_under_the_metric_it_bounds() -> None:
    shown = _page([_row("1", "Ann Lee", 3, 0)])
    groups = re.findall(r'<th colspan="(\d)" scope="colgroup">(\w+)</th>', shown)
    assert groups == [("3", "transfer"), ("4", "FCR"), ("5", "CSAT")]


def _contrast_on_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of `#rrggbb` against white."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return 1.05 / (luminance + 0.05)


def test_every_colour_that_carries_meaning_in_a_chart_has_3_to_1_contrast() -> None:
    # WCAG 2.1 1.4.11: graphics that carry meaning (limits, marks, intervals) at least 3:1.
    rules = dict(re.findall(r"(\.[\w.]+)\{[^}]*?(?:fill|stroke):(#[0-9a-f]{6})", CSS))
    for rule in (".l95", ".l998", ".mark", ".mark.out95", ".mark.out998", ".ci", ".trend"):
        assert _contrast_on_white(rules[rule]) >= 3.0, (rule, rules[rule])
