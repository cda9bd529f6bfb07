"""The Salesforce side of the HTTP policy: where requests go, what an answer means, logging in.

simple-salesforce builds every URL as `https://{host}/...`, whatever scheme the instance
has (research/salesforce-api.md 1.1): `SalesforceSession` sends those to the configured
instance (plain http for a server on 127.0.0.1) and nowhere else, and sends the login to
the instance too: the instance is the org's My Domain, which serves the SOAP and OAuth
logins (a login host elsewhere is never asked).

Its response hook sorts every answer before simple-salesforce sees it, as `connectors.http`
does for Zendesk: 429 and 5xx are retried by the one retry policy, a body is read under the
whole-response deadline and JSON parsed once. Salesforce's errors are JSON arrays of
`{"errorCode", "message"}` (1.5), sorted by code: `INVALID_SESSION_ID` (401) is a
`SessionExpiredError` the connector answers by logging in again once;
`REQUEST_LIMIT_EXCEEDED` (403) an `AllowanceExhaustedError`, never retried (the daily
allowance does not come back by waiting); `QUERY_TIMEOUT` and `INVALID_QUERY_LOCATOR` errors
of their own, which the connector answers by a smaller window or a fresh query. Every
answer's `Sforce-Limit-Info: api-usage=N/M` is kept (`Allowance`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.dom import minidom
from xml.parsers.expat import ExpatError

import requests
from jwt.exceptions import PyJWTError
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from connectors.http import (
    ApiUsage,
    RetryPolicy,
    call_with_retries,
    note_server_clock,
    response_bound,
    retry_after_seconds,
    timed_session,
)
from connectors.salesforce_config import SalesforceConfig
from connectors.wire import (
    MAX_JSON_DEPTH,
    ForeignOriginError,
    OriginBoundSession,
    ParsedResponse,
    RetriableHTTPError,
    json_depth_exceeds,
    loaded_json,
    origin_of,
    read_body,
    refuse_unfollowed_redirect,
    server_text,
)
from interactions import AllowanceExhaustedError, AuthenticationError, ConfigError, SourceError

_LOGIN_PATHS = ("/services/Soap/", "/services/oauth2/")
# The logins, whose refusal is the credentials' (`userinfo`, also under oauth2/, is not one).
_SESSION_PATHS = ("/services/Soap/", "/services/oauth2/token")
# The org's figures, not `per-app-api-usage=` (another count); a header with a number no
# allowance has is dropped before it is read (`_drop_unreadable_limit_info`).
_LIMIT_INFO = re.compile(r"(?<![-\w])api-usage=(\d+)/(\d+)")


class SessionExpiredError(AuthenticationError):
    """401 `INVALID_SESSION_ID`: the session timed out or was revoked; log in again."""


class QueryTimeoutError(SourceError):
    """400 `QUERY_TIMEOUT`: the query ran too long; a smaller window may not."""


class QueryLocatorError(SourceError):
    """400 `INVALID_QUERY_LOCATOR`: the next-page link expired; query again from the last
    record stored."""


class BulkJobGoneError(SourceError):
    """404 on a Bulk job: it expired (7 days) or was deleted; query again."""


@dataclass
class Allowance:
    """The org's daily API allowance as `Sforce-Limit-Info` last said, and where this run
    began in it."""

    used: int | None = None
    limit: int | None = None
    used_at_start: int | None = None

    def note(self, headers: Any, counted: bool) -> None:
        """Keep what an answer's header says; `counted`: its request used a unit (a login
        does not)."""
        found = _LIMIT_INFO.search(headers.get("Sforce-Limit-Info") or "")
        if found is None:
            return
        self.used, self.limit = int(found.group(1)), int(found.group(2))
        if self.used_at_start is None:
            self.used_at_start = self.used - 1 if counted else self.used

    def used_by_run(self) -> int:
        if self.used is None or self.used_at_start is None:
            return 0
        return self.used - self.used_at_start

    def shown(self) -> str:
        if self.used is None or self.limit is None:
            return "daily API allowance not reported"
        return (
            f"daily API allowance {self.used}/{self.limit} used ({self.used_by_run()} by this run)"
        )


@dataclass
class SalesforceUsage(ApiUsage):
    """Requests of one connector, with the org's daily allowance beside them."""

    allowance: Allowance | None = None

    def summary(self) -> str:
        base = super().summary()
        return f"{base}; {self.allowance.shown()}" if self.allowance else base


