"""`SalesforceSandbox`: the Salesforce REST API simulator on 127.0.0.1, over a generated desk.

Owns the server lifecycle, fault injection (sandbox.wire.faults kinds, acted on by wire.py's
`Replies`; Salesforce error codes via `inject_error`, queued in injected.py) and routing:
logins (logins.py), `query`, `queryAll`, `query/{locator}-{offset}` (queries.py), Bulk API 2.0
`jobs/query...` (bulk.py), `sobjects/{Object}/describe`, `sobjects/Case/deleted/` (deleted.py),
`limits`, and the API user's
`/services/oauth2/userinfo` (its time zone, which SOQL's convertTimezone uses). Sessions and
the daily API allowance, and so the `Sforce-Limit-Info` of every answer, are access.py's.
Records come from face.py (cached per desk version), hidden while inside `commit_lag`; SOQL
from soql.py and aggregates.py.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sandbox.desk import Desk
from sandbox.salesforce import ids, logins
from sandbox.salesforce.access import Access
from sandbox.salesforce.bends import Bends
from sandbox.salesforce.bulk import DEFAULT_MAX_RECORDS, BulkJobs, Reply
from sandbox.salesforce.deleted import deleted_cases
from sandbox.salesforce.face import Face, salesforce_face
from sandbox.salesforce.injected import InjectedErrors
from sandbox.salesforce.queries import (
    JSON_TYPE,
    MAX_BATCH,
    Answer,
    QueryCursors,
    batch_size,
    error,
)
from sandbox.salesforce.schema import OBJECTS, describe
from sandbox.salesforce.short_ids import with_short_ids
from sandbox.salesforce.soql import SoqlError
from sandbox.salesforce.values import Record, sf_datetime
from sandbox.salesforce.wire import Handler, Replies
from sandbox.wire.faults import FaultQueue, InjectsFaults
from sandbox.wire.server import Server

_DATA = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<rest>.*?)/?$")


class SalesforceSandbox(InjectsFaults):
    """Serve `desk` as a Salesforce org. Use as a context manager or `start()`/`stop()`."""

    def __init__(
        self,
        desk: Desk,
        *,
        username: str = "agent@sandbox.example",
        password: str = "sandbox-password",
        security_token: str = "sandbox-token",
        consumer_key: str = "sandbox-consumer-key",
        consumer_secret: str = "sandbox-consumer-secret",
        jwt_public_key_pem: str | None = None,
        login_fault: str | None = None,
        hidden_fields: Mapping[str, frozenset[str]] | None = None,
        untracked: frozenset[str] = frozenset(),
        host: str = "127.0.0.1",
        port: int = 0,
        daily_allowance: int = 100_000,
        api_usage: int = 0,
        session_lifetime: int | None = None,
        page_size: int = MAX_BATCH,
        open_cursors: int = 10,
        bulk_polls_in_progress: int = 1,
        commit_lag: timedelta = timedelta(0),
        surveys_at_send: bool = False,
        score_history: bool = False,
        user_time_zone: str = "UTC",
        survey_versions: int = 1,
    ) -> None:
        self.desk = desk
        # The API user's time zone (TimeZoneSidKey): SOQL's convertTimezone converts to it,
        # and /services/oauth2/userinfo says it as `zoneinfo`.
        self.user_time_zone = user_time_zone
        self.credentials = logins.Credentials(
            username,
            password,
            security_token,
            consumer_key,
            consumer_secret,
            jwt_public_key_pem,
            login_fault,
        )
        # Fields field-level security hides from the API user, by object: describe leaves
        # them out and a query naming one is refused as naming no such column.
        self.hidden_fields = dict(hidden_fields or {})
        # Case fields whose history tracking is off in this org ("Owner", "Status"): their
        # changes write no CaseHistory row.
        self.untracked = untracked
        self.access = Access(session_lifetime, daily_allowance, api_usage)
        self.page_size = page_size  # the batch when the client asks for none
        # Rows stamped within `commit_lag` of the desk clock are not visible yet: they appear
        # later with their earlier stamp, as late-committing transactions do in Salesforce.
        self.commit_lag = commit_lag
        # How the org keeps its CSAT object (surveys.py): written when the survey is sent
        # (offers are records with an empty score), and with Score__c's history tracked.
        self.surveys_at_send, self.score_history = surveys_at_send, score_history
        self.survey_versions = survey_versions  # of the Feedback Management survey (feedback.py)
        self.faults = FaultQueue()
        self.bulk = BulkJobs(bulk_polls_in_progress)
        self.request_count = 0
        self._lock = threading.Lock()
        self.cursors = QueryCursors(open_cursors)
        self._errors = InjectedErrors()
        self._bends = Bends(self.cursors.alias)
        # Objects whose records are served with every Id in them (their own, and the Ids
        # they point to) in the 15-character form, as an integration or a report export
        # may give them; the org itself keeps and matches Ids whatever their form.
        self.short_ids: set[str] = set()
        self._face: tuple[int, Face] | None = None
        # Cases purged from the Recycle Bin (Id: when deleted): gone from every query, still
        # listed by Get Deleted (deleted.py). A test removes them from the served records.
        self.purged: dict[str, datetime] = {}
        self._stopping = threading.Event()
        self.replies = Replies(self.access.limit_info, self.faults, self._stopping)
        handler = type("Handler", (Handler,), {"sandbox": self})
        self._server = Server((host, port), handler)
        self._thread: threading.Thread | None = None

    # ---- lifecycle, and the org's API usage ------------------------------------------------

    @property
    def instance_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SalesforceSandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.faults.release()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SalesforceSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_usage(self) -> int:
        """Requests charged to the daily allowance so far; set it to move the day on."""
        return self.access.api_usage

    @api_usage.setter
    def api_usage(self, used: int) -> None:
        self.access.api_usage = used

    @property
    def daily_allowance(self) -> int:
        return self.access.daily_allowance

    @property
    def served(self) -> list[tuple[str, int]]:
        """(path, status) of every answer so far, in order; ("reset", 0) for a reset."""
        return self.replies.served

    # ---- sessions, faults ------------------------------------------------------------------

    def new_session(self) -> str:
        """Issue a session id, as a login does (for clients given `session_id` directly)."""
        return self.access.new_session()

    def expire_sessions(self) -> None:
        """End every session now: the next request with one is a 401 INVALID_SESSION_ID."""
        self.access.expire_sessions()

    def expire_locators(self) -> None:
        """Forget every query cursor: following a nextRecordsUrl is INVALID_QUERY_LOCATOR."""
        self.cursors.forget()

    def inject_error(
        self,
        code: str,
        status: int = 400,
        message: str | None = None,
        times: int = 1,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next `times` matching API requests with a Salesforce error body, e.g.
        `QUERY_TIMEOUT` or `INVALID_QUERY_LOCATOR` (400), `SERVER_UNAVAILABLE` (503)."""
        text = message or f"{code} (injected by the sandbox)"
        self._errors.add(code, status, text, times, path_contains)

    def fail_bulk_jobs(self, times: int = 1, message: str = "Query timeout (sandbox)") -> None:
        """The next `times` Bulk query jobs made end `Failed` with `message`, and stay so."""
        self.bulk.fail_next(times, message)

    def bend(self, kind: str, times: int = 1, path_contains: str | None = None) -> None:
        """Bend the next `times` matching answers as `kind` (sandbox/salesforce/bends.py):
        a page without `done`, a Bulk page without its locator, a body nested too deep…"""
        self._bends.add(kind, times, path_contains)

    def clear_bends(self) -> None:
        """Bend nothing more: every bend still waiting is dropped."""
        self._bends.clear()

    # ---- request handling ------------------------------------------------------------------

    def handle_request(self, req: Handler) -> None:
        parts = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        with self._lock:
            self.request_count += 1
        fault = self.faults.take(parts.path)
        if fault is not None and self.replies.fault_first(req, parts.path, fault):
            return
        reply = self._respond(req, parts.path, parts.query, body)
        if self.short_ids:
            reply = with_short_ids(reply, self.short_ids, self.bulk.object_of(parts.path))
        status, payload, content_type, headers = self._bends.apply(
            parts.path, parse_qs(parts.query), reply
        )
        self.replies.send(req, parts.path, status, payload, content_type, headers)

    def _respond(self, req: Handler, path: str, query: str, body: bytes) -> Reply:
        if req.command == "POST" and path == "/services/oauth2/token":
            authorization = req.headers.get("Authorization", "")
            return (
                *logins.oauth_token(
                    body, authorization, self.credentials, self.new_session, self.instance_url
                ),
                {},
            )
        soap = re.fullmatch(r"/services/Soap/u/(\d+\.\d)/?", path)
        if req.command == "POST" and soap:
            return (
                *logins.soap_login(
                    body, soap.group(1), self.credentials, self.new_session, self.instance_url
                ),
                {},
            )
        if req.command == "GET" and path == "/services/oauth2/userinfo":
            injected = self._errors.take(path)  # e.g. an expired session's 401
            return (*(injected or self._userinfo(req)), {})
        match = _DATA.match(path)
        if match is None:
            return (*error(404, "NOT_FOUND", "The requested resource does not exist"), {})
        refused = self.access.admit(req.headers.get("Authorization", ""))
        if refused is None:
            refused = self._errors.take(path)
        if refused is not None:
            return (*refused, {})
        version, rest = match.group("version"), match.group("rest")
        if rest.startswith("jobs/query"):
            return self._bulk(req, version, rest, query, body)
        if req.command != "GET":
            return (*error(404, "NOT_FOUND", "The requested resource does not exist"), {})
        try:
            return (*self._route(req, version, rest, query), {})
        except SoqlError as bad:
            return (*error(400, bad.code, bad.message), {})

    def _bulk(self, req: Handler, version: str, rest: str, query: str, body: bytes) -> Reply:
        if req.command == "POST" and rest == "jobs/query":
            try:
                asked = json.loads(body)
                self._refuse_hidden(str(asked.get("query", "")) if isinstance(asked, dict) else "")
            except ValueError:
                pass  # the job's own reading of the body says what is wrong with it
            except SoqlError as bad:
                return (*error(400, bad.code, bad.message), {})
            return self.bulk.create(version, body, self._records_of)
        job = re.fullmatch(r"jobs/query/(?P<id>\w+)(?P<results>/results)?", rest)
        if req.command != "GET" or job is None:
            return (*error(404, "NOT_FOUND", "The requested resource does not exist"), {})
        if job["results"] is None:
            return self.bulk.status(version, job["id"])
        params = parse_qs(query)
        max_records = params.get("maxRecords", [""])[0]
        size = int(max_records) if max_records.isdigit() and int(max_records) > 0 else 0
        locator = params.get("locator", [None])[0]
        return self.bulk.results(job["id"], size or DEFAULT_MAX_RECORDS, locator)

    def _records_of(self, object_name: str, all_rows: bool) -> list[Record]:
        """An object's records; deleted ones only for queryAll, as in Salesforce."""
        source = self.face().objects.get(object_name)
        if source is None:  # an object this org does not have (untracked field history)
            raise SoqlError("INVALID_TYPE", f"sObject type '{object_name}' is not supported.")
        if not all_rows and "IsDeleted" in OBJECTS[object_name]:
            source = [r for r in source if not r["IsDeleted"]]
        if object_name == "CaseHistory" and self.untracked:
            # An owner change's rows say how it came (ownerAccepted, ownerAssignment, ...):
            # all of them are Owner's history.
            source = [r for r in source if _tracked_as(r["Field"]) not in self.untracked]
        fields = OBJECTS[object_name]
        stamp = "SystemModstamp" if "SystemModstamp" in fields else "CreatedDate"
        if self.commit_lag and stamp in fields:
            visible_until = sf_datetime(self.desk.now - self.commit_lag)  # same format: sortable
            source = [r for r in source if r[stamp] <= visible_until]
        return source

    def _userinfo(self, req: Handler) -> Answer:
        """OpenID Connect userinfo of the API user, the part Salesforce gives that matters
        here (its time zone as `zoneinfo`); a bad session is 401 as for data requests."""
        refused = self.access.admit(req.headers.get("Authorization", ""))
        if refused is not None:
            return refused
        found = {
            "user_id": ids.sf_id(ids.USER, 1),
            "organization_id": logins.ORG_ID,
            "preferred_username": self.credentials.username,
            "zoneinfo": self.user_time_zone,
        }
        return 200, json.dumps(found).encode(), JSON_TYPE

    def _refuse_hidden(self, soql: str) -> None:
        """A query naming a field hidden from the user fails as Salesforce fails it."""
        for object_name, fields in self.hidden_fields.items():
            if not re.search(rf"\bFROM\s+{object_name}\b", soql, re.IGNORECASE):
                continue
            for field in fields:
                if re.search(rf"\b{field}\b", soql, re.IGNORECASE):
                    raise SoqlError(
                        "INVALID_FIELD",
                        f"\n{soql}\n^\nERROR at Row:1:Column:1\nNo such column '{field}' "
                        f"on entity '{object_name}'. If you are attempting to use a custom "
                        "field, be sure to append the '__c' after the custom field name.",
                    )

    def _route(self, req: Handler, version: str, rest: str, query: str) -> Answer:
        params = parse_qs(query)
        if rest in ("query", "queryAll"):
            if "q" not in params:
                return error(400, "MALFORMED_QUERY", "A query string is required (q=)")
            batch = batch_size(req.headers.get("Sforce-Query-Options", ""), self.page_size)
            soql, all_rows = params["q"][0], rest == "queryAll"
            self._refuse_hidden(soql)
            return self.cursors.first_page(
                version, soql, all_rows, batch, self._records_of, self.user_time_zone
            )
        more = re.fullmatch(r"query(?:All)?/(?P<locator>[A-Za-z0-9]+)-(?P<offset>\d+)", rest)
        if more:
            batch = batch_size(req.headers.get("Sforce-Query-Options", ""), self.page_size)
            return self.cursors.next_page(version, more["locator"], int(more["offset"]), batch)
        described = re.fullmatch(r"sobjects/(?P<name>\w+)/describe", rest)
        if described:
            name = next(
                (o for o in self.face().objects if o.lower() == described["name"].lower()), None
            )
            if name is None:
                return error(404, "NOT_FOUND", "The requested resource does not exist")
            shown = describe(name)
            hidden = self.hidden_fields.get(name, frozenset())
            shown["fields"] = [f for f in shown["fields"] if f["name"] not in hidden]
            return 200, json.dumps(shown).encode(), JSON_TYPE
        if re.fullmatch(r"sobjects/Case/deleted/?", rest):
            with self.desk.lock:
                now = self.desk.now
            return deleted_cases(self.face().objects["Case"], self.purged, params, now)
        if rest == "limits":
            return 200, json.dumps(self.access.limits()).encode(), JSON_TYPE
        return error(404, "NOT_FOUND", "The requested resource does not exist")

    def face(self) -> Face:
        """The desk's Salesforce records now (rebuilt only when the desk has changed)."""
        with self.desk.lock:
            cached = self._face
            if cached is None or cached[0] != self.desk.version:
                face = salesforce_face(
                    self.desk, self.surveys_at_send, self.score_history, self.survey_versions
                )
                cached = (self.desk.version, face)
                self._face = cached
            return cached[1]


def _tracked_as(field: str) -> str:
    """The Case field whose history tracking writes a CaseHistory row of `field`."""
    return "Owner" if field.lower().startswith("owner") else field
