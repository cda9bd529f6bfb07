"""`python -m sandbox.salesforce`: it answers --help, and it serves a generated desk on
127.0.0.1, printing its URL and settings a deskmetrics source logs in to it with, until Ctrl-C."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from deskmetrics.settings import load_settings
from sandbox.salesforce import LoopbackSession

ROOT = Path(__file__).resolve().parents[1]
ENTRY = [sys.executable, "-m", "sandbox.salesforce"]
TICKETS = 40


@dataclass(frozen=True)
class Printed:
    """What the running entry printed before serving."""

    instance_url: str
    settings: str  # the [sources.NAME] table
    environ: dict[str, str]  # from its `export` line


def read_until_served(out: Iterator[str]) -> Printed:
    lines: list[str] = []
    for line in out:  # the process prints it all at once, flushed, then serves
        lines.append(line.rstrip("\n"))
        if line.startswith("export "):
            break
    url = lines[0].removeprefix("Salesforce sandbox at ")
    table = lines[lines.index("[sources.salesforce]") : -2]
    environ = dict(word.split("=", 1) for word in shlex.split(lines[-1])[1:])
    return Printed(url, "\n".join(table), environ)


@pytest.fixture
def printed() -> Iterator[tuple[Printed, subprocess.Popen[str]]]:
    arguments = ["--port", "0", "--tickets", str(TICKETS), "--customers", "20", "--days", "5"]
    process = subprocess.Popen(
        [*ENTRY, *arguments], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield read_until_served(process.stdout), process
    finally:
        process.kill()
        process.communicate(timeout=30)


def test_the_entry_answers_help() -> None:
    done = subprocess.run(
        [*ENTRY, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m sandbox.salesforce")
    for option in ("--port", "--tickets", "--seed", "--shared-staff"):
        assert option in done.stdout


def test_the_printed_settings_log_a_client_in_to_the_served_desk(
    printed: tuple[Printed, subprocess.Popen[str]], tmp_path: Path
) -> None:
    shown, _ = printed
    assert shown.instance_url.startswith("http://127.0.0.1:")
    path = tmp_path / "settings.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/w.sqlite"\n{shown.settings}\n')
    config = load_settings(path).salesforce_config("salesforce", shown.environ)
    assert config.instance_url == shown.instance_url
    sf = Salesforce(
        username=config.username,
        password=config.password,
        security_token=config.security_token,
        session=LoopbackSession(config.instance_url),
    )  # a SOAP login, then a query, both real HTTP to the entry's server
    cases = sf.query_all("SELECT Id FROM Case", include_deleted=True)
    assert cases["totalSize"] == TICKETS


def test_ctrl_c_stops_the_entry_cleanly(printed: tuple[Printed, subprocess.Popen[str]]) -> None:
    _, process = printed
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
