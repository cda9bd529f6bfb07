"""Settings: `settings.toml` read and checked, secrets taken from the environment.

The file never holds a secret, only the *name* of the environment variable that does
(`token_env`, `password_env`). Every key has a default here, and `settings.toml` at the
repository root documents each one with that default (a test keeps the two equal). Bad
values become one `ConfigError` that names the key, the problem and the fix.

Each `[sources.NAME]` table is checked by the model of its `type` (`ZendeskSourceSettings`,
`SalesforceSourceSettings`: a tagged union), so a key of another type is refused by name;
`source_config` turns one into its connector's config (connectors/registry.py).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from connectors.http import RetryPolicy
from connectors.registry import DEFAULT_TYPE, SourceConfig, readable
from connectors.salesforce_config import SalesforceConfig
from connectors.zendesk_config import ZendeskConfig, holds_credentials
from deskmetrics.crontab import crontab_trigger
from deskmetrics.settings_errors import settings_problems
from interactions import ConfigError
from scoring import ScoringSettings

DEFAULT_PATH = Path("settings.toml")


NO_ENABLED_SOURCE = (
    "no enabled source in the settings: add a [sources.NAME] section, or set enabled = true "
    "in one (`deskmetrics check` lists them)."
)


class _Section(BaseModel):
    # No number is infinite or NaN: each becomes a duration, a count or a bound.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# The longest a duration setting may be: beyond it a moment falls off the calendar (an
# overlap of 1e300 minutes), and no run or window needs it.
_MINUTES = 525_600  # a year
_DAYS = 36_500  # a hundred years


def _env_name(value: str) -> str:
    """An environment variable's name ("" where none is needed). The value is never
    repeated: a secret pasted here by mistake would show in the message."""
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(
            "is not the name of an environment variable (letters, digits and _, not starting "
            "with a digit): write the variable's name here, e.g. ZENDESK_API_TOKEN, and put "
            "the secret itself in that variable"
        )
    return value


def _required_env_name(value: str) -> str:
    """`_env_name`, and never "": the secret it names is needed."""
    if not value:
        raise ValueError("is empty: write the name of the environment variable holding it")
    return _env_name(value)


class DatabaseSettings(_Section):
    url: str = "sqlite:///deskmetrics.sqlite"
    password_env: str = ""

    _env = field_validator("password_env")(_env_name)


class FcrSettings(_Section):
    repeat_window_hours: float = Field(72.0, gt=0, le=_MINUTES / 60)
    transfer_breaks_fcr: bool = False


class CsatSettings(_Section):
    scale_min: float = 1.0
    scale_max: float = 5.0
    satisfied_threshold: float = 4.0

    @model_validator(mode="after")
    def _on_the_scale(self) -> CsatSettings:
        if not self.scale_min < self.scale_max:
            raise ValueError(
                f"scale_min ({self.scale_min:g}) is not below scale_max ({self.scale_max:g}): "
                "a CSAT scale runs from its lowest answer to its highest, e.g. 1 to 5"
            )
        if not self.scale_min < self.satisfied_threshold <= self.scale_max:
            raise ValueError(
                f"satisfied_threshold ({self.satisfied_threshold:g}) is not on the scale "
                f"{self.scale_min:g} to {self.scale_max:g}: a response at or above it is "
                "satisfied, so it must be above scale_min and at most scale_max"
            )
        return self


class ReportSettings(_Section):
    min_sample: int = Field(30, ge=1)


class HttpSettings(_Section):
    connect_timeout_seconds: float = Field(10.0, gt=0)
    timeout_seconds: float = Field(60.0, gt=0)
    deadline_seconds: float = Field(300.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    max_wait_seconds: float = Field(600.0, gt=0)
    backoff_initial_seconds: float = Field(1.0, gt=0)
    backoff_max_seconds: float = Field(60.0, gt=0)
    max_quota_share: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _backoff_bounds(self) -> HttpSettings:
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError(
                f"backoff_max_seconds ({self.backoff_max_seconds:g}) is below "
                f"backoff_initial_seconds ({self.backoff_initial_seconds:g}): the longest wait "
                "cannot be shorter than the first; raise it or lower the first"
            )
        return self


class SyncSettings(_Section):
    initial_lookback_days: int = Field(90, ge=1, le=_DAYS)
    overlap_minutes: float = Field(5.0, ge=0, le=_MINUTES)
    max_empty_pages: int = Field(20, ge=1)
    max_run_minutes: float = Field(60.0, ge=0, le=_MINUTES)  # 0: no bound
    max_backfill_minutes: float = Field(720.0, ge=0, le=_MINUTES)  # one backfill's; 0: none


class LeaseSettings(_Section):
    ttl_minutes: float = Field(10.0, gt=0, le=_MINUTES)
    wait_seconds: float = Field(120.0, ge=0, le=_MINUTES * 60)


def _checked_cron(value: str) -> str:
    """A crontab expression (five fields, read as cron reads them), or "" for none."""
    if value:
        try:
            crontab_trigger(value, "UTC")
        except ValueError as bad:
            raise ValueError(
                f"{value!r} is not a crontab expression ({bad}): write five fields, minute "
                'hour day month weekday (0 or 7 is Sunday), e.g. "*/15 * * * *"'
            ) from None
    return value


class ScheduleSettings(_Section):
    sync_interval_minutes: float = Field(15.0, gt=0, le=_MINUTES)
    sync_cron: str = ""
    rescore_at: str = "03:30"
    rescore_days: int = Field(7, ge=1, le=_DAYS)

    _cron = field_validator("sync_cron")(_checked_cron)

    @field_validator("rescore_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        # Exactly HH:MM: `time.fromisoformat` also takes "0330", "03" and offsets, which the
        # scheduler then cannot split into an hour and a minute.
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(f'{value!r} is not a time of day: write HH:MM, e.g. "03:30"')
        return value


@dataclass(frozen=True)
class SyncSchedule:
    """When `deskmetrics run` syncs a source: by its crontab expression if one is set,
    else every `interval_minutes`."""

    cron: str
    interval_minutes: float


class StatusSettings(_Section):
    # `deskmetrics status` exits 1 (lagging) or 2 (failing) past these, for monitors.
    lag_alert_minutes: float = Field(120.0, gt=0, le=_MINUTES)
    failing_alert_minutes: float = Field(60.0, gt=0, le=_MINUTES)


class _SourceSection(_Section):
    """What every `[sources.NAME]` table has, whatever its type."""

    enabled: bool = True
    # A record that cannot be read stops its stream, or is set aside in `quarantine`.
    bad_records: Literal["stop", "quarantine"] = "stop"
    # This source's own schedule for `deskmetrics run` (0 / "": the [schedule] one).
    sync_interval_minutes: float = Field(0.0, ge=0, le=_MINUTES)
    sync_cron: str = ""

    _cron = field_validator("sync_cron")(_checked_cron)

    def unfilled(self) -> tuple[str, ...]:
        """The keys that must be filled in before the source can be read and are empty."""
        return ()


class ZendeskSourceSettings(_SourceSection):
    type: Literal["zendesk"] = "zendesk"
    subdomain: str = ""
    base_url: str = ""
    email: str = ""
    token_env: str = "ZENDESK_API_TOKEN"
    # Which CSAT to read (connectors/zendesk_surveys.py): legacy satisfaction ratings, new-CSAT
    # survey responses, both, or "auto" (legacy, plus surveys once one is seen enabled).
    csat: Literal["auto", "legacy", "surveys", "both"] = "auto"
    survey_locale: str = "en-us"

    _env = field_validator("token_env")(_required_env_name)

    def unfilled(self) -> tuple[str, ...]:
        where = () if self.subdomain or self.base_url else ("subdomain (or base_url)",)
        return where + (() if self.email else ("email",))

    @field_validator("base_url")
    @classmethod
    def _server(cls, value: str) -> str:
        if not value:
            return value
        if holds_credentials(value):
            raise ValueError(
                "holds a user name or password (user@host): write the server's address "
                "alone; the API token goes in the variable token_env names"
            )
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme == "http" and not _is_loopback(host):
            # Every request carries the API token: only a server on this machine (a
            # sandbox) may be plain http, as for Salesforce's instance_url.
            raise ValueError(
                f"{value!r} uses plain http, which would send the API token in clear text "
                f"to {host}: write https://{host} (plain http is for a server on this "
                "machine only, such as the sandbox on 127.0.0.1)"
            )
        return value

    @field_validator("subdomain")
    @classmethod
    def _subdomain_word(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}", value):
            raise ValueError(
                f"subdomain {value!r} is not a subdomain: write only its first part, e.g. "
                'subdomain = "acme" for https://acme.zendesk.com (a full address goes in '
                "base_url)"
            )
        return value

    @field_validator("survey_locale")
    @classmethod
    def _locale_word(cls, value: str) -> str:
        # It becomes a path segment of the survey endpoints.
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", value):
            raise ValueError(
                f"survey_locale {value!r} is not a locale: use a lower-case one such as "
                '"en-us" or "de"'
            )
        return value


# A Salesforce object or field API name (`Case`, `Score__c`, `ns__Survey__c`): these go into
# SOQL text, so nothing else (no quote, dot, space or operator) may pass.
SALESFORCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
_SALESFORCE_NAME_KEYS = (
    "csat_object",
    "csat_case_field",
    "csat_score_field",
    "csat_comment_field",
    "csat_date_field",
)
# Which settings each way of logging in needs (research: simple-salesforce login flows).
_AUTH_NEEDS = {
    "password": ("username", "password_env", "security_token_env"),
    "client_credentials": ("client_id", "client_secret_env"),
    "jwt": ("username", "client_id", "private_key_env"),
}


class SalesforceSourceSettings(_SourceSection):
    type: Literal["salesforce"] = "salesforce"
    # https://yourcompany.my.salesforce.com, or http://127.0.0.1:PORT for the sandbox.
    instance_url: str = ""
    auth: Literal["password", "client_credentials", "jwt"] = "password"
    username: str = ""
    client_id: str = ""
    # Secrets: the names of the environment variables that hold them, never the values.
    password_env: str = "SALESFORCE_PASSWORD"
    security_token_env: str = "SALESFORCE_SECURITY_TOKEN"
    client_secret_env: str = "SALESFORCE_CLIENT_SECRET"
    private_key_env: str = "SALESFORCE_PRIVATE_KEY"
    api_version: str = "62.0"
    # CSAT from a custom object with a case lookup (csat_object set), or from Feedback
    # Management (csat_question: the question's name); at most one of them.
    csat_object: str = ""
    csat_case_field: str = "Case__c"
    csat_score_field: str = "Score__c"
    csat_comment_field: str = "Comment__c"
    csat_date_field: str = "CreatedDate"
    csat_question: str = ""
    bulk_threshold: int = Field(10000, ge=0)
    bulk_page_records: int = Field(10000, ge=100, le=100000)  # rows of one Bulk result page
    max_allowance_share: float = Field(0.5, gt=0, le=1)
    customer_hash_key_env: str = "DESKMETRICS_CUSTOMER_HASH_KEY"

    _env = field_validator(
        "password_env",
        "security_token_env",
        "client_secret_env",
        "private_key_env",
        "customer_hash_key_env",
    )(_required_env_name)

    @field_validator(*_SALESFORCE_NAME_KEYS)
    @classmethod
    def _api_name(cls, value: str) -> str:
        if value and not SALESFORCE_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a Salesforce API name: write the object or field name as "
                "in Setup, letters, digits and _ only, starting with a letter (e.g. Score__c)"
            )
        return value

    @field_validator("instance_url")
    @classmethod
    def _instance(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?", value):
            raise ValueError(
                f"{value!r} is not a Salesforce address: write https://yourcompany.my."
                "salesforce.com (or http://127.0.0.1:PORT for the sandbox), no path"
            )
        host = urlsplit(value).hostname or ""
        if value.lower().startswith("http://") and not _is_loopback(host):
            # The login would send the password and token, and every request the session
            # id, in clear text: only a server on this machine (the sandbox) may be plain.
            raise ValueError(
                f"{value!r} uses plain http, which would send the org's credentials in clear "
                f"text to {host}: write https://{host} (plain http is for a server on this "
                "machine only, such as the sandbox on 127.0.0.1)"
            )
        if host.lower() in ("login.salesforce.com", "test.salesforce.com"):
            # The login host serves no org's data, and a client-credentials login needs
            # the My Domain: every request after the login would fail.
            raise ValueError(
                f"{value!r} is Salesforce's login address, not the org's: write its My "
                "Domain, https://yourcompany.my.salesforce.com (a sandbox org: "
                "https://yourcompany--sandboxname.sandbox.my.salesforce.com), as Setup > "
                "My Domain shows it"
            )
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]{2,3}\.0", value):
            raise ValueError(f'{value!r} is not an API version: write it as "62.0"')
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SalesforceSourceSettings:
        for key in ("instance_url", *_AUTH_NEEDS[self.auth]):
            if not getattr(self, key):
                raise ValueError(f'{key} is empty, and auth = "{self.auth}" needs it')
        if self.csat_object and self.csat_question:
            raise ValueError(
                "csat_object and csat_question are both set: CSAT comes from one of them, a "
                "custom object or a Feedback Management question; clear the other"
            )
        return self


def _is_loopback(host: str) -> bool:
    """Whether `host` is this machine: `localhost`, or an address in 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# One `[sources.NAME]` table, told apart by its `type` (connectors/registry.py).