class SalesforceSession(OriginBoundSession):
    """Sends simple-salesforce's `https://{instance}` and `https://{domain}.salesforce.com`
    URLs to the configured instance, with the instance's own scheme (research 1.2, A)."""

    def __init__(self, source: str, instance_url: str, login_host: str) -> None:
        super().__init__(source, instance_url)
        self._instance = instance_url.rstrip("/")
        host = urlsplit(self._instance).netloc
        self._rewritten = re.compile(
            rf"^https://(?:{re.escape(host)}|{re.escape(login_host)})(?=/|$)", re.IGNORECASE
        )

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        target = url.decode() if isinstance(url, bytes) else url
        return super().request(method, self._rewritten.sub(self._instance, target), *args, **kwargs)


def login_domain(instance_url: str) -> str:
    """simple-salesforce's `domain` for the login: `acme.my` of `https://acme.my.salesforce.com`
    (the My Domain logs in); any other address (a local server) gets a stand-in, and the
    session sends the login to that address anyway."""
    host = urlsplit(instance_url).hostname or ""
    if host.endswith(".salesforce.com"):
        return host.removesuffix(".salesforce.com")
    return "deskmetrics-instance.my"


def salesforce_session(
    config: SalesforceConfig, usage: SalesforceUsage, policy: RetryPolicy
) -> SalesforceSession:
    """A session whose every answer is counted, read, checked and sorted before the client."""
    session = timed_session(
        SalesforceSession(
            config.source,
            config.instance_url,
            f"{login_domain(config.instance_url)}.salesforce.com",
        ),
        policy,
    )
    session.trust_env = False  # no proxy or CA bundle from the environment decides the route
    allowance = usage.allowance = usage.allowance or Allowance()

    def sort_response(response: requests.Response, *args: Any, **kwargs: Any) -> Any:
        usage.requests += 1
        path = response.request.path_url.split("?", 1)[0] if response.request else "?"
        usage.by_path[_path_kind(path)] = usage.by_path.get(_path_kind(path), 0) + 1
        note_server_clock(usage, response.headers)
        _drop_unreadable_limit_info(response.headers)
        allowance.note(response.headers, counted=not path.startswith(_LOGIN_PATHS))
        status = response.status_code
        where = f"{config.source}: {response.request.method if response.request else 'GET'} {path}"
        if response.is_redirect:
            target = urljoin(response.url, response.headers["location"])
            if origin_of(target) != session.origin:
                response.close()
                raise ForeignOriginError(session.refusal(target, "a redirect"))
        if status == 429 or (status >= 500 and not path.startswith(_SESSION_PATHS)):
            response.close()
            raise RetriableHTTPError(
                f"{where} failed with {status}", retry_after_seconds(response.headers)
            )
        refuse_unfollowed_redirect(response, where)
        seconds, bound = response_bound(policy)
        body = read_body(response, seconds, kwargs.get("timeout"), where, bound)
        if response.is_redirect:
            return None  # to the same server: requests follows it, through `send` again
        if status >= 500 and b"faultcode" not in body:
            # A login server's outage, not a SOAP fault about the credentials.
            raise RetriableHTTPError(f"{where} failed with {status}")
        if status >= 400:
            raise _refusal(config, status, body, where, path)
        return _parsed(response, body, where, path)

    session.hooks["response"].append(sort_response)
    return session


# A number of more digits than any allowance: int() of it (ours, or simple-salesforce's when
# it reads the header) fails past 4,300 digits, and is no figure before that.
_LONG_NUMBER = re.compile(r"\d{16}")


def _drop_unreadable_limit_info(headers: Any) -> None:
    """`Sforce-Limit-Info` left out of an answer when it holds a number no allowance has:
    the client library reads the header too, and would fail on it with a traceback."""
    if _LONG_NUMBER.search(headers.get("Sforce-Limit-Info") or ""):
        del headers["Sforce-Limit-Info"]


