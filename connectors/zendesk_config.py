"""What a Zendesk connector is configured with: one frozen record, built from settings, and
the streams it reads (here, so that naming them loads no API client)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

# survey_responses after tickets: it reads the responses of the tickets this run's ticket
# export showed answered (connectors/zendesk_surveys.py); after events too, so that a failing
# Help Center API (a run stops at a stream that keeps failing) holds up legacy ratings only.
STREAMS = ("agents", "tickets", "events", "survey_responses", "ratings")


@dataclass(frozen=True)
class ZendeskConfig:
    """What the connector needs; the token is never shown in a repr or a message."""

    source: str
    subdomain: str
    email: str
    token: str = field(repr=False)
    base_url: str | None = None
    token_env: str = "the token's environment variable"  # its name, for messages
    overlap: timedelta = timedelta(minutes=5)
    max_empty_pages: int = 20
    bad_records: str = "stop"  # or "quarantine"
    csat: str = "auto"  # which CSAT to read: "auto", "legacy", "surveys", "both"
    survey_locale: str = "en-us"  # of the survey endpoints' paths

    @property
    def secret_envs(self) -> str:
        """Where the secrets come from, for messages (as `SalesforceConfig.secret_envs`)."""
        return self.token_env


def holds_credentials(address: str) -> bool:
    """Whether an address names a user or a password (`https://me:pw@host`): refused, and
    never shown, for what comes before the @ may be a password."""
    return "@" in urlsplit(address).netloc
