"""The one exception tree of deskmetrics.

    DeskmetricsError                 anything deskmetrics expects and can explain
    ├── ConfigError                  settings file, environment variable or time zone is wrong
    ├── InputError                   a command-line argument is wrong (dates, source names)
    ├── SourceError                  a source API could not be read as asked
    │   ├── AuthenticationError      401/403: the token or e-mail is wrong or lacks rights
    │   ├── SourceUnavailableError   retries ran out (429s, 5xx, resets, timeouts) or bad URL
    │   ├── AllowanceExhaustedError  the org's daily API allowance is used up (Salesforce 403)
    │   ├── CursorStuckError         a page came back with the cursor it was asked for
    │   └── MalformedRecordError     a record lacks a field the model needs, or has a bad value
    ├── WarehouseError               the database cannot be opened, written or is too new
    └── AllowanceShareUsed           a run used its share of the API allowance: a clean stop

Every message names the thing, the cause and the fix, and never contains a secret. The
command line turns these into `Error: …` and exit 1; anything else is a bug and keeps its
traceback.
"""


class DeskmetricsError(Exception):
    """Root of every error deskmetrics raises on purpose."""


class ConfigError(DeskmetricsError):
    """The settings, an environment variable they name, or a value in them is wrong."""


class InputError(DeskmetricsError):
    """A command-line argument is wrong."""


class SourceError(DeskmetricsError):
    """A source API could not be read as asked."""


class AuthenticationError(SourceError):
    """The source refused the credentials (HTTP 401 or 403)."""


class SourceUnavailableError(SourceError):
    """The source kept failing until the retry budget ran out, or cannot be reached at all."""


class AllowanceExhaustedError(SourceError):
    """The source refused a request because the daily API allowance is used up: waiting
    and retrying cannot help (research: sleeping on it only burns time)."""


class CursorStuckError(SourceError):
    """A page returned the same cursor it was requested with: reading on would loop forever."""


class MalformedRecordError(SourceError):
    """An API record cannot be turned into the interaction model.

    Its message names the record and the field, then says `PAGE_NOT_STORED`: true when the
    record stops its stream; a record set aside in quarantine says otherwise
    (`Quarantined.of`).
    """


# How a connector's `MalformedRecordError` goes on after naming the fault.
PAGE_NOT_STORED = "The page holding it was not stored"


class WarehouseError(DeskmetricsError):
    """The database cannot be opened or written, or its schema is not the one expected."""


class AllowanceShareUsed(DeskmetricsError):
    """A run used the share of the daily API allowance it may use and stopped after the page
    in hand, its cursor saved: not a failure, the next run goes on from there."""
