"""`database.url`: a relative SQLite path is relative to the settings file's folder, not to
the folder a command runs in; every other URL is used as written; a URL that cannot be read
is a clear error; `status` names the database it opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from deskmetrics.settings import DatabaseSettings, Settings, load_settings
from interactions import ConfigError, WarehouseError
from tests.desks import run_cli
from warehouse.schema import open_engine


def _settings_file(folder: Path, url: str, password_env: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.toml"
    path.write_text(f'[database]\nurl = "{url}"\npassword_env = "{password_env}"\n')
    return path


def test_a_relative_sqlite_path_is_relative_to_the_settings_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(_settings_file(tmp_path / "etc", "sqlite:///data/dm.sqlite"))
    monkeypatch.chdir(tmp_path)
    assert settings.database_url() == f"sqlite:///{tmp_path / 'etc' / 'data' / 'dm.sqlite'}"


def test_the_default_settings_file_puts_a_relative_path_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings_file(tmp_path, "sqlite:///dm.sqlite")
    monkeypatch.chdir(tmp_path)
    assert load_settings(None).database_url() == f"sqlite:///{tmp_path / 'dm.sqlite'}"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/deskmetrics/dm.sqlite",
        "sqlite:///:memory:",
        "sqlite://",
        "postgresql+psycopg://deskmetrics@dbhost/deskmetrics",
        "postgresql+psycopg://dm@db:5433/dm?sslmode=require",
    ],
)
def test_absolute_in_memory_and_server_urls_are_used_as_written(tmp_path: Path, url: str) -> None:
    assert load_settings(_settings_file(tmp_path, url)).database_url() == url


def test_a_relative_path_keeps_its_query(tmp_path: Path) -> None:
    settings = load_settings(_settings_file(tmp_path, "sqlite:///dm.sqlite?timeout=30"))
    assert settings.database_url() == f"sqlite:///{tmp_path / 'dm.sqlite'}?timeout=30"


def test_settings_built_in_code_keep_a_relative_path_as_written() -> None:
    # The demo builds its settings itself, with no file to be relative to.
    settings = Settings(database=DatabaseSettings(url="sqlite:///demo.sqlite"))
    assert settings.database_url() == "sqlite:///demo.sqlite"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://dm@db:fivefourthree/dm",  # a port that is not a number
        "dbhost/deskmetrics",  # no scheme
        "",
    ],
)
def test_a_url_that_cannot_be_read_is_a_config_error_that_shows_no_password(
    tmp_path: Path, url: str
) -> None:
    settings = load_settings(_settings_file(tmp_path, url, "DB_PW"))
    with pytest.raises(ConfigError, match=r"database\.url .*postgresql\+psycopg://") as raised:
        settings.database_url({"DB_PW": "s3cret"})
    assert "s3cret" not in str(raised.value) and "fivefourthree" not in str(raised.value)


def test_status_run_elsewhere_opens_and_names_the_database_beside_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cron job: the settings live in one folder, the command starts in another.
    settings = _settings_file(tmp_path / "etc", "sqlite:///data/dm.sqlite")
    (tmp_path / "etc" / "data").mkdir()
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_cli(["status", "--config", str(settings)])
    assert result.returncode == 0, result.stderr
    database = tmp_path / "etc" / "data" / "dm.sqlite"
    assert database.exists()
    assert list(elsewhere.iterdir()) == [], "a second, empty database was made where it ran"
    assert result.stdout.splitlines()[0] == f"database: sqlite:///{database}"


@pytest.mark.postgres
def test_status_names_a_postgresql_database_without_its_password(
    tmp_path: Path, postgres_database_url: str
) -> None:
    settings = _settings_file(tmp_path, postgres_database_url, "DB_PW")
    result = run_cli(["status", "--config", str(settings)], {"DB_PW": "s3cret"})
    assert result.returncode == 0, result.stderr
    marked = make_url(postgres_database_url).set(password="PASSWORD-HERE")
    shown = marked.render_as_string(hide_password=False).replace("PASSWORD-HERE", "***")
    assert result.stdout.splitlines()[0] == f"database: {shown}"
    assert "s3cret" not in result.stdout + result.stderr


def test_a_malformed_url_with_a_password_variable_is_one_error_line(tmp_path: Path) -> None:
    settings = _settings_file(tmp_path, "postgresql+psycopg://dm@db:port/dm", "DB_PW")
    result = run_cli(["score", "--config", str(settings)], {"DB_PW": "s3cret"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "database.url" in errors[0], result.stderr


def test_a_sqlite_file_whose_folder_is_missing_is_an_error_about_files(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "dm.sqlite"
    with pytest.raises(WarehouseError) as failed:
        open_engine(f"sqlite:///{missing}")
    message = str(failed.value)
    assert "folder must exist" in message and str(missing) in message
    assert "server" not in message