SourceSettings = Annotated[
    ZendeskSourceSettings | SalesforceSourceSettings, Field(discriminator="type")
]


SOURCE_MODELS: dict[str, type[BaseModel]] = {
    "zendesk": ZendeskSourceSettings,
    "salesforce": SalesforceSourceSettings,
}


class Settings(_Section):
    timezone: str = "UTC"
    database: DatabaseSettings = DatabaseSettings()
    fcr: FcrSettings = FcrSettings()
    csat: CsatSettings = CsatSettings()
    report: ReportSettings = ReportSettings()
    http: HttpSettings = HttpSettings()
    sync: SyncSettings = SyncSettings()
    leases: LeaseSettings = LeaseSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    status: StatusSettings = StatusSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    # The settings file's folder, which a relative SQLite path is relative to; not a key of
    # the file (load_settings sets it; settings built in code leave it None: the current folder).
    _folder: Path | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
            ) from None
        return value

    @field_validator("sources", mode="before")
    @classmethod
    def _typed_sources(cls, value: object) -> object:
        """A table without `type` is of the default type (settings from before types)."""
        if not isinstance(value, dict):
            return value
        return {
            name: {"type": DEFAULT_TYPE, **table} if isinstance(table, dict) else table
            for name, table in value.items()
        }

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        for name in value:
            if not name.replace("_", "").isalnum() or len(name) > 64:
                raise ValueError(f"source name {name!r} must be letters, digits and _")
        return value

    def scoring(self) -> ScoringSettings:
        if self.csat.scale_max <= self.csat.scale_min:
            raise ConfigError(
                f"csat.scale_max ({self.csat.scale_max}) must be above csat.scale_min "
                f"({self.csat.scale_min}); fix [csat] in the settings file."
            )
        return ScoringSettings(
            timezone=self.timezone,
            repeat_window_hours=self.fcr.repeat_window_hours,
            transfer_breaks_fcr=self.fcr.transfer_breaks_fcr,
            csat_scale_min=self.csat.scale_min,
            csat_scale_max=self.csat.scale_max,
            csat_satisfied_threshold=self.csat.satisfied_threshold,
            min_sample=self.report.min_sample,
        )

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.http.max_attempts,
            max_wait_seconds=self.http.max_wait_seconds,
            backoff_initial_seconds=self.http.backoff_initial_seconds,
            backoff_max_seconds=self.http.backoff_max_seconds,
            timeout_seconds=self.http.timeout_seconds,
            connect_timeout_seconds=self.http.connect_timeout_seconds,
            deadline_seconds=self.http.deadline_seconds,
            max_quota_share=self.http.max_quota_share,
        )

    def sync_schedule(self, name: str) -> SyncSchedule:
        """The source's own cron or interval if it has one, else the [schedule] default."""
        source = self.sources[name]
        if source.sync_cron or source.sync_interval_minutes:
            return SyncSchedule(source.sync_cron, source.sync_interval_minutes)
        return SyncSchedule(self.schedule.sync_cron, self.schedule.sync_interval_minutes)

    def enabled_sources(self, only: str | None = None) -> list[str]:
        if only is not None:
            if only not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none"
                raise ConfigError(
                    f"no source named {only!r} in the settings (configured: {known}); add a "
                    f"[sources.{only}] section or pick one of those."
                )
            return [only]
        return [name for name, source in sorted(self.sources.items()) if source.enabled]

    def sources_to_read(self, only: str | None = None) -> list[str]:
        """`enabled_sources`, where none is a ConfigError: a sync or a schedule that reads
        nothing would otherwise exit 0 and look like it worked."""
        names = self.enabled_sources(only)
        if not names:
            raise ConfigError(NO_ENABLED_SOURCE)
        return names

    def source_config(self, name: str, environ: dict[str, str] | None = None) -> SourceConfig:
        """The connector config of source `name`, of its type (connectors/registry.py)."""
        source = self.sources[name]
        readable(source.type, name)
        if isinstance(source, SalesforceSourceSettings):
            return self.salesforce_config(name, environ)
        return self.zendesk_config(name, environ)

    def salesforce_config(
        self, name: str, environ: dict[str, str] | None = None
    ) -> SalesforceConfig:
        """The connector config of Salesforce source `name`, its secrets read from the
        environment variables the settings name (never from the settings file)."""
        environ = dict(os.environ) if environ is None else environ
        source = self.sources[name]
        if not isinstance(source, SalesforceSourceSettings):
            raise ConfigError(f"source {name!r} is of type {source.type!r}, not salesforce.")
        keys = _SECRET_KEYS[source.auth]
        secrets = {key: _secret(environ, name, key, getattr(source, key)) for key in keys}
        hash_key = _secret(environ, name, "customer_hash_key_env", source.customer_hash_key_env)
        return SalesforceConfig(
            source=name,
            instance_url=source.instance_url.rstrip("/"),
            auth=source.auth,
            customer_hash_key=hash_key.encode("utf-8"),
            username=source.username,
            client_id=source.client_id,
            password=secrets.get("password_env", ""),
            security_token=secrets.get("security_token_env", ""),
            client_secret=secrets.get("client_secret_env", ""),
            private_key=secrets.get("private_key_env", ""),
            secret_envs=" and ".join(_variable(getattr(source, key)) for key in keys),
            api_version=source.api_version,
            csat_object=source.csat_object,
            csat_case_field=source.csat_case_field,
            csat_score_field=source.csat_score_field,
            csat_comment_field=source.csat_comment_field,
            csat_date_field=source.csat_date_field,
            day_zone=self.timezone,
            csat_question=source.csat_question,
            bulk_threshold=source.bulk_threshold,
            bulk_page_records=source.bulk_page_records,
            max_allowance_share=source.max_allowance_share,
            bad_records=source.bad_records,
            overlap=timedelta(minutes=self.sync.overlap_minutes),
            max_empty_pages=self.sync.max_empty_pages,
        )

    def zendesk_config(self, name: str, environ: dict[str, str] | None = None) -> ZendeskConfig:
        """The connector config of Zendesk source `name`, its token read from the environment."""
        environ = dict(os.environ) if environ is None else environ
        source = self.sources[name]
        if not isinstance(source, ZendeskSourceSettings):
            readable(source.type, name)
            raise ConfigError(f"source {name!r} is of type {source.type!r}, not zendesk.")
        token = environ.get(source.token_env, "")
        if not token:
            raise ConfigError(
                f"source {name!r}: no API token. Set the environment variable "
                f"{_variable(source.token_env)} (named by sources.{name}.token_env) to a "
                "Zendesk API token; the settings file itself never holds it."
            )
        if not source.email:
            raise ConfigError(
                f"source {name!r}: sources.{name}.email is empty; set it to the e-mail of "
                "the Zendesk user the API token belongs to."
            )
        return ZendeskConfig(
            source=name,
            subdomain=source.subdomain,
            email=source.email,
            token=token,
            base_url=source.base_url or None,
            token_env=source.token_env,
            overlap=timedelta(minutes=self.sync.overlap_minutes),
            max_empty_pages=self.sync.max_empty_pages,
            bad_records=source.bad_records,
            csat=source.csat,
            survey_locale=source.survey_locale,
        )

    def database_url(self, environ: dict[str, str] | None = None) -> str:
        """`database.url` as it is opened: a relative SQLite path is taken relative to the
        settings file's folder (not the folder the command runs in, which differs under
        cron), and the password from `database.password_env` is put in."""
        environ = dict(os.environ) if environ is None else environ
        url = _parsed_database_url(self.database.url)
        in_folder = _sqlite_path_in(url, self._folder)
        if not self.database.password_env:
            # Every other URL is used exactly as written.
            return self.database.url if in_folder is None else _rendered(in_folder)
        password = environ.get(self.database.password_env)
        if not password:
            raise ConfigError(
                f"database.password_env names {self.database.password_env}, which is not "
                "set; export it or clear database.password_env."
            )
        return _rendered((in_folder or url).set(password=password))


