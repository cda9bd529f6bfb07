"""The manager's page's change against the previous period, on a desk with history in both
periods, as a real headless Chromium renders it: the team's sentence and an agent's change
carry the numbers of scoring/comparison.py on the counts of each period's CSV report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bench.browser import chromium, dump_dom
from deskmetrics import pipeline
from deskmetrics.page import METRICS
from scoring.comparison import change_sentence, change_test, p_text
from scoring.confidence import round1
from tests.desks import served_desk
from tests.test_page import Element, elements

pytestmark = pytest.mark.skipif(
    chromium() is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run does)"
)

DAYS = 28  # the report period; the desk has history for twice as long and more
# The documented form (docs/metrics.md "Comparing agents and periods").
SENTENCE = re.compile(
    r"^(Transfer rate|FCR|CSAT) (unchanged|(up|down) \d+(\.\d)? points?), "
    r"(unlikely to be chance|within chance), p (= [\d.e-]+|< 0\.001|< 0\.05)$"
)
AGENT_CHANGE = re.compile(r"^[+-]\d+\.\d pts, p (= [\d.e-]+|< 0\.001|< 0\.05)$")

CsvRows = list[dict[str, str]]


@dataclass
class TwoPeriods:
    now: CsvRows  # the CSV report of the period
    before: CsvRows  # and of the previous period of the same length
    dom: list[Element]


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoPeriods]:
    folder = tmp_path_factory.mktemp("page-changes")
    with served_desk(folder, customers=200, tickets=700, days=2 * DAYS + 6) as served:
        first = (served.desk.now - timedelta(days=2 * DAYS + 8)).date()
        pipeline.backfill(
            served.engine, served.settings, "zendesk", first, None,
            config=served.config(), policy=served.policy(),
        )  # fmt: skip
        until = served.desk.now.date() + timedelta(days=1)
        since, previous = until - timedelta(days=DAYS), until - timedelta(days=2 * DAYS)
        page = folder / "page.html"
        made = served.cli("report", "--since", str(since), "--until", str(until),
                          "--format", "html", "--out", str(page))  # fmt: skip
        assert made.returncode == 0, made.stderr

        def csv_rows(start: str, end: str) -> CsvRows:
            done = served.cli("report", "--since", start, "--until", end, "--format", "csv")
            assert done.returncode == 0, done.stderr
            return list(csv.DictReader(io.StringIO(done.stdout)))

        yield TwoPeriods(
            csv_rows(str(since), str(until)),
            csv_rows(str(previous), str(since)),
            elements(dump_dom(page)),
        )


def _cell(dom: list[Element], row: dict[str, str], metric: str) -> str:
    """The text of the change cell of `metric` in a table row with these attributes."""
    found = []
    for i, e in enumerate(dom):
        if e.tag == "tr" and all(e.attrs.get(k) == v for k, v in row.items()):
            end = next((j for j in range(i + 1, len(dom)) if dom[j].tag == "tr"), len(dom))
            found += [
                c.text
                for c in dom[i + 1 : end]
                if c.tag == "td" and c.attrs.get("data-change") == metric
            ]
    (text,) = found
    return text


def _total(rows: CsvRows, column: str) -> int:
    return sum(int(row[column]) for row in rows)


@pytest.mark.parametrize(("metric", "label", "x", "n"), METRICS)
def test_the_teams_change_is_the_sentence_of_the_test_on_both_periods_counts(
    two_periods: TwoPeriods, metric: str, label: str, x: str, n: str
) -> None:
    before_n, after_n = _total(two_periods.before, n), _total(two_periods.now, n)
    assert before_n > 0 and after_n > 0  # both periods have figures: a real comparison
    expected = change_sentence(
        label,
        change_test(_total(two_periods.before, x), before_n, _total(two_periods.now, x), after_n),
    )
    shown = _cell(two_periods.dom, {"data-team": metric}, metric)
    assert shown == expected
    assert SENTENCE.match(shown), shown


@pytest.mark.parametrize(("metric", "label", "x", "n"), METRICS)
def test_an_agents_change_is_the_test_on_both_periods_counts(
    two_periods: TwoPeriods, metric: str, label: str, x: str, n: str
) -> None:
    before = {row["agent_id"]: row for row in two_periods.before if row["agent_id"]}
    # The busiest agent with figures in both periods.
    row = max(
        (r for r in two_periods.now if r["agent_id"] in before and int(before[r["agent_id"]][n])),
        key=lambda r: int(r[n]),
    )
    earlier = before[row["agent_id"]]
    change = change_test(int(earlier[x]), int(earlier[n]), int(row[x]), int(row[n]))
    assert change is not None
    shown = _cell(two_periods.dom, {"data-agent": f"{row['source']}|{row['agent_id']}"}, metric)
    assert AGENT_CHANGE.match(shown), shown
    assert shown == f"{round1(change.points):+.1f} pts, {p_text(change.p_value)}"
