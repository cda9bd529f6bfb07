"""The documentation guards: docs/metrics.md's worked example is what scoring computes (its
figures are read from the page, so the page cannot drift), the page has a section per rule,
README and `--help` point to it, every command has help, and nothing in the repository
points outside it (a user who clones it has nothing beside it)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from deskmetrics.cli import main
from interactions import Agent, History, Interaction, OwnershipChange, Rating, StatusChange
from scoring import (
    REPORT_COLUMNS,
    AgentDayFact,
    Contact,
    ScoringSettings,
    report_rows,
    score_days,
    sum_facts,
)
from scoring.comparison import Z_95, Z_998, change_sentence, change_test, funnel_limits

ROOT = Path(__file__).resolve().parent.parent
METRICS = ROOT / "docs" / "metrics.md"
RULES = [
    "Words",
    "Handled",
    "Transfer out",
    "Resolution and first-contact resolution (FCR)",
    "CSAT",
    "Confidence",
    "Rows of a report",
    "Left out",
    "Additivity",
    "People across sources",
    "Comparing agents and periods",
]

# The worked example's cast, as the page introduces them.
SOURCE = "zendesk"
WEEK = {"Mon": date(2024, 5, 6), "Tue": date(2024, 5, 7), "Wed": date(2024, 5, 8),
        "Thu": date(2024, 5, 9), "Fri": date(2024, 5, 10)}  # fmt: skip
AGENTS = {
    "Ana": Agent(SOURCE, "101", "Ana Alves", "ana@example.com", "agent", True, None),
    "Ben": Agent(SOURCE, "102", "Ben Brandt", "ben@example.com", "agent", True, None),
}
RESOLVED = {"solved", "closed"}


def _page() -> str:
    return METRICS.read_text(encoding="utf-8")


def _table(heading: str) -> list[dict[str, str]]:
    """The first markdown table after `### heading` on the page, as rows of cells."""
    text = _page()
    start = text.index(f"\n### {heading}\n")
    lines = text[start:].splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, _rule, *body = table
    return [dict(zip(header, row, strict=True)) for row in body]


def _moment(text: str) -> datetime:
    """A time as the page writes it ("Mon 09:05"), as a moment of the example's week (UTC)."""
    day, clock = text.split()
    return datetime.combine(WEEK[day], time.fromisoformat(clock), tzinfo=UTC)


def _histories(desk: list[dict[str, str]]) -> list[History]:
    """The desk table replayed: one update per line, as the page explains the columns."""
    lines_of: dict[str, list[dict[str, str]]] = defaultdict(list)
    for line in desk:
        lines_of[line["ticket"]].append(line)
    histories = []
    for ticket, lines in lines_of.items():
        owner: str | None = None
        status: str | None = None
        solved_at: datetime | None = None
        ownership, statuses, ratings = [], [], []
        for n, line in enumerate(lines):
            at, update = _moment(line["at"]), f"{ticket}.{n}"
            if line["owner"]:
                new_owner = None if line["owner"] == "(group)" else AGENTS[line["owner"]].agent_id
                ownership.append(
                    OwnershipChange(SOURCE, f"{update}o", ticket, update, at, owner, new_owner)
                )
                owner = new_owner
            if line["status"]:
                was = None if status is None else status in RESOLVED
                new = line["status"]
                statuses.append(
                    StatusChange(
                        SOURCE, f"{update}s", ticket, update, at, status, new, was, new in RESOLVED
                    )
                )
                if new in RESOLVED and not was:
                    solved_at = at
                status = new
            if line["rating"]:
                # Zendesk records the ticket's assignee of the moment on the rating.
                ratings.append(
                    Rating(SOURCE, f"{update}r", ticket, owner, line["rating"], None, at, at)
                )
        assert status is not None, f"ticket {ticket} has no creation line"
        interaction = Interaction(
            source=SOURCE,
            interaction_id=ticket,
            created_at=_moment(lines[0]["at"]),
            updated_at=_moment(lines[-1]["at"]),
            status=status,
            resolved=status in RESOLVED,
            deleted=False,
            customer_id=lines[0]["customer"],
            owner_id=owner,
            group_id="support",
            solved_at=solved_at,
        )
        histories.append(History(interaction, tuple(ownership), tuple(statuses), tuple(ratings)))
    return histories


def _scored_example() -> list[AgentDayFact]:
    histories = _histories(_table("The desk"))
    contacts: dict[tuple[str, str], list[Contact]] = defaultdict(list)
    for history in histories:
        i = history.interaction
        assert i.customer_id is not None
        contacts[(i.source, i.customer_id)].append(Contact(i.interaction_id, i.created_at))
    found = re.search(r"high-water mark is \*\*(\w{3} \d\d:\d\d)\*\*", _page())
    assert found, "the worked example names no high-water mark"
    return score_days(histories, contacts, {SOURCE: _moment(found[1])}, ScoringSettings())


def _cell(value: object) -> str:
    """A report value as the page (and the CSV) shows it: empty for no value."""
    if value is None:
        return ""
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def test_the_worked_examples_daily_facts_are_what_scoring_computes() -> None:
    agent_of = {agent.agent_id: name for name, agent in AGENTS.items()}
    day_of = {day: name for name, day in WEEK.items()}
    computed = []
    for fact in _scored_example():
        counts = {k: _cell(v) for k, v in asdict(fact).items() if k not in ("source", "agent_id")}
        computed.append({**counts, "agent": agent_of[str(fact.agent_id)], "day": day_of[fact.day]})
    printed = _table("Per-agent, per-day facts")
    for row in printed:
        row["csat_score_sum"] = _cell(float(row["csat_score_sum"]))
    order = sorted(printed, key=lambda row: (WEEK[row["day"]], row["agent"]))
    assert sorted(computed, key=lambda row: (WEEK[row["day"]], row["agent"])) == order