def _parsed_database_url(text: str) -> URL:
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        # Neither the URL nor the parser's words are repeated: a password written into the
        # URL may be part of what broke it, and an error never shows a secret.
        raise ConfigError(
            "database.url is not a database URL SQLAlchemy can read (for example its scheme "
            "is missing, or its port is not a number). Write it as "
            "sqlite:///deskmetrics.sqlite (a path relative to the settings file's folder), "
            "sqlite:////absolute/path.sqlite or postgresql+psycopg://user@host/dbname, and put "
            "the password in the environment variable that database.password_env names."
        ) from None


def _sqlite_path_in(url: URL, folder: Path | None) -> URL | None:
    """The SQLite `url` with its relative file path put in `folder`; None when there is
    nothing to change (another database, no folder, in memory, an absolute path, or a
    `file:` URI filename, which SQLite reads itself)."""
    path = url.database
    if folder is None or url.get_backend_name() != "sqlite" or not path:
        return None
    if path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return None
    return url.set(database=str(folder / path))


def _rendered(url: URL) -> str:
    return url.render_as_string(hide_password=False)


# The settings keys naming each login's secrets (their environment variables).
_SECRET_KEYS = {
    "password": ("password_env", "security_token_env"),
    "client_credentials": ("client_secret_env",),
    "jwt": ("private_key_env",),
}


