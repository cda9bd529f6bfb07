"""settings.toml documents every setting with its default, and bad settings say what to fix."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.http import RetryPolicy
from connectors.zendesk import ZendeskConnector
from deskmetrics.check import run_checks
from deskmetrics.settings import Settings, ZendeskSourceSettings, load_settings, settings_from
from interactions import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_settings_file_holds_exactly_the_defaults() -> None:
    documented = load_settings(ROOT / "settings.toml")
    assert documented.model_dump(exclude={"sources"}) == Settings().model_dump(exclude={"sources"})
    assert documented.sources == {"zendesk": ZendeskSourceSettings()}


def test_every_setting_has_a_comment_above_it() -> None:
    lines = (ROOT / "settings.toml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            assert lines[number - 1].startswith("#"), f"settings.toml: {line!r} has no comment"


def test_every_settings_key_is_in_the_file() -> None:
    raw = tomllib.loads((ROOT / "settings.toml").read_text())
    for section, model in Settings.model_fields.items():
        if section == "sources":
            continue
        value = raw.get(section)
        assert value is not None, f"settings.toml lacks {section}"
        if isinstance(value, dict):
            annotation = model.annotation
            assert annotation is not None
            assert set(value) == set(annotation.model_fields), section  # type: ignore[union-attr]
    assert set(raw["sources"]["zendesk"]) == set(ZendeskSourceSettings.model_fields)


def test_unknown_time_zone_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"timezone: unknown time zone 'Mars/Olympus'"):
        settings_from({"timezone": "Mars/Olympus"})


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"fcr\.repeat_window"):
        settings_from({"fcr": {"repeat_window": 48}})


def test_missing_token_names_the_variable_and_not_a_secret() -> None:
    settings = settings_from(
        {"sources": {"zendesk": {"subdomain": "acme", "email": "a@acme.test"}}}
    )
    with pytest.raises(ConfigError, match="ZENDESK_API_TOKEN") as raised:
        settings.zendesk_config("zendesk", environ={})
    assert "token_env" in str(raised.value)


def test_token_comes_from_the_environment_and_stays_out_of_repr() -> None:
    settings = settings_from(
        {"sources": {"zendesk": {"subdomain": "acme", "email": "a@acme.test", "token_env": "T"}}}
    )
    config = settings.zendesk_config("zendesk", environ={"T": "s3cret-token"})
    assert config.token == "s3cret-token"
    assert "s3cret" not in repr(config)


def test_missing_settings_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no settings file .* --config"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_source_names_the_configured_ones() -> None:
    settings = settings_from({"sources": {"zendesk": {}}})
    with pytest.raises(ConfigError, match=r"'salesforce'.*configured: zendesk"):
        settings.enabled_sources("salesforce")


def test_database_password_is_taken_from_its_variable() -> None:
    settings = settings_from(
        {"database": {"url": "postgresql+psycopg://dm@db/dm", "password_env": "DB_PW"}}
    )
    assert settings.database_url({"DB_PW": "pw"}) == "postgresql+psycopg://dm:pw@db/dm"
    with pytest.raises(ConfigError, match="DB_PW"):
        settings.database_url({})


def test_a_source_without_subdomain_or_base_url_says_to_set_one() -> None:
    settings = settings_from({"sources": {"zendesk": {"email": "a@acme.test"}}})
    config = settings.zendesk_config("zendesk", environ={"ZENDESK_API_TOKEN": "t"})
    with pytest.raises(ConfigError, match="neither subdomain nor base_url"):
        ZendeskConnector(config, RetryPolicy())


def test_a_url_in_subdomain_is_refused_when_the_settings_load() -> None:
    with pytest.raises(ConfigError, match=r"subdomain 'https://acme.zendesk.com' is not a"):
        settings_from({"sources": {"zendesk": {"subdomain": "https://acme.zendesk.com"}}})


def test_the_salesforce_example_uncommented_is_an_enabled_salesforce_source() -> None:
    text = (ROOT / "settings.toml").read_text()
    example = text[text.index("# [sources.salesforce]") :].splitlines()
    uncommented = "\n".join(line.removeprefix("# ") for line in example if line.startswith("# "))
    settings = settings_from({"sources": tomllib.loads(uncommented)["sources"]})
    assert settings.sources["salesforce"].type == "salesforce"
    assert settings.enabled_sources() == ["salesforce"]


def test_check_of_the_shipped_settings_says_to_fill_in_or_disable_the_empty_source(
    tmp_path: Path,
) -> None:
    # A copy: its relative database path is relative to the file's folder.
    (tmp_path / "settings.toml").write_text((ROOT / "settings.toml").read_text())
    results = run_checks(tmp_path / "settings.toml", environ={})
    zendesk = next(r for r in results if r.name == "source zendesk")
    assert not zendesk.ok and "fill in or disable" in zendesk.line()


def test_the_backoff_between_tries_comes_from_the_http_settings() -> None:
    policy = settings_from(
        {"http": {"backoff_initial_seconds": 0.25, "backoff_max_seconds": 4}}
    ).retry_policy()
    assert (policy.backoff_initial_seconds, policy.backoff_max_seconds) == (0.25, 4.0)


def test_a_longest_backoff_below_the_first_is_a_config_error_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"backoff_max_seconds \(0\.5\) is below backoff_initial"):
        settings_from({"http": {"backoff_initial_seconds": 2, "backoff_max_seconds": 0.5}})


# --- values that would fail later, refused when the settings load -------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("sync", "overlap_minutes", float("inf")),
        ("sync", "overlap_minutes", 1e300),
        ("sync", "initial_lookback_days", 1_000_000),
        ("leases", "ttl_minutes", float("nan")),
        ("fcr", "repeat_window_hours", 1e300),
        ("schedule", "rescore_days", 100_000_000),
    ],
)
def test_a_duration_past_any_calendar_is_refused_naming_the_key(
    section: str, key: str, value: float
) -> None:
    with pytest.raises(ConfigError, match=rf"{section}\.{key}: "):
        settings_from({section: {key: value}})


@pytest.mark.parametrize("clock", ["0330", "03", "T03:30", "03:30Z", "24:00", "3:30"])
def test_rescore_at_is_exactly_hh_mm(clock: str) -> None:
    with pytest.raises(ConfigError, match=r"schedule\.rescore_at: .* write HH:MM"):
        settings_from({"schedule": {"rescore_at": clock}})


SECRET = "Xq9vTz2LkP0aBcDeFgHiJkLmNoPqRsTuVwXyZ012"
SALESFORCE = {
    "type": "salesforce",
    "instance_url": "https://acme.my.salesforce.com",
    "username": "u@acme.test",
}


def test_a_secret_pasted_where_its_variables_name_goes_is_never_shown() -> None:
    zendesk = {"subdomain": "acme", "email": "a@acme.test", "token_env": SECRET}
    settings = settings_from({"sources": {"zendesk": zendesk}})
    with pytest.raises(ConfigError, match=r"token_env") as missing:
        settings.zendesk_config("zendesk", environ={})
    assert SECRET not in str(missing.value)


@pytest.mark.parametrize("name", ["hunter2!", "Sup3r Secret", ""])
def test_a_variables_name_that_is_no_name_is_refused_unshown(name: str) -> None:
    with pytest.raises(ConfigError, match=r"password_env: is (not the name|empty)") as refused:
        settings_from({"sources": {"s": {**SALESFORCE, "password_env": name}}})
    assert not name or name not in str(refused.value)


def test_a_zendesk_address_in_plain_http_to_another_machine_is_refused() -> None:
    source = {"type": "zendesk", "email": "a@acme.test", "base_url": "http://192.0.2.2:8080"}
    with pytest.raises(ConfigError, match=r"plain http.*clear text"):
        settings_from({"sources": {"s": source}})


def test_a_zendesk_address_with_a_password_is_refused_unshown() -> None:
    source = {"type": "zendesk", "email": "a@acme.test", "base_url": "https://me:pw9@acme.test"}
    with pytest.raises(ConfigError, match=r"user name or password") as refused:
        settings_from({"sources": {"s": source}})
    assert "pw9" not in str(refused.value)


@pytest.mark.parametrize(
    "csat",
    [
        {"scale_min": 5, "scale_max": 1},
        {"satisfied_threshold": 10.0},
        {"satisfied_threshold": 1.0},
    ],
)
def test_a_csat_scale_upside_down_or_a_threshold_off_it_is_refused(csat: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=r"csat: "):
        settings_from({"csat": csat})


def test_a_settings_path_that_is_a_folder_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path)


def test_a_misspelt_key_is_named_with_the_nearest_setting() -> None:
    with pytest.raises(ConfigError, match=r"timezon: not a setting \(did you mean 'timezone'\?\)"):
        settings_from({"timezon": "UTC"})


def test_a_misspelt_key_in_a_section_is_named_with_the_nearest_setting() -> None:
    with pytest.raises(
        ConfigError,
        match=r"fcr\.repeat_window_hour: not a setting \(did you mean 'repeat_window_hours'\?\)",
    ):
        settings_from({"fcr": {"repeat_window_hour": 72}})


def test_a_misspelt_key_of_a_salesforce_source_is_named_with_the_nearest_setting() -> None:
    sources = {"sf": {"type": "salesforce", "csat_objcet": "Survey__c"}}
    with pytest.raises(
        ConfigError,
        match=r"sources\.sf\.csat_objcet: not a setting of a salesforce source "
        r"\(did you mean 'csat_object'\?\)",
    ):
        settings_from({"sources": sources})


def test_every_mistake_of_a_settings_file_is_said_at_once() -> None:
    raw = {"timezon": "UTC", "fcr": {"repeat_window_hours": "soon"}, "report": {"min_sampl": 3}}
    with pytest.raises(ConfigError) as said:
        settings_from(raw)
    message = str(said.value)
    assert all(key in message for key in ("timezon:", "fcr.repeat_window_hours:", "min_sampl:"))
    assert message.endswith("Fix these 3 in the settings file.")


_KEYS = st.sampled_from(
    ["timezone", "database", "url", "fcr", "repeat_window_hours", "sources", "zendesk", "type",
     "salesforce", "csat", "scale_min", "report", "min_sample", "http", "sync", "leases",
     "status", "schedule", "subdomain", "enabled", "token_env", "timezon"]
)  # fmt: skip
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(_KEYS, _VALUES, max_size=5))
def test_any_settings_are_valid_or_one_config_error(raw: dict[str, object]) -> None:
    try:
        settings_from(raw)
    except ConfigError as bad:  # never another exception: a traceback is a bug
        assert str(bad).startswith("settings: ") and str(bad).endswith("in the settings file.")


@pytest.mark.parametrize("host", ["login.salesforce.com", "test.salesforce.com"])
def test_salesforces_login_address_is_refused_as_instance_url(host: str) -> None:
    source = {"type": "salesforce", "instance_url": f"https://{host}", "username": "u@x.io"}
    with pytest.raises(ConfigError, match="Salesforce's login address, not the org's"):
        settings_from({"sources": {"sf": source}})
