"""What a Salesforce connector is configured with: one frozen record, built from settings,
and the streams it reads (here, so that naming them loads no API client)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

STREAMS = ("agents", "cases", "case_history", "ratings")


@dataclass(frozen=True)
class SalesforceConfig:
    """What the connector needs. Secrets are never shown in a repr or a message; the
    `*_env` names (for messages) say where each came from."""

    source: str
    instance_url: str  # https://acme.my.salesforce.com, or http://127.0.0.1:PORT
    auth: str  # "password", "client_credentials" or "jwt"
    customer_hash_key: bytes = field(repr=False)
    username: str = ""
    client_id: str = ""
    password: str = field(default="", repr=False)
    security_token: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    secret_envs: str = "the environment variables named in the settings"
    api_version: str = "62.0"
    # CSAT: a custom object with a case lookup (csat_object), or a Feedback Management
    # question (csat_question, its DeveloperName); neither: no CSAT is read.
    csat_object: str = ""
    csat_case_field: str = "Case__c"
    csat_score_field: str = "Score__c"
    csat_comment_field: str = "Comment__c"
    csat_date_field: str = "CreatedDate"
    # The settings' `timezone`: a Date-typed csat_date_field names a day of it.
    day_zone: str = "UTC"
    csat_question: str = ""
    bulk_threshold: int = 10_000  # a window holding more records is read through Bulk 2.0
    bulk_page_records: int = 10_000  # rows of one Bulk result page (memory is bounded by it)
    max_allowance_share: float = 0.5  # of the daily API allowance one run may use
    bad_records: str = "stop"  # or "quarantine"
    overlap: timedelta = timedelta(minutes=5)
    max_empty_pages: int = 20
