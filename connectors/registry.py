"""Source types: the name in `[sources.NAME] type = ...` to the connector that reads it.

A helpdesk is one connector module and one entry of `SOURCE_TYPES`: its streams (for
status before any connection) and how to open its connector from its config. The settings
turn a `[sources.NAME]` table into that config (deskmetrics/settings.py); this module
knows no settings file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from connectors.http import RetryPolicy
from connectors.protocol import SourceConnector
from connectors.salesforce_config import STREAMS as SALESFORCE_STREAMS
from connectors.salesforce_config import SalesforceConfig
from connectors.zendesk_config import STREAMS as ZENDESK_STREAMS
from connectors.zendesk_config import ZendeskConfig
from interactions import ConfigError

# The config one source type's connector is built from; one member per readable type.
SourceConfig = ZendeskConfig | SalesforceConfig

# A `[sources.NAME]` table without `type` is Zendesk: the only type before types existed.
DEFAULT_TYPE = "zendesk"


@dataclass(frozen=True)
class SourceType:
    """One helpdesk: its streams in reading order, and its connector's factory (None: the
    type is known to the settings but cannot be read in this version)."""

    streams: tuple[str, ...]
    opened: Callable[[SourceConfig, RetryPolicy], SourceConnector] | None


# A connector's module is imported when one is opened: each loads its API client library
# (zenpy, simple-salesforce), which a command that reads no source (report, status,
# explain) or reads the other type should not wait for at every start.


def _zendesk(config: SourceConfig, policy: RetryPolicy) -> SourceConnector:
    from connectors.zendesk import ZendeskConnector

    assert isinstance(config, ZendeskConfig)  # the settings build each type's own config
    return ZendeskConnector(config, policy)


def _salesforce(config: SourceConfig, policy: RetryPolicy) -> SourceConnector:
    from connectors.salesforce import SalesforceConnector

    assert isinstance(config, SalesforceConfig)
    # Messages about the server name the setting that names a Salesforce org's.
    address = f"sources.{config.source}.instance_url"
    return SalesforceConnector(config, replace(policy, address_setting=address))


SOURCE_TYPES: dict[str, SourceType] = {
    "zendesk": SourceType(ZENDESK_STREAMS, _zendesk),
    "salesforce": SourceType(SALESFORCE_STREAMS, _salesforce),
}


def streams_of(source_type: str) -> tuple[str, ...]:
    """The streams of a source type, in reading order; none for a type not readable here."""
    known = SOURCE_TYPES.get(source_type)
    return known.streams if known is not None else ()


def readable(source_type: str, source: str) -> SourceType:
    """The type of source `source`, or a `ConfigError` when this version cannot read it."""
    known = SOURCE_TYPES.get(source_type)
    if known is None or known.opened is None:
        readable_types = ", ".join(t for t, k in sorted(SOURCE_TYPES.items()) if k.opened)
        raise ConfigError(
            f"source {source!r} is of type {source_type!r}, which this version of deskmetrics "
            f"cannot read yet (it reads: {readable_types}). Set sources.{source}.enabled = "
            "false, or remove the section, until a version that reads it."
        )
    return known


def open_connector(
    source_type: str, source: str, config: SourceConfig, policy: RetryPolicy
) -> SourceConnector:
    """The connector of source `source`, of type `source_type`, built from its config."""
    opened = readable(source_type, source).opened
    assert opened is not None  # readable() refused the types without a connector
    return opened(config, policy)