def _path_kind(path: str) -> str:
    """The path without ids and locators (`/services/data/v62.0/query`), for the run's tally."""
    return re.sub(r"/(query|jobs/query)/[^/]+", r"/\1/…", path)


def _error_code(body: bytes) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body, ("", "") when it is not one."""
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        return "", ""
    try:
        value = json.loads(body)
    except ValueError:
        return "", ""
    first = value[0] if isinstance(value, list) and value else value
    if not isinstance(first, dict):
        return "", ""
    code = first.get("errorCode") or first.get("error") or ""
    message = first.get("message") or first.get("error_description") or ""
    return server_text(code, 100), server_text(message, 300)


# A SOAP login fault's code, e.g. <faultcode>sf:API_CURRENTLY_DISABLED</faultcode>.
_SOAP_FAULT = re.compile(rb"<faultcode>(?:[\w.-]+:)?([A-Z_]{3,60})</faultcode>")
# What to do about the login faults that are not a wrong password (SOAP API guide,
# "Login faults"); any other code gets the credentials' advice.
LOGIN_FAULTS = {
    "API_CURRENTLY_DISABLED": "The user may not use the API: give its profile or a "
    'permission set "API Enabled" (and the org an edition with API access).',
    "API_DISABLED_FOR_ORG": "The org's edition has no API access: it needs Enterprise, "
    "Unlimited, Performance or Developer Edition, or API access bought for it.",
    "LOGIN_MUST_USE_SECURITY_TOKEN": "This login needs the user's security token: set the "
    "variable security_token_env names (reset it under the user's settings, Reset My "
    "Security Token), or add this machine's IP range to the trusted ones.",
    "PASSWORD_LOCKOUT": "The user is locked out after failed logins: unlock it in Setup > "
    "Users, or wait for the lockout to end, then check the password variable.",
    "INVALID_OPERATION_WITH_EXPIRED_PASSWORD": "The user's password has expired: set a new "
    "one (and its variable), or give the integration user a password that never expires.",
    "UNSUPPORTED_API_VERSION": "The org does not serve this API version: set "
    "api_version to one it lists at /services/data.",
}


# Salesforce's INVALID_FIELD: "... No such column 'SuppliedEmail' on entity 'Case'. ..."
_NO_SUCH_COLUMN = re.compile(r"No such column '(\w{1,80})' on entity '(\w{1,80})'")


def _error_message(body: bytes) -> str:
    """The whole `message` of an error body (the shown one is cut short)."""
    try:
        value = json.loads(body)
    except ValueError:
        return ""
    first = value[0] if isinstance(value, list) and value else value
    message = first.get("message") if isinstance(first, dict) else None
    return message if isinstance(message, str) else ""


def _refusal(
    config: SalesforceConfig, status: int, body: bytes, where: str, path: str
) -> Exception:
    code, message = _error_code(body)
    if path.startswith(_SESSION_PATHS):
        # A SOAP fault or an OAuth error: the credentials, never their values.
        fault = _SOAP_FAULT.search(body)
        shown = code or (fault.group(1).decode() if fault else str(status))
        fix = LOGIN_FAULTS.get(
            shown,
            f"Check sources.{config.source}.auth ({config.auth}), its username / client_id, "
            f"and {config.secret_envs}.",
        )
        return AuthenticationError(f"{where}: Salesforce refused the login ({shown}). {fix}")
    if status == 401:
        return SessionExpiredError(f"{where}: the session is no longer valid ({code or 401}).")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return AllowanceExhaustedError(
            f"{where}: Salesforce refused the request: the org's daily API allowance is used "
            "up (REQUEST_LIMIT_EXCEEDED). Everything read so far is stored with its cursor; "
            "run again once the rolling 24-hour allowance has room (Setup > Company "
            "Information shows it), or lower max_allowance_share so runs leave room."
        )
    if code == "QUERY_TIMEOUT":
        return QueryTimeoutError(f"{where}: the query timed out at Salesforce ({message}).")
    if code == "INVALID_QUERY_LOCATOR":
        return QueryLocatorError(f"{where}: the next-page link expired ({message}).")
    if status == 404 and "/jobs/query/" in path:
        return BulkJobGoneError(f"{where}: the Bulk query job is gone ({code or 404}).")
    if status == 403:
        return AuthenticationError(
            f"{where} was refused ({code or 403}: {message}): the API user lacks the right "
            f"to read this. Give the user of sources.{config.source} the 'API Enabled' "
            "permission and read access to Case, CaseHistory, User and the CSAT object."
        )
    if code in ("INVALID_FIELD", "INVALID_TYPE", "NOT_FOUND") or status == 404:
        # The message begins with the whole query; the column it names is at its end.
        missing = _NO_SUCH_COLUMN.search(_error_message(body))
        if missing is not None:
            field, entity = missing.group(1), missing.group(2)
            return ConfigError(
                f"{where}: the API user cannot read the field {field} of {entity} "
                f"({code}): it does not exist in this org, or field-level security hides it "
                f"from the user of sources.{config.source}. Give that user read access to "
                f"{entity}.{field} (Setup > Object Manager > {entity} > Fields), or fix the "
                "csat_* setting that names it."
            )
        return ConfigError(
            f"{where}: Salesforce does not know an object or field deskmetrics asked for "
            f"({code or status}: {message}). Check the csat_* settings of "
            f"sources.{config.source} against Setup > Object Manager, and that the API "
            "user may read them (field-level security hides a field it may not)."
        )
    return SourceError(
        f"{where} was rejected ({status} {code}: {message}). This is a request deskmetrics "
        "should not have made; please report it."
    )


# Put by the hook where a Bulk result page came without `Sforce-Locator`: whether that page
# was the last one only the job's record count can say (connectors/salesforce_bulk.py).
LOCATOR_NOT_GIVEN = "deskmetrics:no-locator-header"


def _parsed(
    response: requests.Response, body: bytes, where: str, path: str
) -> requests.Response | None:
    """JSON answers parsed once and checked; CSV (Bulk results) checked and passed on as is,
    XML (SOAP login) as is. What a second try may cure is a `RetriableHTTPError`."""
    kind = response.headers.get("Content-Type", "").lower()
    if path.startswith(_SESSION_PATHS):
        _check_login_answer(body, where, path)
        return None
    if "csv" in kind:
        _check_result_page(response, body, where)
        return None
    if "xml" in kind:
        return None
    value = loaded_json(body, where)
    if not isinstance(value, dict):
        raise RetriableHTTPError(f"{where} answered with a JSON {type(value).__name__}")
    records = value.get("records")
    if records is not None and (
        not isinstance(records, list) or not all(isinstance(r, dict) for r in records)
    ):
        raise RetriableHTTPError(f"{where} answered with records that are not objects")
    if _QUERY_PATH.search(path):
        _check_query_page(value, where)
    if "totalSize" in value and (
        not isinstance(value["totalSize"], int) or isinstance(value["totalSize"], bool)
    ):
        raise RetriableHTTPError(f"{where} gave a totalSize that is not a number")
    parsed = ParsedResponse()
    parsed.__dict__.update(response.__dict__)
    parsed.parsed = value
    return parsed


def _check_login_answer(body: bytes, where: str, path: str) -> None:
    """A login's 200 answer holds a session as simple-salesforce reads it: SOAP XML with a
    `sessionId` and a `serverUrl`, or OAuth JSON with an `access_token` and an
    `instance_url`. Anything else (a proxy's page, a body cut short) would fail inside the
    library with a traceback."""
    if path.startswith("/services/Soap/"):
        try:
            document = minidom.parseString(body)
        except ExpatError:
            raise RetriableHTTPError(
                f"{where} answered the login with text that is not XML"
            ) from None
        given = all(document.getElementsByTagName(name) for name in ("sessionId", "serverUrl"))
    else:
        answer = loaded_json(body, where)
        given = isinstance(answer, dict) and all(
            isinstance(answer.get(name), str) and answer[name]
            for name in ("access_token", "instance_url")
        )
    if not given:
        raise RetriableHTTPError(f"{where} answered the login without a session in it")


# REST query pages: `query/`, `queryAll/` and their `query/{locator}-{offset}` next pages.
_QUERY_PATH = re.compile(r"/services/data/v[^/]+/query(?:All)?(?:/|$)")


def _check_query_page(page: dict[str, Any], where: str) -> None:
    """A query page is complete only when it says so: `done: true`, or a `nextRecordsUrl`
    to the rest (then `done` is set false for whoever reads it). Anything else is a page
    cut short (research/salesforce-api.md 1.3): taking it as the last would end the window
    with records unread."""
    link = page.get("nextRecordsUrl")
    if link is not None and not isinstance(link, str):
        raise RetriableHTTPError(f"{where} gave a nextRecordsUrl that is not text")
    if isinstance(link, str) and not link.startswith("/services/data/"):
        # simple-salesforce puts the instance before it: only a path of the instance will do.
        raise RetriableHTTPError(f"{where} gave a nextRecordsUrl that is not a query path")
    done = page.get("done")
    if done is True:
        return
    if done not in (False, None):
        raise RetriableHTTPError(f"{where} gave a done that is not true or false")
    if link is None:
        raise RetriableHTTPError(
            f"{where} says neither that it is done nor where the rest is (no done: true, "
            "no nextRecordsUrl): a page cut short"
        )
    page["done"] = False


def _check_result_page(response: requests.Response, body: bytes, where: str) -> None:
    """A Bulk result page: its record count a number, its text UTF-8; a missing locator
    header marked (`LOCATOR_NOT_GIVEN`) for the reader to check against the job's count."""
    count = response.headers.get("Sforce-NumberOfRecords")
    if count is None or not count.strip().isdigit():
        shown = "no" if count is None else f"an unreadable ({count[:20]!r})"
        raise RetriableHTTPError(f"{where} sent a Bulk result page with {shown} record count")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise RetriableHTTPError(
            f"{where} sent a Bulk result page that is not UTF-8 text (at byte {bad.start})"
        ) from None
    if "Sforce-Locator" not in response.headers:
        response.headers["Sforce-Locator"] = LOCATOR_NOT_GIVEN


def logged_in(
    config: SalesforceConfig, session: SalesforceSession, policy: RetryPolicy, usage: ApiUsage
) -> str:
    """A session id for `config.auth`, through simple-salesforce's login (SOAP with the
    security token, OAuth client credentials against the My Domain, or a JWT bearer)."""
    # simple-salesforce picks the login flow by which arguments it is given (research 1.6).
    credentials: dict[str, dict[str, Any]] = {
        "password": {
            "username": config.username,
            "password": config.password,
            "security_token": config.security_token,
        },
        "client_credentials": {
            "consumer_key": config.client_id,
            "consumer_secret": config.client_secret,
        },
        "jwt": {
            "username": config.username,
            "consumer_key": config.client_id,
            "privatekey": config.private_key,
        },
    }

    def login() -> tuple[str, str]:
        return SalesforceLogin(
            **credentials[config.auth],
            domain=login_domain(config.instance_url),
            session=session,
            sf_version=config.api_version,
        )

    try:
        session_id, _instance = call_with_retries(
            f"{config.source}: login ({config.auth})", login, policy, usage
        )
    except SalesforceAuthenticationFailed as refused:
        raise AuthenticationError(
            f"{config.source}: Salesforce refused the login ({refused.code}). Check "
            f"sources.{config.source}.auth ({config.auth}), its username / client_id, and "
            f"{config.secret_envs}."
        ) from None
    except (ValueError, PyJWTError) as unusable:  # a private key that does not parse
        raise ConfigError(
            f"{config.source}: the {config.auth} login could not be made "
            f"({type(unusable).__name__}); check the private key in {config.secret_envs}."
        ) from None
    # The session id is used with the configured instance only (never an address an answer
    # names), so the credentials stay with the org they were given for.
    return str(session_id)
