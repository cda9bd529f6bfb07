"""Settings: `settings.toml` read and checked, secrets taken from the environment.

The file never holds a secret, only the *name* of the environment variable that does
(`token_env`, `password_env`). Every key has a default here, and `settings.toml` at the
repository root documents each one with that default (a test keeps the two equal). Bad
values become one `ConfigError` that names the key, the problem and the fix.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from connectors.http import RetryPolicy
from connectors.zendesk import ZendeskConfig
from interactions import ConfigError
from scoring import ScoringSettings

DEFAULT_PATH = Path("settings.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///deskmetrics.sqlite"
    password_env: str = ""


class FcrSettings(_Section):
    repeat_window_hours: float = Field(72.0, gt=0)
    transfer_breaks_fcr: bool = False


class CsatSettings(_Section):
    scale_min: float = 1.0
    scale_max: float = 5.0
    satisfied_threshold: float = 4.0


class ReportSettings(_Section):
    min_sample: int = Field(30, ge=1)


class HttpSettings(_Section):
    timeout_seconds: float = Field(60.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    max_wait_seconds: float = Field(600.0, ge=0)
    max_quota_share: float = Field(0.5, gt=0, le=1)


class SyncSettings(_Section):
    initial_lookback_days: int = Field(90, ge=1)
    overlap_minutes: float = Field(5.0, ge=0)


class ZendeskSourceSettings(_Section):
    type: Literal["zendesk"] = "zendesk"
    enabled: bool = True
    subdomain: str = ""
    base_url: str = ""
    email: str = ""
    token_env: str = "ZENDESK_API_TOKEN"
    ratings_lookback_days: float = Field(14.0, ge=0)


class Settings(_Section):
    timezone: str = "UTC"
    database: DatabaseSettings = DatabaseSettings()
    fcr: FcrSettings = FcrSettings()
    csat: CsatSettings = CsatSettings()
    report: ReportSettings = ReportSettings()
    http: HttpSettings = HttpSettings()
    sync: SyncSettings = SyncSettings()
    sources: dict[str, ZendeskSourceSettings] = Field(default_factory=dict)

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

    @field_validator("sources")
    @classmethod
    def _source_names(
        cls, value: dict[str, ZendeskSourceSettings]
    ) -> dict[str, ZendeskSourceSettings]:
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
            timeout_seconds=self.http.timeout_seconds,
            max_quota_share=self.http.max_quota_share,
        )

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

    def zendesk_config(self, name: str, environ: dict[str, str] | None = None) -> ZendeskConfig:
        """The connector config of source `name`, its token read from the environment."""
        environ = dict(os.environ) if environ is None else environ
        source = self.sources[name]
        token = environ.get(source.token_env, "")
        if not token:
            raise ConfigError(
                f"source {name!r}: no API token. Set the environment variable "
                f"{source.token_env} (named by sources.{name}.token_env) to a Zendesk API "
                "token; the settings file itself never holds it."
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
            ratings_lookback=timedelta(days=source.ratings_lookback_days),
        )

    def database_url(self, environ: dict[str, str] | None = None) -> str:
        """`database.url` with the password from `database.password_env` put in."""
        environ = dict(os.environ) if environ is None else environ
        if not self.database.password_env:
            return self.database.url
        password = environ.get(self.database.password_env)
        if not password:
            raise ConfigError(
                f"database.password_env names {self.database.password_env}, which is not "
                "set; export it or clear database.password_env."
            )
        from sqlalchemy.engine import make_url

        return (
            make_url(self.database.url).set(password=password).render_as_string(hide_password=False)
        )


def load_settings(path: Path | None) -> Settings:
    """Read settings from `path` (default ./settings.toml); a clear error if it cannot."""
    where = path or DEFAULT_PATH
    if not where.exists():
        raise ConfigError(
            f"no settings file at {where}. Copy settings.toml from the deskmetrics "
            "repository, fill in [sources.zendesk], and pass it with --config PATH "
            "(or run `deskmetrics demo`, which needs none)."
        )
    try:
        raw = tomllib.loads(where.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as bad:
        raise ConfigError(f"{where} is not valid TOML: {bad}. Fix the line it names.") from None
    return settings_from(raw, str(where))


def settings_from(raw: dict[str, object], where: str = "settings") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as bad:
        first = bad.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {bad.error_count() - 1} more)" if bad.error_count() > 1 else ""
        raise ConfigError(
            f"{where}: {key}: {message}{more}. Fix it in the settings file."
        ) from None
