"""The manager's page (`report --format html`) as a real headless Chromium renders it with
the network off: every row of the CSV report with the same figures, one funnel mark per
agent and one trend mark per agent and week, no request, and a hostile comment and name
shown as text with nothing run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.browser import chromium, dump_dom, page_requests, screenshot
from deskmetrics import pipeline
from deskmetrics.demo import run_demo
from deskmetrics.page import METRICS, counts, row_key, trailing_weeks
from sandbox.desk import Desk
from scoring import ReportRow
from tests.desks import TINY, Served, desk_now, served_desk, set_desk_now

pytestmark = pytest.mark.skipif(
    chromium() is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run does)"
)

HOSTILE_COMMENT = (
    "<script>document.title='ran'</script><img src=x onerror=\"document.title='ran'\">"
    "<a href=\"javascript:document.title='ran'\">click</a>"
)
HOSTILE_NAME = "<b onmouseover=\"document.title='ran'\">Eve</b>"
WEEKS = 6
PAGE_NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class _Elements(HTMLParser):
    """Every element of a document with its attributes and its whole text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.found.append(element)
        if tag not in ("meta", "br", "input", "link", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def elements(dom: str) -> list[Element]:
    parser = _Elements()
    parser.feed(dom)
    return parser.found


def _classes(e: Element) -> set[str]:
    return set(e.attrs.get("class", "").split())


def make_hostile(desk: Desk) -> tuple[int, int]:
    """The newest bad rating's comment, and its agent's name, made hostile in the desk the
    sandbox serves; (ticket id, agent id)."""
    bad = max(
        (r for r in desk.ratings.values() if r.score == "bad" and r.assignee_id is not None),
        key=lambda r: r.created_at,
    )
    bad.comment = HOSTILE_COMMENT
    desk.tickets[bad.ticket_id].satisfaction = bad.ticket_view()
    assert bad.assignee_id is not None
    desk.users[bad.assignee_id].name = HOSTILE_NAME
    return bad.ticket_id, bad.assignee_id


@dataclass
class Rendered:
    served: Served
    ticket_id: int
    agent_id: int
    csv_rows: list[dict[str, str]]
    dom: list[Element]
    requests: list[str]
    weeks: dict[str, list[ReportRow]]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rendered]:
    folder = tmp_path_factory.mktemp("page")
    # A Wednesday: the desk's history then starts inside the trend's weeks whatever the day
    # the tests run (on a Monday at 00:07 the six weeks began before it).
    set_desk_now(PAGE_NOW)
    with served_desk(folder, **TINY) as served:
        ticket_id, agent_id = make_hostile(served.desk)
        served.backfill()
        since, until = (str(day) for day in served.period())
        period = ("--since", since, "--until", until)
        page = folder / "page.html"
        made = served.cli("report", *period, "--format", "html", "--out", str(page), "--weeks",
                          str(WEEKS))  # fmt: skip
        assert made.returncode == 0, made.stderr
        report = served.cli("report", *period, "--format", "csv", "--raw-csv")
        assert report.returncode == 0, report.stderr
        net_log = folder / "net-log.json"
        dom = dump_dom(page, net_log=net_log)
        _, last = served.period()
        weeks = {
            str(start): pipeline.report(served.engine, served.settings, start, end, rescore=False)
            for start, end in trailing_weeks(last, WEEKS)
        }
        yield Rendered(
            served,
            ticket_id,
            agent_id,
            list(csv.DictReader(io.StringIO(report.stdout))),
            elements(dom),
            page_requests(net_log),
            weeks,
        )


def _csv_key(row: dict[str, str]) -> str:
    return f"{row['source']}|{row['agent_id']}"


def test_every_row_of_the_csv_report_is_on_the_page_with_the_same_figures(
    rendered: Rendered,
) -> None:
    table = {
        e.attrs["data-agent"]: e for e in rendered.dom if e.tag == "tr" and "data-agent" in e.attrs
    }
    cells = [e for e in rendered.dom if e.tag == "td" and "data-field" in e.attrs]
    assert len(rendered.csv_rows) > 5
    agents_rows = [e for e in rendered.dom if e.tag == "table" and "agents" in _classes(e)]
    (agents,) = agents_rows
    for row in rendered.csv_rows:
        assert _csv_key(row) in table, row
    # The agents table's cells in order: one row of figures per CSV row, same values.
    fields = [c.attrs["data-field"] for c in cells]
    per_row = len(set(fields))
    assert len(cells) == per_row * len(rendered.csv_rows)
    for number, row in enumerate(rendered.csv_rows):
        shown = {
            c.attrs["data-field"]: c.text for c in cells[number * per_row : (number + 1) * per_row]
        }
        assert shown == {name: row[name] for name in shown}, _csv_key(row)
    assert agents.text


@pytest.mark.parametrize("metric", [m for m, _, _, _ in METRICS])
def test_the_funnel_has_one_mark_per_agent_with_a_sample(rendered: Rendered, metric: str) -> None:
    n = next(m for m in METRICS if m[0] == metric)[3]
    expected = [_csv_key(r) for r in rendered.csv_rows if int(r[n]) > 0]
    funnel = _inside(rendered.dom, "svg", {"class": "funnel", "data-metric": metric})
    marks = [e.attrs["data-agent"] for e in funnel if e.tag == "circle" and "mark" in _classes(e)]
    assert sorted(marks) == sorted(expected)


def _inside(dom: list[Element], tag: str, attrs: dict[str, str]) -> list[Element]:
    """The elements of the first `tag` with these attributes, itself excluded, in order."""
    start = next(
        i
        for i, e in enumerate(dom)
        if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
    )
    depth_end = next(
        (i for i in range(start + 1, len(dom)) if dom[i].tag == tag), len(dom)
    )  # charts are not nested: the next chart ends this one
    return dom[start + 1 : depth_end]