def _variable(name: str) -> str:
    """An environment variable as a message names it: by its name when that is written as
    variables' names are (upper case, digits, _), else not at all, since a mixed-case
    "name" may be a secret pasted in its place."""
    if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
        return name
    return "(its name not shown: is a secret written there instead of a name?)"


# Secrets an org may rightly not have: a login from a trusted IP range, or an org that
# does not ask for one, needs no security token. Set and empty, it is sent as nothing.
MAY_BE_EMPTY = frozenset({"security_token_env"})


def _secret(environ: dict[str, str], source: str, key: str, variable: str) -> str:
    """The value of the environment variable `variable` (named by sources.SOURCE.KEY); a
    `ConfigError` naming the variable, never a value, when it is unset, or empty where
    an empty value cannot be meant (`MAY_BE_EMPTY`)."""
    value = environ.get(variable, "")
    if key in MAY_BE_EMPTY and variable in environ:
        return value
    if not value:
        raise ConfigError(
            f"source {source!r}: the environment variable {_variable(variable)} (named by "
            f"sources.{source}.{key}) is not set; set it to the secret, which the settings "
            "file itself never holds."
        )
    return value


def load_settings(path: Path | None) -> Settings:
    """Read settings from `path` (default ./settings.toml); a clear error if it cannot.

    The settings remember the file's folder: a relative SQLite path in `database.url`
    is relative to it (`Settings.database_url`).
    """
    where = path or DEFAULT_PATH
    if not where.exists():
        raise ConfigError(
            f"no settings file at {where}. Copy settings.toml from the deskmetrics "
            "repository, fill in [sources.zendesk], and pass it with --config PATH "
            "(or run `deskmetrics demo`, which needs none)."
        )
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as unreadable:
        raise ConfigError(
            f"the settings file {where} cannot be read ({unreadable.strerror or unreadable}): "
            "give the path of a readable file with --config."
        ) from None
    except UnicodeDecodeError as bad:
        raise ConfigError(f"{where} is not UTF-8 text ({bad.reason}): save it as UTF-8.") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as bad:
        raise ConfigError(f"{where} is not valid TOML: {bad}. Fix the line it names.") from None
    settings = settings_from(raw, str(where))
    settings._folder = where.absolute().parent
    return settings


def settings_from(raw: dict[str, object], where: str = "settings") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as bad:
        problems = settings_problems(bad, Settings, SOURCE_MODELS)
        fix = "Fix it" if len(problems) == 1 else f"Fix these {len(problems)}"
        raise ConfigError(f"{where}: {'; '.join(problems)}. {fix} in the settings file.") from None