def test_the_worked_examples_report_is_what_scoring_computes() -> None:
    facts = [f for f in _scored_example() if WEEK["Mon"] <= f.day < WEEK["Wed"]]
    agents = {(SOURCE, agent.agent_id): agent for agent in AGENTS.values()}
    rows = report_rows(sum_facts(facts), agents, "agent", ScoringSettings())
    printed = _table("The report")
    assert [line["column"] for line in printed] == list(REPORT_COLUMNS)
    for number, row in enumerate(rows):
        name = next(n for n, a in AGENTS.items() if a.agent_id == row.agent_id)
        shown = {line["column"]: line[name] for line in printed}
        assert shown == {k: _cell(v) for k, v in asdict(row).items()}, f"{name}'s row"
        assert list(AGENTS)[number] == name, "the page's column order is the report's row order"
    assert len(rows) == len(AGENTS), "the page shows every row of the report"


def _percent_span(limits: tuple[float, float] | None) -> str:
    assert limits is not None
    return f"{100 * limits[0]:.1f} % to {100 * limits[1]:.1f} %"


def test_the_comparison_example_is_what_scoring_computes() -> None:
    rows = {row[""]: row for row in _table("Example of a comparison")}
    team = rows["team FCR, period"]
    team_rate = int(team["x"]) / int(team["n"])
    page = " ".join(_page().split())
    for who in ("Ana's FCR, period", "Ben's FCR, period"):
        n = int(rows[who]["n"])
        assert f"**{_percent_span(funnel_limits(team_rate, n, Z_95))}**" in page, who
    ben = rows["Ben's FCR, period"]
    assert f"99.8 %: {_percent_span(funnel_limits(team_rate, int(ben['n']), Z_998))}" in page
    before = rows["team FCR, previous period"]
    change = change_test(int(before["x"]), int(before["n"]), int(team["x"]), int(team["n"]))
    assert change is not None
    assert f"z = **{change.z:.2f}**".replace("-", "\u2212") in page
    assert f'says "{change_sentence("FCR", change)}"' in page


def test_the_metrics_page_has_a_section_per_rule() -> None:
    headings = re.findall(r"^## (.+)$", _page(), flags=re.MULTILINE)
    assert [h for h in headings if h in RULES] == RULES


def test_code_citing_the_metrics_page_names_one_of_its_sections() -> None:
    headings = set(re.findall(r"^##+ (.+)$", _page(), flags=re.MULTILINE))
    for path in _repository_files(".py"):
        for cited in re.findall(r'docs/metrics\.md "([^"]+)"', path.read_text(encoding="utf-8")):
            assert cited in headings, f"{path.relative_to(ROOT)} cites a missing section {cited!r}"


def test_readme_and_help_point_to_the_metrics_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/metrics.md)" in readme
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "docs/metrics.md" in result.output


def test_every_relative_link_of_the_readme_is_a_file_of_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)[^)]*\)", readme):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        resolved = (ROOT / target).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), f"README links {target}"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help_text(command: str) -> None:
    found = main.commands[command]
    assert isinstance(found, click.Command) and (found.help or "").strip(), command
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert (found.help or "").split("\n")[0].strip() in " ".join(result.output.split())


def _repository_files(suffix: str = "") -> list[Path]:
    """Every file of the repository: tracked, or new and not ignored."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    paths = [ROOT / name for name in listed.split("\0") if name.endswith(suffix)]
    return [path for path in paths if path.is_file()]


def test_nothing_in_the_repository_points_outside_it() -> None:
    # A clone has nothing beside it: no file may name the workplace's shared folder. This
    # file spells the pattern in pieces so that it does not match itself.
    outside = re.compile(r"\.\./" + "shared" + r"|\bshared" + "/" + r"""|/\s*["']shared["']""")
    mentions = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        mentions += [
            f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), start=1)
            if outside.search(line)
        ]
    assert mentions == [], "\n".join(mentions)


# CHANGELOG.md tells of the old name.
OLD_NAME_FOR_NOW = {"CHANGELOG.md"}


def test_nothing_cites_the_metrics_page_by_a_name_the_repository_has_not() -> None:
    # The workplace's copy of the page has the old name; a clone has docs/metrics.md.
    old_name = re.compile(r"(?<![\w/.])" + "METRICS" + r"\.md")
    mentions = []
    for path in _repository_files():
        name = path.relative_to(ROOT).as_posix()
        if name in OLD_NAME_FOR_NOW:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        mentions += [
            f"{name}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), start=1)
            if old_name.search(line)
        ]
    assert mentions == [], "\n".join(mentions)


def _systemd_unit() -> str:
    """The unit docs/operations.md shows: its indented block from `[Unit]` on."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    block = text[text.index("    [Unit]") :].split("\n\n")
    lines: list[str] = []
    for paragraph in block:
        if not paragraph.startswith("    "):
            break
        lines.extend(line.removeprefix("    ") for line in paragraph.splitlines())
        lines.append("")
    return "\n".join(lines)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_systemd_unit_of_the_docs_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # The unit's ExecStart names where the docs install deskmetrics; verify needs a real
    # executable there, so this installation's command stands in for it.
    installed = shutil.which("deskmetrics") or str(Path(sys.executable).parent / "deskmetrics")
    unit = _systemd_unit().replace("/opt/deskmetrics/venv/bin/deskmetrics", installed)
    assert "[Service]" in unit and "[Install]" in unit
    (tmp_path / "deskmetrics.service").write_text(unit, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "deskmetrics.service")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # verify exits 0 on a value it ignores ("Failed to parse …, ignoring"): no word at all.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