@pytest.mark.parametrize("metric", [m for m, _, _, _ in METRICS])
def test_each_agents_trend_has_one_mark_per_week_with_a_sample(
    rendered: Rendered, metric: str
) -> None:
    for row in rendered.csv_rows:
        key = _csv_key(row)
        expected = [
            week
            for week, rows in rendered.weeks.items()
            for r in rows
            if row_key(r) == key and counts(r, metric)[1] > 0
        ]
        spark = _inside(
            rendered.dom, "svg", {"class": "spark", "data-agent": key, "data-metric": metric}
        )
        assert [e.attrs["data-week"] for e in spark if e.tag == "circle"] == expected, key


def test_no_request_left_the_page(rendered: Rendered) -> None:
    assert rendered.requests == []
    loading = [
        e for e in rendered.dom if e.tag in ("script", "img", "iframe", "link", "object", "embed")
    ]
    assert loading == []
    base = rendered.served.sandbox.base_url
    assert all(
        e.attrs["href"].startswith(f"{base}/agent/tickets/") for e in rendered.dom if e.tag == "a"
    )


def test_the_net_log_sees_a_page_that_loads_something(tmp_path: Path) -> None:
    # The check above can fail: a page with an image asks for it, and the log shows it.
    page = tmp_path / "loads.html"
    page.write_text('<!DOCTYPE html><img src="http://192.0.2.1/pixel.png">', encoding="utf-8")
    net_log = tmp_path / "net-log.json"
    dump_dom(page, net_log=net_log)
    assert page_requests(net_log) == ["http://192.0.2.1/pixel.png"]


def test_a_hostile_comment_is_shown_as_text_and_nothing_runs(rendered: Rendered) -> None:
    comments = [e.text for e in rendered.dom if e.tag == "p" and "comment" in _classes(e)]
    assert HOSTILE_COMMENT in comments
    title = next(e.text for e in rendered.dom if e.tag == "title")  # the document's, first
    assert title.startswith("deskmetrics ") and "ran" not in title
    assert not [
        e for e in rendered.dom if e.tag == "a" and e.attrs.get("href", "").startswith("javascript")
    ]


def test_a_hostile_name_is_shown_as_text(rendered: Rendered) -> None:
    key = f"zendesk|{rendered.agent_id}"
    row = next(e for e in rendered.dom if e.tag == "tr" and e.attrs.get("data-agent") == key)
    assert row.text.startswith(HOSTILE_NAME)
    assert not [e for e in rendered.dom if e.tag == "b" or "onmouseover" in e.attrs]


def test_a_low_score_comment_links_to_its_ticket(rendered: Rendered) -> None:
    base = rendered.served.sandbox.base_url
    links = [e.attrs["href"] for e in rendered.dom if e.tag == "a"]
    assert f"{base}/agent/tickets/{rendered.ticket_id}" in links


def test_the_demo_writes_its_page_beside_its_database_and_a_screenshot_of_it(
    tmp_path: Path,
) -> None:
    result = run_demo(tmp_path / "demo.sqlite", seed=7, tickets=300, now=desk_now())
    assert result.page == tmp_path / "demo.html" and result.page.is_file()
    assert str(result.page) in result.summary
    shot = screenshot(result.page, tmp_path / "demo-page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page of this size is a few kilobytes


@pytest.mark.parametrize("metric", [m for m, _, _, _ in METRICS])
def test_the_team_trend_starts_at_the_first_week_with_figures(
    rendered: Rendered, metric: str
) -> None:
    active = [
        week
        for week, rows in rendered.weeks.items()
        if any(counts(r, m)[1] for r in rows for m, _, _, _ in METRICS)
    ]
    assert active[0] != min(rendered.weeks)  # the desk's history starts within the weeks
    trend = _inside(rendered.dom, "svg", {"class": "team-trend", "data-metric": metric})
    dates = [e.attrs["data-week"] for e in trend if e.tag == "text" and "data-week" in e.attrs]
    assert dates[0] == active[0]


@pytest.mark.parametrize("metric", [m for m, _, _, _ in METRICS])
def test_the_team_trends_dates_end_inside_the_chart(rendered: Rendered, metric: str) -> None:
    # A date centred on the first or last week runs past the drawing's edge (the parser
    # lowercases attribute names: viewBox is `viewbox`).
    svg = next(
        e
        for e in rendered.dom
        if e.tag == "svg" and e.attrs.get("class") == "team-trend"
        and e.attrs.get("data-metric") == metric
    )  # fmt: skip
    width = float(svg.attrs["viewbox"].split()[2])
    trend = _inside(rendered.dom, "svg", {"class": "team-trend", "data-metric": metric})
    dates = [e for e in trend if e.tag == "text" and "data-week" in e.attrs]
    first, last = dates[0], dates[-1]
    assert first.attrs["text-anchor"] == "start" and float(first.attrs["x"]) >= 0
    if last.attrs["data-week"] == max(rendered.weeks):  # the last week is labelled
        assert last.attrs["text-anchor"] == "end" and float(last.attrs["x"]) <= width


@pytest.mark.parametrize(("metric", "column"), [("transfer", "transfer_pct"), ("fcr", "fcr_pct"),
                                                ("csat", "csat_pct")])  # fmt: skip
def test_each_metric_tables_rate_is_the_csv_rate(
    rendered: Rendered, metric: str, column: str
) -> None:
    shown = [e.text for e in rendered.dom if e.tag == "td" and e.attrs.get("data-rate") == metric]
    assert shown == [f"{row[column]}%" if row[column] else "" for row in rendered.csv_rows]
