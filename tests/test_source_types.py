"""A source is a `type` in its `[sources.NAME]` table, checked per type, opened by the registry."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from connectors.http import RetryPolicy
from connectors.registry import open_connector, streams_of
from connectors.zendesk import STREAMS, ZendeskConnector
from connectors.zendesk_config import ZendeskConfig
from deskmetrics.settings import (
    SalesforceSourceSettings,
    ZendeskSourceSettings,
    settings_from,
)
from interactions import ConfigError

ROOT = Path(__file__).resolve().parent.parent

SALESFORCE: dict[str, Any] = {
    "type": "salesforce",
    "instance_url": "https://acme.my.salesforce.com",
    "username": "api@acme.test",
}


def test_a_section_of_each_type_validates_as_that_type() -> None:
    settings = settings_from(
        {
            "sources": {
                "zendesk": {"type": "zendesk", "subdomain": "acme"},
                "service": {
                    **SALESFORCE,
                    "csat_object": "Csat_Answer__c",
                    "csat_score_field": "Score__c",
                },
            }
        }
    )
    assert isinstance(settings.sources["zendesk"], ZendeskSourceSettings)
    service = settings.sources["service"]
    assert isinstance(service, SalesforceSourceSettings)
    assert service.csat_object == "Csat_Answer__c"


@pytest.mark.parametrize(
    "login",
    [
        {"auth": "password", "username": "api@acme.test"},
        {"auth": "client_credentials", "client_id": "3MVG9"},
        {"auth": "jwt", "username": "api@acme.test", "client_id": "3MVG9"},
    ],
)
def test_each_salesforce_login_validates_with_the_keys_it_needs(login: dict[str, str]) -> None:
    table = {"type": "salesforce", "instance_url": "http://127.0.0.1:8765", **login}
    source = settings_from({"sources": {"service": table}}).sources["service"]
    assert isinstance(source, SalesforceSourceSettings)
    assert source.auth == login["auth"]


def test_a_login_without_a_key_it_needs_names_that_key() -> None:
    table = {**SALESFORCE, "auth": "jwt"}
    with pytest.raises(ConfigError, match=r"sources\.service: client_id is empty.*jwt"):
        settings_from({"sources": {"service": table}})


def test_two_zendesk_instances_and_a_salesforce_section_load_together() -> None:
    settings = settings_from(
        {
            "sources": {
                "zendesk": {"subdomain": "acme"},
                "zendesk_emea": {"type": "zendesk", "subdomain": "acme-emea"},
                "service": SALESFORCE,
            }
        }
    )
    types = {name: source.type for name, source in settings.sources.items()}
    assert types == {"zendesk": "zendesk", "zendesk_emea": "zendesk", "service": "salesforce"}
    assert settings.enabled_sources() == ["service", "zendesk", "zendesk_emea"]


def test_an_unknown_type_names_the_type_key_and_the_known_types() -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from({"sources": {"desk": {"type": "freshdesk"}}})
    message = str(raised.value)
    assert "sources.desk.type: unknown source type 'freshdesk'" in message
    assert "'zendesk'" in message and "'salesforce'" in message


@pytest.mark.parametrize(
    "name",
    ["Score__c' OR Id != null", "Case.Id", "1Score__c", "Score c", "Score__c;", "_Score"],
)
def test_a_salesforce_name_that_is_not_an_identifier_is_refused(name: str) -> None:
    table = {**SALESFORCE, "csat_object": "Csat__c", "csat_score_field": name}
    with pytest.raises(ConfigError, match=r"sources\.service\.csat_score_field: .*not a Sales"):
        settings_from({"sources": {"service": table}})


def test_a_key_of_another_type_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"sources\.service\.subdomain: not a setting of a sal"):
        settings_from({"sources": {"service": {**SALESFORCE, "subdomain": "acme"}}})
    with pytest.raises(ConfigError, match=r"sources\.zendesk\.instance_url: not a setting of a z"):
        settings_from({"sources": {"zendesk": {"instance_url": "https://acme.my.sf.com"}}})


def test_a_custom_object_and_a_survey_question_together_are_refused() -> None:
    table = {**SALESFORCE, "csat_object": "Csat__c", "csat_question": "How did we do?"}
    with pytest.raises(ConfigError, match="csat_object and csat_question are both set"):
        settings_from({"sources": {"service": table}})


def test_an_instance_url_with_a_path_is_refused() -> None:
    table = {**SALESFORCE, "instance_url": "https://acme.my.salesforce.com/services/data"}
    with pytest.raises(ConfigError, match=r"sources\.service\.instance_url: .* no path"):
        settings_from({"sources": {"service": table}})


def test_the_salesforce_example_in_settings_toml_is_every_key_and_valid() -> None:
    lines = (ROOT / "settings.toml").read_text().splitlines()
    start = lines.index("# [sources.salesforce]")
    example = "\n".join(line.removeprefix("# ") for line in lines[start:])
    table = tomllib.loads(example)["sources"]["salesforce"]
    assert set(table) == set(SalesforceSourceSettings.model_fields)
    defaults = SalesforceSourceSettings.model_construct().model_dump()
    differing = {key for key, value in table.items() if value != defaults[key]}
    assert differing == {"instance_url", "username"}  # enabled as shipped: ready to use
    assert settings_from({"sources": {"salesforce": table}}).sources["salesforce"] is not None


def test_a_salesforce_source_without_its_secret_is_refused_naming_the_variable(
    engine: Engine,
) -> None:
    settings = settings_from({"sources": {"service": SALESFORCE}})
    with pytest.raises(ConfigError, match=r"'service'.*SALESFORCE_PASSWORD.*is not set"):
        settings.source_config("service", environ={})
    with pytest.raises(ConfigError, match="not zendesk"):
        settings.zendesk_config("service", environ={})


def test_the_registry_opens_a_zendesk_connector_with_its_streams() -> None:
    config = ZendeskConfig("zendesk", "", "a@acme.test", "t", base_url="http://127.0.0.1:9")
    with open_connector("zendesk", "zendesk", config, RetryPolicy()) as connector:
        assert isinstance(connector, ZendeskConnector)
        assert connector.streams == STREAMS == streams_of("zendesk")


def test_the_zendesk_connector_has_no_stream_it_does_not_name() -> None:
    config = ZendeskConfig("zendesk", "", "a@acme.test", "t", base_url="http://127.0.0.1:9")
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with (
        ZendeskConnector(config, RetryPolicy()) as connector,
        pytest.raises(ValueError, match=re.escape("no stream 'cases'")),
    ):
        connector.pages("cases", None, since, None)
