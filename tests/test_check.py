"""`deskmetrics check` (deskmetrics/check.py): one line per check, ok or FAILED with what to
fix, exit 1 on any failure: bad settings, a missing token, a wrong token, an unreachable
server, a token that is not an admin's, a database that cannot be written."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from deskmetrics.check import write_problem
from deskmetrics.cli import main
from tests.desks import TINY, TOKEN_ENV, served_desk, write_settings
from tests.salesforce_desks import ENVIRON as SALESFORCE_ENVIRON
from tests.salesforce_desks import SOURCE as SALESFORCE
from tests.salesforce_desks import write_settings as salesforce_settings
from tests.static_server import serving
from warehouse.access import is_read_only
from warehouse.schema import open_engine, sync_state

ME = "/api/v2/users/me.json"


def _me(role: str = "admin", user_id: int | None = 7) -> dict[str, Any]:
    return {"user": {"id": user_id, "name": "Ada Admin", "email": "ada@example.com", "role": role}}


@contextmanager
def _server(answer: dict[str, Any]) -> Iterator[str]:
    with serving({ME: [answer]}) as base_url:
        yield base_url


def _check(settings: Path, **env: str) -> Result:
    return CliRunner(env=env).invoke(main, ["check", "--config", str(settings)])


def _lines(result: Result) -> dict[str, str]:
    """Each check's line by its name."""
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())  # type: ignore[misc]


def _settings(tmp_path: Path, base_url: str, database: str | None = None) -> Path:
    path = tmp_path / "settings.toml"
    write_settings(path, tmp_path / "w.sqlite", base_url)
    if database is not None:
        path.write_text(path.read_text().replace(f"sqlite:///{tmp_path / 'w.sqlite'}", database))
    return path


def test_everything_in_order_is_one_ok_line_per_check(tmp_path: Path) -> None:
    with _server(_me()) as base_url:
        result = _check(_settings(tmp_path, base_url), **{TOKEN_ENV: "t"})
    assert result.exit_code == 0, result.output
    lines = _lines(result)
    assert list(lines) == ["settings", "secret zendesk", "source zendesk", "database",
                           "database writes"]  # fmt: skip
    assert all(line.startswith("ok (") for line in lines.values())
    assert "Ada Admin <ada@example.com>, an admin" in lines["source zendesk"]


def test_the_write_probe_keeps_nothing(tmp_path: Path) -> None:
    with _server(_me()) as base_url:
        assert _check(_settings(tmp_path, base_url), **{TOKEN_ENV: "t"}).exit_code == 0
    engine = open_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sync_state)).scalar() == 0


def test_bad_settings_fail_the_settings_line_naming_the_key(tmp_path: Path) -> None:
    path = _settings(tmp_path, "http://127.0.0.1:9")
    path.write_text(path.read_text().replace('timezone = "UTC"', 'timezone = "Mars/Base"'))
    result = _check(path, **{TOKEN_ENV: "t"})
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("settings: FAILED:") and "timezone" in line and "Mars/Base" in line


def test_a_missing_token_fails_naming_its_variable(tmp_path: Path) -> None:
    with _server(_me()) as base_url:
        result = CliRunner(env={TOKEN_ENV: None}).invoke(
            main, ["check", "--config", str(_settings(tmp_path, base_url))]
        )
    assert result.exit_code == 1
    lines = _lines(result)
    assert lines["secret zendesk"].startswith("FAILED:") and TOKEN_ENV in lines["secret zendesk"]
    assert lines["source zendesk"] == "FAILED: not tried without its secrets"
    assert lines["database writes"].startswith("ok")  # the other checks still run


def test_a_wrong_token_fails_with_the_sandbox_401_and_never_shows_it(tmp_path: Path) -> None:
    with served_desk(tmp_path, **TINY) as served:
        result = _check(served.settings_path, **{TOKEN_ENV: "wrong-s3cret"})
    assert result.exit_code == 1
    line = _lines(result)["source zendesk"]
    assert line.startswith("FAILED:") and "401" in line and TOKEN_ENV in line
    assert "wrong-s3cret" not in result.output


def test_an_unreachable_server_fails_saying_so(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = _check(_settings(tmp_path, f"http://127.0.0.1:{port}"), **{TOKEN_ENV: "t"})
    assert result.exit_code == 1
    line = _lines(result)["source zendesk"]
    assert line.startswith("FAILED:") and "cannot connect" in line and "base_url" in line


def _unused_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


def test_a_refused_connection_names_the_server_and_the_setting_to_fix(tmp_path: Path) -> None:
    port = _unused_port()
    result = _check(_settings(tmp_path, f"http://127.0.0.1:{port}"), **{TOKEN_ENV: "t"})
    line = _lines(result)["source zendesk"]
    assert f"cannot connect to http://127.0.0.1:{port}" in line
    assert "sources.zendesk.base_url" in line


def test_a_salesforce_source_is_told_to_check_its_instance_url(tmp_path: Path) -> None:
    port = _unused_port()
    settings = tmp_path / "settings.toml"
    salesforce_settings(settings, tmp_path / "w.sqlite", f"http://127.0.0.1:{port}")
    result = _check(settings, **SALESFORCE_ENVIRON)
    line = _lines(result)[f"source {SALESFORCE}"]
    assert f"cannot connect to http://127.0.0.1:{port}" in line
    assert f"sources.{SALESFORCE}.instance_url" in line
    assert "base_url" not in line and "subdomain" not in line


def test_a_token_that_is_not_an_admins_fails_saying_exports_need_one(tmp_path: Path) -> None:
    with _server(_me(role="agent")) as base_url:
        result = _check(_settings(tmp_path, base_url), **{TOKEN_ENV: "t"})
    assert result.exit_code == 1
    line = _lines(result)["source zendesk"]
    assert line.startswith("FAILED:") and "'agent'" in line and "admins only" in line


def test_an_anonymous_answer_fails_as_credentials_not_accepted(tmp_path: Path) -> None:
    with _server(_me(role="end-user", user_id=None)) as base_url:
        result = _check(_settings(tmp_path, base_url), **{TOKEN_ENV: "t"})
    assert "credentials were not accepted" in _lines(result)["source zendesk"]


def test_a_read_only_database_fails(tmp_path: Path) -> None:
    open_engine(f"sqlite:///{tmp_path / 'ro.sqlite'}").dispose()
    read_only = f"sqlite:///file:{tmp_path / 'ro.sqlite'}?mode=ro&uri=true"
    with _server(_me()) as base_url:
        result = _check(_settings(tmp_path, base_url, read_only), **{TOKEN_ENV: "t"})
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and failed[0].startswith("database")
    assert "readonly" in failed[0]


def test_the_write_probe_says_read_only_on_sqlite(tmp_path: Path) -> None:
    open_engine(f"sqlite:///{tmp_path / 'ro.sqlite'}").dispose()
    engine = create_engine(f"sqlite:///file:{tmp_path / 'ro.sqlite'}?mode=ro&uri=true")
    problem = write_problem(engine)
    assert problem is not None and "it is read-only" in problem


def test_the_write_probe_says_read_only_on_postgresql(postgres_database_url: str) -> None:
    open_engine(postgres_database_url).dispose()
    name = make_url(postgres_database_url).database
    admin = create_engine(postgres_database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    engine = create_engine(postgres_database_url)
    try:
        problem = write_problem(engine)
    finally:
        engine.dispose()
    assert problem is not None and "it is read-only" in problem


def test_only_read_only_refusals_count_as_read_only(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with pytest.raises(OperationalError) as raised, engine.connect() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert not is_read_only(raised.value)
