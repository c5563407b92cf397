"""Local HTTP emulator of Google's OAuth 2.0 token endpoint and the Calendar API v3 Events API.

It exists so the integration tests can run the service's *real* google-auth and
google-api-python-client code over real sockets, without network access:

* ``POST /token`` implements the service-account JWT-bearer grant
  (https://developers.google.com/identity/protocols/oauth2/service-account) including
  domain-wide delegation (``sub`` claim) and Google's error strings.
* ``/calendar/v3/calendars/{calendarId}/events[/{eventId}]`` implements events.insert / get /
  patch / update / delete / list with Google's documented semantics: client-supplied base32hex
  ids, 409 ``duplicate`` even after delete, 410 ``deleted`` on re-delete, cancelled events
  returned by ``get``, Meet conferences created through ``conferenceData.createRequest``
  (only with ``conferenceDataVersion=1``), optionally asynchronous ("pending").

Behaviour and error strings follow /work/shared/reference/google-calendar-and-service-accounts.md
(referenced below as "ref §N"), which cites the Calendar discovery document, the errors guide
https://developers.google.com/workspace/calendar/api/guides/errors and the google-auth source.

Usage::

    with GoogleEmulator() as emu:
        creds = service_account.Credentials.from_service_account_info(
            emu.service_account_info(), scopes=[SCOPE_CALENDAR_EVENTS]).with_subject("rep@example.com")
        svc = build("calendar", "v3", credentials=creds, static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": emu.base_url + "calendar/v3/"})

Test hooks: ``inject_fault`` / ``inject_delay`` / ``hold`` (see ``Hold``), ``refuse_subject``,
``conference_pending_reads`` / ``conference_fail``, ``usage_limited`` (per-user quotaExceeded),
``revoke_tokens`` and the request logs
``requests`` / ``token_requests``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import itertools
import json
import re
import secrets
import string
import threading
import time
import traceback
import urllib.parse
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt

__all__ = [
    "GOOGLE_TOKEN_AUDIENCE",
    "GoogleEmulator",
    "Hold",
    "SCOPE_CALENDAR",
    "SCOPE_CALENDAR_EVENTS",
]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

# google-auth hard-codes this audience even when token_uri points elsewhere (ref §3.2, gotcha 6),
# so the emulator checks for Google's URL, never for its own.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPE_CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"
DEFAULT_ALLOWED_SCOPES = frozenset({SCOPE_CALENDAR_EVENTS, SCOPE_CALENDAR})

# Scopes accepted by events.insert/patch/update/delete resp. events.get/list (ref §1.1, [DISC]).
_WRITE_SCOPES = frozenset(
    {
        SCOPE_CALENDAR,
        SCOPE_CALENDAR_EVENTS,
        "https://www.googleapis.com/auth/calendar.events.owned",
        "https://www.googleapis.com/auth/calendar.app.created",
    }
)
_READ_SCOPES = _WRITE_SCOPES | {
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events.readonly",
    "https://www.googleapis.com/auth/calendar.events.owned.readonly",
}

# calendars.get accepts none of the events scopes ([DISC] calendar.v3.json).
_CALENDAR_READ_SCOPES = frozenset(
    {
        SCOPE_CALENDAR,
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.calendars",
        "https://www.googleapis.com/auth/calendar.calendars.readonly",
        "https://www.googleapis.com/auth/calendar.app.created",
    }
)

OPS = ("token", "insert", "get", "patch", "update", "delete", "list", "calendar_get")

# Token endpoint error strings (ref §3.3; GAM-team/GAM glapi.py and reports collected there).
MSG_UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested."
)
MSG_INVALID_USER = "Invalid email or User ID"
MSG_BAD_SIGNATURE = "Invalid JWT Signature."
MSG_BAD_AUDIENCE = "Invalid JWT: Failed audience check."
MSG_BAD_TIME = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)
MSG_UNKNOWN_ACCOUNT = "Invalid grant: account not found"
MSG_BAD_SCOPE = "Invalid OAuth scope or ID token audience provided."

# The JWT iat/exp tolerance Google applies is undocumented; 5 minutes is the usual skew allowance.
CLOCK_SKEW_SECONDS = 300
TOKEN_LIFETIME_SECONDS = 3599

# Event ids: base32hex alphabet, 5..1024 chars (ref §1.5, Event.id in [DISC]).
_EVENT_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"

# Event fields the server owns; values sent by clients are ignored ([DISC]: "Read-only").
_SERVER_OWNED_FIELDS = frozenset(
    {
        "kind",
        "etag",
        "id",
        "htmlLink",
        "created",
        "updated",
        "creator",
        "organizer",
        "iCalUID",
        "hangoutLink",
        "sequence",
        "locked",
        "recurringEventId",
        "conferenceData",  # handled separately: only honoured with conferenceDataVersion=1
    }
)
# All properties of the Event schema in the bundled calendar.v3.json (revision 20261030);
# unknown body keys are dropped, as Google does.
_EVENT_FIELDS = frozenset(
    {
        "anyoneCanAddSelf", "attachments", "attendees", "attendeesOmitted", "birthdayProperties",
        "colorId", "conferenceData", "created", "creator", "description", "end",
        "endTimeUnspecified", "etag", "eventLabelId", "eventType", "extendedProperties",
        "focusTimeProperties", "gadget", "guestsCanInviteOthers", "guestsCanModify",
        "guestsCanSeeOtherGuests", "hangoutLink", "htmlLink", "iCalUID", "id", "kind", "location",
        "locked", "organizer", "originalStartTime", "outOfOfficeProperties", "privateCopy",
        "recurrence", "recurringEventId", "reminders", "sequence", "source", "start", "status",
        "summary", "transparency", "updated", "visibility", "workingLocationProperties",
    }
)  # fmt: skip

# Field order of Google's responses (cosmetic, makes dumps easy to compare with real ones).
_RESPONSE_ORDER = (
    "kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary", "description",
    "location", "colorId", "creator", "organizer", "start", "end", "endTimeUnspecified",
    "recurrence", "transparency", "visibility", "iCalUID", "sequence", "attendees",
    "extendedProperties", "hangoutLink", "conferenceData", "reminders", "eventType",
)  # fmt: skip

_MEET_ICON = (
    "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
    "logo_meet_2020q4_color_2x_web_512dp.png"
)

# Default reason/message per status for injected Calendar faults (errors guide table, ref §2.2).
_FAULT_DEFAULTS = {
    400: ("badRequest", "Bad Request"),
    401: ("authError", "Invalid Credentials"),
    403: ("forbidden", "Forbidden"),
    404: ("notFound", "Not Found"),
    409: ("conflict", "Conflict"),
    410: ("deleted", "Resource has been deleted"),
    412: ("conditionNotMet", "Precondition Failed"),
    429: ("rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("backendError", "Backend Error"),
    502: ("backendError", "Backend Error"),
    503: ("backendError", "Backend Error"),
    504: ("backendError", "Backend Error"),
}


# --------------------------------------------------------------------------------------------
# Key material (shared by every emulator in the process: RSA generation costs ~50-200 ms)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyMaterial:
    private_pem: str  # PKCS#8, as in a real key file
    public_pem: str
    key_id: str  # "private_key_id" in the key file, "kid" in the JWT header

    @property
    def verifier(self) -> crypt.RSAVerifier:
        return crypt.RSAVerifier.from_string(self.public_pem)


_KEY_LOCK = threading.Lock()
_KEY: _KeyMaterial | None = None


def _shared_key() -> _KeyMaterial:
    global _KEY
    with _KEY_LOCK:
        if _KEY is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            public_der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            public_pem = (
                key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            # Real private_key_ids are 40 hex chars; derive it from the key so it is stable.
            _KEY = _KeyMaterial(private_pem, public_pem, hashlib.sha1(public_der).hexdigest())
        return _KEY


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """A Calendar error, rendered as Google's JSON error body (ref §2.1)."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        extra: dict | None = None,
        headers: dict | None = None,
        top_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain
        self.extra = extra or {}
        self.headers = headers or {}
        self.top_message = top_message or message  # error.message; usually equals errors[0].message

    def response(self) -> _Response:
        item = {"domain": self.domain, "reason": self.reason, "message": self.message, **self.extra}
        body = {"error": {"errors": [item], "code": self.status, "message": self.top_message}}
        return _Response.json(self.status, body, self.headers)


class _OAuthError(Exception):
    """A token endpoint error: RFC 6749 §5.2 body {"error", "error_description"}."""

    def __init__(self, status: int, error: str, description: str | None) -> None:
        super().__init__(f"{error}: {description}")
        self.status, self.error, self.description = status, error, description


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict | None = None) -> _Response:
        hdrs = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(payload, indent=2).encode(), hdrs)


@dataclass
class _Token:
    subject: str | None  # lower-cased impersonated user; None = the bare service account
    scopes: frozenset[str]
    expiry: float


@dataclass
class _EventRecord:
    """One stored event: the public resource plus server-side bookkeeping."""

    resource: dict
    version: int = 0
    conf_request_id: str | None = None  # requestId of the last processed createRequest
    pending_reads_left: int = 0
    # Conference data (and hangoutLink) to reveal once the pending reads are used up.
    pending_result: tuple[dict, str | None] | None = None


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _norm(email: str) -> str:
    """Google treats e-mail addresses case-insensitively; calendars are keyed by the lower-case form."""
    return email.strip().lower()


def _parse_instant(value: str) -> dt.datetime:
    """RFC 3339 timestamp (query params timeMin/timeMax) -> aware datetime."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _when(value: Any, which: str) -> tuple[str, dt.datetime]:
    """Validate an EventDateTime ({"dateTime"[, "timeZone"]} or {"date"}) the way Calendar does.

    Returns ("dateTime" | "date", aware datetime); a date becomes midnight UTC.
    """
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        raise _ApiError(400, "required", f"Missing {which} time.")
    tz_name = value.get("timeZone")
    tz: dt.tzinfo | None = None
    if tz_name:
        try:
            tz = zoneinfo.ZoneInfo(tz_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            if not zoneinfo.available_timezones():  # no tz database on this host: don't fail tests
                tz = dt.UTC
            else:
                raise _ApiError(
                    400, "invalid", f"Invalid time zone definition for {which} time."
                ) from None
    if value.get("dateTime"):
        try:
            moment = dt.datetime.fromisoformat(str(value["dateTime"]))
        except ValueError:
            raise _ApiError(400, "invalid", f"Invalid {which} time.") from None
        if moment.tzinfo is None:
            # A local time needs a timeZone to be meaningful.
            if tz is None:
                raise _ApiError(400, "required", f"Missing time zone definition for {which} time.")
            moment = moment.replace(tzinfo=tz)
        return "dateTime", moment
    try:
        day = dt.date.fromisoformat(str(value["date"]))
        return "date", dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise _ApiError(400, "invalid", f"Invalid {which} time.") from None


def _bound(resource: dict, which: str) -> dt.datetime:
    """Start/end of a stored event as an aware datetime (for list filtering and ordering)."""
    try:
        return _when(resource.get(which), which)[1]
    except _ApiError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _merge_patch(target: dict, patch: dict) -> None:
    """Google patch semantics: nested objects are merged, arrays and scalars replaced,
    JSON null clears a field (https://developers.google.com/workspace/calendar/api/guides/performance#patch;
    ref §1.6 quotes "Array fields, if specified, overwrite the existing arrays")."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _ordered(resource: dict) -> dict:
    out = {k: resource[k] for k in _RESPONSE_ORDER if k in resource}
    out.update({k: v for k, v in resource.items() if k not in out})
    return out


# --------------------------------------------------------------------------------------------
# Hold
# --------------------------------------------------------------------------------------------


class Hold:
    """A request parked by ``GoogleEmulator.hold()``.

    ``started`` is set once a matching request has arrived (and, with ``commit_first``, once its
    effect is already in the emulator's state).  The handler then blocks until ``release()`` is
    called or the emulator stops, and answers normally (if the client is still there).
    ``request`` is the log entry of the held request (None until started).
    """

    def __init__(self, op: str, commit_first: bool) -> None:
        self.op = op
        self.commit_first = commit_first
        self.started = threading.Event()
        self.released = threading.Event()
        self.request: dict | None = None

    def release(self) -> None:
        self.released.set()

    def wait_started(self, timeout: float = 5.0) -> bool:
        return self.started.wait(timeout)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        state = (
            "released"
            if self.released.is_set()
            else "started"
            if self.started.is_set()
            else "armed"
        )
        return f"<Hold op={self.op} commit_first={self.commit_first} {state}>"


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # held/delayed handlers must never block interpreter exit
    allow_reuse_address = True
    request_queue_size = 128  # concurrent clients (bench, thread pools) must not hit a tiny backlog
    emulator: GoogleEmulator


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so no keep-alive connection outlives stop().
    protocol_version = "HTTP/1.0"
    server_version = "ESF"  # what Google's front ends call themselves
    sys_version = ""
    timeout = 30  # never let a half-open client pin a handler thread forever

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; the emulator keeps its own structured logs

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        response = self.server.emulator._handle(self.command, self.path, self.headers, raw)  # type: ignore[attr-defined]
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != 204:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.body and response.status != 204:
                self.wfile.write(response.body)
        except OSError:
            pass  # the client went away (timed out or was killed while held): that is the point

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


class GoogleEmulator:
    """Google OAuth token endpoint + Calendar v3 Events emulator on 127.0.0.1:<ephemeral>.

    State is protected by one lock; every public method is thread-safe.
    """

    def __init__(
        self,
        *,
        allowed_subjects: set[str] | None = None,
        allowed_scopes: set[str] | None = None,
    ) -> None:
        # None = every subject "exists" and has DWD granted; otherwise only these may be impersonated.
        self.allowed_subjects: set[str] | None = (
            None if allowed_subjects is None else {_norm(s) for s in allowed_subjects}
        )
        self.allowed_scopes: set[str] = set(
            DEFAULT_ALLOWED_SCOPES if allowed_scopes is None else allowed_scopes
        )
        self.project_id = "demo-project"
        self.client_id = "112233445566778899001"
        self.client_email = f"middleware@{self.project_id}.iam.gserviceaccount.com"

        # Conference behaviour, read when a conference is created (settings are per event after that):
        # conference_pending_reads = N: the insert/patch response and the next N events.get calls
        #   show createRequest.status "pending" (no entryPoints, no hangoutLink); get N+1 shows the
        #   result.  0 = the result is in the insert/patch response.  events.list never advances it.
        # conference_fail: the result is statusCode "failure" without entry points.
        self.conference_pending_reads = 0
        self.conference_fail = False
        # Users whose organizational unit has Google Meet turned off: their calendars allow no
        # conference solution and a hangoutsMeet createRequest is "Invalid conference type value."
        self.meet_disabled: set[str] = set()
        # Users over Workspace's Calendar usage limits: "the calendar turns read-only for hours;
        # viewing still works" and writes answer 403 usageLimits/quotaExceeded "Calendar usage
        # limits exceeded." (support.google.com/a/answer/2905486; errors guide, ref §2.2;
        # hubspot-2026-and-calendar-lifecycle.md §B5). Other users are unaffected.
        self.usage_limited: set[str] = set()

        self.token_requests: list[dict] = []
        self.requests: list[dict] = []
        # Tracebacks of unexpected exceptions inside handlers (answered as 500 backendError).
        self.internal_errors: list[str] = []

        self._lock = threading.RLock()
        self._key = _shared_key()
        self._verifier = self._key.verifier
        self._refused: dict[str, str] = {}
        self._tokens: dict[str, _Token] = {}
        self._calendars: dict[str, dict[str, _EventRecord]] = {}
        self._meet_codes: set[str] = set()
        self._faults: dict[str, list[dict]] = {op: [] for op in OPS}
        self._delays: dict[str, list[list]] = {op: [] for op in OPS}
        self._holds: dict[str, list[Hold]] = {op: [] for op in OPS}
        self._all_holds: list[Hold] = []
        self._etag_counter = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> GoogleEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="google-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        self._stopping.set()  # interrupts inject_delay sleeps
        with self._lock:
            holds = list(self._all_holds)
        for hold in holds:  # held handlers answer (to whoever is still listening) and exit
            hold.release()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GoogleEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("GoogleEmulator not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_uri(self) -> str:
        return self.base_url + "token"

    # ---- key file --------------------------------------------------------------------------

    def service_account_info(self) -> dict:
        """A complete service-account key JSON dict whose token_uri points at this emulator."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self._key.key_id,
            "private_key": self._key.private_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + urllib.parse.quote(self.client_email),
            "universe_domain": "googleapis.com",
        }

    def write_key_file(self, path: str | Path) -> str:
        Path(path).write_text(json.dumps(self.service_account_info(), indent=2))
        return str(path)

    # ---- subject control -------------------------------------------------------------------

    def allow_subject(self, email: str) -> None:
        key = _norm(email)
        with self._lock:
            self._refused.pop(key, None)
            if self.allowed_subjects is not None:
                self.allowed_subjects.add(key)

    def refuse_subject(self, email: str, error: str = "unauthorized_client") -> None:
        """Make token requests impersonating ``email`` fail like Google does.

        "unauthorized_client": DWD not granted for this client id / scope (401).
        "invalid_grant": the user does not exist in a domain trusting the SA (400).
        """
        if error not in ("unauthorized_client", "invalid_grant"):
            raise ValueError(f"unsupported error {error!r}")
        with self._lock:
            self._refused[_norm(email)] = error

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (next API call gets 401 and the client refreshes)."""
        with self._lock:
            self._tokens.clear()

    # ---- state inspection ------------------------------------------------------------------

    def events(self, calendar_owner: str) -> list[dict]:
        """Events (cancelled included) of that user's primary calendar, in insertion order."""
        with self._lock:
            cal = self._calendars.get(_norm(calendar_owner), {})
            return [_ordered(copy.deepcopy(r.resource)) for r in cal.values()]

    def all_events(self) -> list[dict]:
        with self._lock:
            return [
                {**_ordered(copy.deepcopy(r.resource)), "_calendar_owner": owner}
                for owner, cal in self._calendars.items()
                for r in cal.values()
            ]

    def event(self, calendar_owner: str, event_id: str) -> dict | None:
        with self._lock:
            record = self._calendars.get(_norm(calendar_owner), {}).get(event_id)
            return None if record is None else _ordered(copy.deepcopy(record.resource))

    def cancel_event(self, calendar_owner: str, event_id: str) -> None:
        """Cancel an event as its owner would in the Calendar UI (it keeps its id: 409 on insert)."""
        with self._lock:
            record = self._calendars[_norm(calendar_owner)][event_id]
            record.resource["status"] = "cancelled"

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.token_requests.clear()

    # ---- fault injection -------------------------------------------------------------------

    def inject_fault(
        self,
        op: str,
        status: int,
        *,
        reason: str | None = None,
        message: str | None = None,
        domain: str = "global",
        headers: dict | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` ``op`` requests answer ``status`` with a Google-shaped error body,
        without touching state.  Calendar ops: {"error":{"errors":[{domain,reason,message}],
        "code","message"}}; "token": {"error": reason or "temporarily_unavailable",
        "error_description": message}."""
        self._check_op(op)
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults[op].append(
                {
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "domain": domain,
                    "headers": dict(headers or {}),
                    "remaining": times,
                }
            )

    def inject_delay(self, op: str, seconds: float, *, times: int = 1) -> None:
        """Sleep ``seconds`` before handling the next ``times`` ``op`` requests.  The request is
        handled normally afterwards (like Google finishing work the client gave up on)."""
        self._check_op(op)
        with self._lock:
            self._delays[op].append([seconds, times])

    def hold(self, op: str, *, commit_first: bool = True) -> Hold:
        """Park the next ``op`` request.  With ``commit_first`` its effect is applied to the state
        before it blocks; otherwise it is applied after ``release()``.  See ``Hold``."""
        self._check_op(op)
        hold = Hold(op, commit_first)
        with self._lock:
            self._holds[op].append(hold)
            self._all_holds.append(hold)
        return hold

    def clear_faults(self) -> None:
        """Drop pending faults and delays (armed holds stay)."""
        with self._lock:
            for op in OPS:
                self._faults[op].clear()
                self._delays[op].clear()

    @staticmethod
    def _check_op(op: str) -> None:
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; expected one of {OPS}")

    def _take_delay(self, op: str) -> float:
        with self._lock:
            queue = self._delays[op]
            if not queue:
                return 0.0
            queue[0][1] -= 1
            seconds = queue[0][0]
            if queue[0][1] <= 0:
                queue.pop(0)
            return seconds

    def _take_fault(self, op: str) -> dict | None:
        with self._lock:
            queue = self._faults[op]
            if not queue:
                return None
            fault = queue[0]
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                queue.pop(0)
            return fault

    def _take_hold(self, op: str) -> Hold | None:
        with self._lock:
            queue = self._holds[op]
            return queue.pop(0) if queue else None

    # ---- request pipeline ------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> _Response:
        try:
            parsed = urllib.parse.urlsplit(raw_path)
            query_multi = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
            if parsed.path == "/token":
                return self._handle_token(method, headers, raw_body)
            if parsed.path.startswith("/calendar/v3/"):
                return self._handle_calendar(method, parsed.path, query_multi, headers, raw_body)
            return _ApiError(404, "notFound", "Not Found").response()
        except Exception:  # pragma: no cover - only on emulator bugs
            with self._lock:
                self.internal_errors.append(traceback.format_exc())
            return _ApiError(500, "backendError", "Backend Error").response()

    def _run(
        self,
        op: str | None,
        entry: dict,
        log: list[dict],
        fault_response: Callable[[dict], _Response],
        compute: Callable[[], _Response],
    ) -> _Response:
        """Shared pipeline: delay -> fault -> (hold) -> compute under lock -> log -> (hold)."""
        if op is not None:
            delay = self._take_delay(op)
            if delay:
                self._stopping.wait(delay)
            fault = self._take_fault(op)
            if fault is not None:
                response = fault_response(fault)
                entry["status"] = response.status
                entry["fault"] = True
                with self._lock:
                    log.append(entry)
                return response
        hold = self._take_hold(op) if op is not None else None
        if hold is not None:
            hold.request = entry
            if not hold.commit_first:
                hold.started.set()
                hold.released.wait()
        response = compute()
        entry["status"] = response.status
        with self._lock:
            log.append(entry)
        if hold is not None and hold.commit_first:
            hold.started.set()
            hold.released.wait()
        return response

    # ---- token endpoint --------------------------------------------------------------------

    def _handle_token(self, method: str, headers: Any, raw_body: bytes) -> _Response:
        if method != "POST":
            return _Response.json(
                405,
                {"error": "invalid_request", "error_description": "Token endpoint requires POST."},
            )
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        form: dict[str, str] = {}
        try:
            if content_type == "application/json":
                loaded = json.loads(raw_body or b"{}")
                form = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            else:
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw_body.decode()).items()}
        except (ValueError, UnicodeDecodeError):
            form = {}
        entry: dict[str, Any] = {
            "grant_type": form.get("grant_type"),
            "sub": None,
            "scope": None,
            "iss": None,
            "aud": None,
            "kid": None,
            "iat": None,
            "exp": None,
            "ok": False,
            "error": None,
            "error_description": None,
            "status": None,
        }
        # Best-effort, *unverified* peek at the claims for the log (the assertion itself is not kept).
        header, claims = self._peek_jwt(form.get("assertion") or "")
        entry["kid"] = header.get("kid")
        for claim in ("sub", "scope", "iss", "aud", "iat", "exp"):
            entry[claim] = claims.get(claim)

        def fault_response(fault: dict) -> _Response:
            entry["error"] = fault["reason"] or "temporarily_unavailable"
            entry["error_description"] = fault["message"]
            body = {"error": entry["error"], "error_description": fault["message"]}
            return _Response.json(fault["status"], body, fault["headers"])

        def compute() -> _Response:
            try:
                with self._lock:
                    access_token = self._mint_token(form)
            except _OAuthError as err:
                entry["error"], entry["error_description"] = err.error, err.description
                return _Response.json(
                    err.status,
                    {"error": err.error, "error_description": err.description},
                    {"Cache-Control": "no-store", "Pragma": "no-cache"},
                )
            entry["ok"] = True
            return _Response.json(
                200,
                {
                    "access_token": access_token,
                    "expires_in": TOKEN_LIFETIME_SECONDS,
                    "token_type": "Bearer",
                },
                {"Cache-Control": "no-store", "Pragma": "no-cache"},
            )

        return self._run("token", entry, self.token_requests, fault_response, compute)

    @staticmethod
    def _peek_jwt(assertion: str) -> tuple[dict, dict]:
        try:
            head, payload, _sig = assertion.split(".")
            header, claims = json.loads(_b64url_decode(head)), json.loads(_b64url_decode(payload))
            if isinstance(header, dict) and isinstance(claims, dict):
                return header, claims
        except (ValueError, TypeError):
            pass
        return {}, {}

    def _mint_token(self, form: dict[str, str]) -> str:
        """Validate a JWT-bearer grant (https://developers.google.com/identity/protocols/oauth2/service-account,
        "Making the access token request") and issue an opaque access token."""
        if form.get("grant_type") != JWT_BEARER_GRANT:
            raise _OAuthError(
                400,
                "unsupported_grant_type",
                "Invalid grant_type: " + (form.get("grant_type") or ""),
            )
        assertion = form.get("assertion")
        if not assertion:
            raise _OAuthError(400, "invalid_request", "Missing required parameter: assertion")
        try:
            head_b64, payload_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(sig_b64)
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError("not an object")
        except (ValueError, TypeError):
            # Exact Google wording for a malformed assertion is not documented.
            raise _OAuthError(400, "invalid_grant", "Invalid JWT: malformed assertion.") from None

        # Google looks the key up through the issuer first ("account not found"), then by kid.
        if claims.get("iss") != self.client_email:
            raise _OAuthError(400, "invalid_grant", MSG_UNKNOWN_ACCOUNT)
        if header.get("alg") != "RS256" or header.get("kid") != self._key.key_id:
            # A deleted/unknown key id looks exactly like a bad signature to Google clients.
            raise _OAuthError(400, "invalid_grant", MSG_BAD_SIGNATURE)
        if not self._verifier.verify(f"{head_b64}.{payload_b64}".encode(), signature):
            raise _OAuthError(400, "invalid_grant", MSG_BAD_SIGNATURE)

        iat, exp = claims.get("iat"), claims.get("exp")
        now = time.time()
        if (
            not isinstance(iat, (int, float))
            or not isinstance(exp, (int, float))
            or exp <= iat
            or exp - iat > 3600  # "a maximum of 1 hour after the issued time" (ref §3.2)
            or iat > now + CLOCK_SKEW_SECONDS
            or exp < now - CLOCK_SKEW_SECONDS
        ):
            raise _OAuthError(400, "invalid_grant", MSG_BAD_TIME)
        if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
            raise _OAuthError(400, "invalid_grant", MSG_BAD_AUDIENCE)

        scopes = frozenset(str(claims.get("scope") or "").split())
        if not scopes:
            raise _OAuthError(400, "invalid_scope", MSG_BAD_SCOPE)

        sub = claims.get("sub")
        subject = _norm(sub) if isinstance(sub, str) and sub.strip() else None
        if subject is not None:
            refused = self._refused.get(subject)
            if refused == "invalid_grant":
                raise _OAuthError(400, "invalid_grant", MSG_INVALID_USER)
            if refused is not None or (
                self.allowed_subjects is not None and subject not in self.allowed_subjects
            ):
                raise _OAuthError(401, "unauthorized_client", MSG_UNAUTHORIZED_CLIENT)
        # The DWD grant in the Admin console lists scopes exactly (ref §3.3).
        if not scopes <= self.allowed_scopes:
            raise _OAuthError(401, "unauthorized_client", MSG_UNAUTHORIZED_CLIENT)

        access_token = "ya29.emu-" + secrets.token_urlsafe(48)
        self._tokens[access_token] = _Token(subject, scopes, now + TOKEN_LIFETIME_SECONDS)
        return access_token

    # ---- Calendar API ----------------------------------------------------------------------

    @staticmethod
    def _route(method: str, path: str) -> tuple[str | None, str | None, str | None]:
        """-> (op, calendarId, eventId); op None for anything not emulated."""
        parts = [urllib.parse.unquote(p) for p in path[len("/calendar/v3/") :].split("/")]
        if len(parts) == 2 and parts[0] == "calendars" and parts[1]:
            return {"GET": "calendar_get"}.get(method), parts[1], None
        if len(parts) == 3 and parts[0] == "calendars" and parts[2] == "events":
            return {"GET": "list", "POST": "insert"}.get(method), parts[1], None
        if len(parts) == 4 and parts[0] == "calendars" and parts[2] == "events" and parts[3]:
            op = {"GET": "get", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method)
            return op, parts[1], parts[3]
        return None, None, None

    def _handle_calendar(
        self,
        method: str,
        path: str,
        query_multi: dict[str, list[str]],
        headers: Any,
        raw_body: bytes,
    ) -> _Response:
        op, calendar_id, event_id = self._route(method, path)
        query = {k: v[-1] for k, v in query_multi.items()}
        body: Any = None
        body_error = False
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body_error = True
        with self._lock:
            token = self._lookup_token(headers.get("Authorization"))
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "query_multi": query_multi,
            "body": copy.deepcopy(body) if isinstance(body, dict) else None,
            "subject": token.subject if token else None,
            "authenticated": token is not None,
            "op": op,
            "calendar_id": calendar_id,
            "event_id": event_id,
            "status": None,
        }

        def fault_response(fault: dict) -> _Response:
            status = fault["status"]
            reason, message = _FAULT_DEFAULTS.get(status, ("backendError", "Backend Error"))
            return _ApiError(
                status,
                fault["reason"] or reason,
                fault["message"] or message,
                domain=fault["domain"],
                headers=fault["headers"],
            ).response()

        def compute() -> _Response:
            try:
                if token is None:
                    raise _ApiError(
                        401,
                        "authError",
                        "Invalid Credentials",
                        extra={"locationType": "header", "location": "Authorization"},
                        headers={
                            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
                        },
                    )
                if op is None or calendar_id is None:
                    raise _ApiError(404, "notFound", "Not Found")
                if body_error or (raw_body and not isinstance(body, dict)):
                    raise _ApiError(400, "parseError", "Parse Error")
                with self._lock:
                    return self._calendar_op(
                        op, token, calendar_id, event_id, body or {}, query, query_multi, headers
                    )
            except _ApiError as err:
                return err.response()

        return self._run(op, entry, self.requests, fault_response, compute)

    def _lookup_token(self, authorization: str | None) -> _Token | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = self._tokens.get(authorization[len("Bearer ") :].strip())
        if token is None or token.expiry <= time.time():
            return None
        return token

    def _calendar_op(
        self,
        op: str,
        token: _Token,
        calendar_id: str,
        event_id: str | None,
        body: dict,
        query: dict[str, str],
        query_multi: dict[str, list[str]],
        headers: Any,
    ) -> _Response:
        needed = _READ_SCOPES if op in ("get", "list") else _WRITE_SCOPES
        if op == "calendar_get":
            needed = _CALENDAR_READ_SCOPES
        if not token.scopes & needed:
            raise _ApiError(
                403,
                "insufficientPermissions",
                "Insufficient Permission",
                top_message="Request had insufficient authentication scopes.",
            )
        owner = token.subject or self.client_email.lower()
        if op not in ("get", "list", "calendar_get") and owner in self.usage_limited:
            raise _ApiError(
                403, "quotaExceeded", "Calendar usage limits exceeded.", domain="usageLimits"
            )
        # Only the caller's own calendar exists here; anything else is "not accessible" = 404.
        if calendar_id != "primary" and _norm(calendar_id) != owner:
            raise _ApiError(404, "notFound", "Not Found")
        calendar = self._calendars.setdefault(owner, {})
        conf_version = 1 if query.get("conferenceDataVersion") == "1" else 0

        if op == "calendar_get":
            meet = [] if owner in self.meet_disabled else ["hangoutsMeet"]
            return _Response.json(
                200,
                {
                    "kind": "calendar#calendar",
                    "etag": '"calendar-etag"',
                    "id": owner,
                    "summary": owner,
                    "timeZone": "UTC",
                    "conferenceProperties": {"allowedConferenceSolutionTypes": meet},
                },
            )
        if op == "insert":
            return self._insert(token, owner, calendar, body, conf_version)
        if op == "list":
            return self._list(owner, calendar, query, query_multi)

        record = calendar.get(event_id or "")
        if record is None:
            raise _ApiError(404, "notFound", "Not Found")
        if op == "get":
            self._advance_pending(record)
            return _Response.json(200, _ordered(record.resource))
        if_match = headers.get("If-Match")
        if if_match and if_match not in ("*", record.resource["etag"]):
            raise _ApiError(
                412,
                "conditionNotMet",
                "Precondition Failed",
                extra={"locationType": "header", "location": "If-Match"},
            )
        if op == "delete":
            if record.resource["status"] == "cancelled":
                # errors guide: 410 deleted, "For already deleted events, no further action is necessary."
                raise _ApiError(410, "deleted", "Resource has been deleted")
            record.resource["status"] = "cancelled"
            self._touch(record)
            return _Response(204)
        if op in ("patch", "update"):
            return self._modify(op, token, owner, record, body, conf_version)
        raise _ApiError(404, "notFound", "Not Found")  # pragma: no cover

    # ---- events.insert / patch / update ----------------------------------------------------

    def _insert(
        self, token: _Token, owner: str, calendar: dict, body: dict, conf_version: int
    ) -> _Response:
        event_id = body.get("id")
        if event_id is None:
            event_id = "".join(secrets.choice(_BASE32HEX) for _ in range(32))
            while event_id in calendar:  # pragma: no cover - 2**160 space
                event_id = "".join(secrets.choice(_BASE32HEX) for _ in range(32))
        elif not isinstance(event_id, str) or not _EVENT_ID_RE.match(event_id):
            raise _ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in calendar:
            # Cancelled events keep their id, so this fires after delete too (ref §1.5).
            raise _ApiError(409, "duplicate", "The requested identifier already exists.")

        now = _now_rfc3339()
        resource: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": self._html_link(event_id, owner),
            "created": now,
            "updated": now,
            "creator": {"email": owner, "self": True},
            "organizer": {"email": owner, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        resource.update(self._writable(body))
        record = _EventRecord(resource=resource)
        self._validate(token, resource, body, owner)
        if conf_version == 1 and "conferenceData" in body:
            self._apply_conference_data(token, record, body["conferenceData"])
        calendar[event_id] = record
        self._touch(record, keep_updated=True)
        return _Response.json(200, _ordered(record.resource))

    def _modify(
        self,
        op: str,
        token: _Token,
        owner: str,
        record: _EventRecord,
        body: dict,
        conf_version: int,
    ) -> _Response:
        old = record.resource
        # Work on a copy so a validation error leaves the stored event untouched.
        new_record = copy.deepcopy(record)
        if op == "patch":
            patch = self._writable(body, keep_nulls=True)
            for which in ("start", "end"):
                # Switching an all-day event to a timed one (or back) must not leave both keys behind.
                value = patch.get(which)
                if isinstance(value, dict) and isinstance(new_record.resource.get(which), dict):
                    if value.get("dateTime"):
                        new_record.resource[which].pop("date", None)
                    if value.get("date"):
                        new_record.resource[which].pop("dateTime", None)
            if "eventType" in patch:
                patch.pop("eventType")  # "cannot be modified after the event is created" [DISC]
            _merge_patch(new_record.resource, patch)
        else:
            # events.update: full replace of the writable fields, server-owned fields survive.
            kept = {k: v for k, v in old.items() if k in _SERVER_OWNED_FIELDS or k == "eventType"}
            new_record.resource = {
                **kept,
                "status": "confirmed",
                "reminders": {"useDefault": True},
                **{k: v for k, v in self._writable(body).items() if k != "eventType"},
            }
            if conf_version == 1 and "conferenceData" not in body:
                # With conferenceDataVersion=1 the conference is part of the replaced representation.
                self._clear_conference(new_record)
        resource = new_record.resource
        resource.setdefault("status", "confirmed")
        self._validate(token, resource, body, owner)
        if conf_version == 1 and "conferenceData" in body:
            self._apply_conference_data(token, new_record, body["conferenceData"])
        if resource.get("start") != old.get("start") or resource.get("end") != old.get("end"):
            resource["sequence"] = old.get("sequence", 0) + 1
        record.resource = new_record.resource
        record.conf_request_id = new_record.conf_request_id
        record.pending_reads_left = new_record.pending_reads_left
        record.pending_result = new_record.pending_result
        self._touch(record)
        return _Response.json(200, _ordered(record.resource))

    @staticmethod
    def _writable(body: dict, *, keep_nulls: bool = False) -> dict:
        return {
            k: copy.deepcopy(v)
            for k, v in body.items()
            if k in _EVENT_FIELDS
            and k not in _SERVER_OWNED_FIELDS
            and (keep_nulls or v is not None)
        }

    def _validate(self, token: _Token, resource: dict, body: dict, owner: str) -> None:
        # Google reports the end time first when both are missing.
        end_kind, end = _when(resource.get("end"), "end")
        start_kind, start = _when(resource.get("start"), "start")
        if start_kind != end_kind:
            raise _ApiError(
                400, "invalid", "Start and end times must either both be date or both be dateTime."
            )
        if end < start or (end_kind == "date" and end == start):
            raise _ApiError(
                400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar"
            )
        attendees = resource.get("attendees")
        if attendees is not None and not isinstance(attendees, list):
            raise _ApiError(400, "invalid", "Invalid attendees value.")
        if attendees and "attendees" in body and token.subject is None:
            # [DISC] Event.attendees: "Service accounts need to use domain-wide delegation of
            # authority to populate the attendee list." (ref §1.6)
            raise _ApiError(
                403,
                "forbiddenForServiceAccounts",
                "Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.",
                domain="calendar",
            )
        for attendee in attendees or []:
            if not isinstance(attendee, dict) or not attendee.get("email"):
                raise _ApiError(400, "required", "Missing attendee email.")
            attendee.setdefault("responseStatus", "needsAction")
            if _norm(str(attendee["email"])) == owner:
                attendee["organizer"] = True
                attendee["self"] = True

    # ---- conferences -----------------------------------------------------------------------

    def _apply_conference_data(self, token: _Token, record: _EventRecord, data: Any) -> None:
        """conferenceData handling for conferenceDataVersion=1 (ref §1.1-1.3)."""
        if data is None:
            self._clear_conference(record)
            return
        if not isinstance(data, dict):
            raise _ApiError(400, "invalid", "Invalid conference data.")
        create = data.get("createRequest")
        if isinstance(create, dict) and create:
            request_id = create.get("requestId")
            if request_id is not None and request_id == record.conf_request_id:
                # [DISC] CreateConferenceRequest.requestId: "If an ID provided is the same as for
                # the previous request, the request is ignored."
                return
            solution_type = (create.get("conferenceSolutionKey") or {}).get("type")
            # A bare service account is not a Workspace user with Meet entitlement (ref §3.4).
            if (
                solution_type != "hangoutsMeet"
                or token.subject is None
                or token.subject in self.meet_disabled
            ):
                raise _ApiError(400, "invalid", "Invalid conference type value.")
            if not request_id:
                raise _ApiError(400, "required", "Missing conference create request id.")
            self._create_conference(record, str(request_id))
            return
        # No createRequest: the client copies existing conference data (e.g. get -> update).
        self._clear_conference(record)
        if data:
            record.resource["conferenceData"] = copy.deepcopy(data)
            video = next(
                (
                    e
                    for e in data.get("entryPoints") or []
                    if isinstance(e, dict) and e.get("entryPointType") == "video"
                ),
                None,
            )
            if (
                video
                and ((data.get("conferenceSolution") or {}).get("key") or {}).get("type")
                == "hangoutsMeet"
            ):
                record.resource["hangoutLink"] = video.get("uri")

    @staticmethod
    def _clear_conference(record: _EventRecord) -> None:
        record.resource.pop("conferenceData", None)
        record.resource.pop("hangoutLink", None)
        record.conf_request_id = None
        record.pending_reads_left = 0
        record.pending_result = None

    def _create_conference(self, record: _EventRecord, request_id: str) -> None:
        create_request = {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
        if self.conference_fail:
            # "failure": no entry points; conferenceSolution/signature are unset [DISC].
            final: dict = {"createRequest": {**create_request, "status": {"statusCode": "failure"}}}
            link = None
        else:
            code = self._new_meet_code()
            link = f"https://meet.google.com/{code}"
            pin = "".join(secrets.choice(string.digits) for _ in range(13))
            phone_pin = "".join(secrets.choice(string.digits) for _ in range(9))
            # Shape of Google's own sample (ref §1.2): video, more, phone.
            final = {
                "createRequest": {**create_request, "status": {"statusCode": "success"}},
                "entryPoints": [
                    {"entryPointType": "video", "uri": link, "label": f"meet.google.com/{code}"},
                    {
                        "entryPointType": "more",
                        "uri": f"https://tel.meet/{code}?pin={pin}",
                        "pin": pin,
                    },
                    {
                        "entryPointType": "phone",
                        "uri": "tel:+1-555-010-0199",
                        "label": "+1 555-010-0199",
                        "pin": phone_pin,
                        "regionCode": "US",
                    },
                ],
                "conferenceSolution": {
                    "key": {"type": "hangoutsMeet"},
                    "name": "Google Meet",
                    "iconUri": _MEET_ICON,
                },
                "conferenceId": code,
                "signature": base64.b64encode(secrets.token_bytes(48)).decode(),
            }
        record.conf_request_id = request_id
        if self.conference_pending_reads > 0:
            # Creation is asynchronous at Google (ref §1.3): the response says "pending" and
            # carries neither entry points nor hangoutLink until a later events.get.
            record.resource["conferenceData"] = {
                "createRequest": {**create_request, "status": {"statusCode": "pending"}}
            }
            record.resource.pop("hangoutLink", None)
            record.pending_reads_left = self.conference_pending_reads
            record.pending_result = (final, link)
        else:
            self._set_conference(record, final, link)

    @staticmethod
    def _set_conference(record: _EventRecord, data: dict, link: str | None) -> None:
        record.resource["conferenceData"] = data
        if link:
            record.resource["hangoutLink"] = link
        else:
            record.resource.pop("hangoutLink", None)
        record.pending_reads_left = 0
        record.pending_result = None

    def _advance_pending(self, record: _EventRecord) -> None:
        """events.get on a pending conference: the first ``conference_pending_reads`` gets still see
        "pending", the next one sees the final result."""
        if record.pending_result is None:
            return
        if record.pending_reads_left > 0:
            record.pending_reads_left -= 1
            return
        data, link = record.pending_result
        self._set_conference(record, data, link)
        self._touch(record)

    def _new_meet_code(self) -> str:
        letters = string.ascii_lowercase
        while True:
            code = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
            if code not in self._meet_codes:
                self._meet_codes.add(code)
                return code

    # ---- events.list -----------------------------------------------------------------------

    def _list(
        self,
        owner: str,
        calendar: dict[str, _EventRecord],
        query: dict[str, str],
        query_multi: dict[str, list[str]],
    ) -> _Response:
        items = [r.resource for r in calendar.values()]
        # [DISC] status: cancelled events are listed only with showDeleted (or incremental sync).
        if query.get("showDeleted") != "true":
            items = [e for e in items if e.get("status") != "cancelled"]
        if "iCalUID" in query:
            items = [e for e in items if e.get("iCalUID") == query["iCalUID"]]
        for param, scope in (
            ("privateExtendedProperty", "private"),
            ("sharedExtendedProperty", "shared"),
        ):
            for constraint in query_multi.get(param, []):
                name, _, value = constraint.partition("=")
                items = [
                    e
                    for e in items
                    if ((e.get("extendedProperties") or {}).get(scope) or {}).get(name) == value
                ]
        if query.get("q"):
            needle = query["q"].lower()
            items = [
                e
                for e in items
                if any(
                    needle in str(e.get(f) or "").lower()
                    for f in ("summary", "description", "location")
                )
            ]
        try:
            if "timeMin" in query:  # events ending after timeMin
                tmin = _parse_instant(query["timeMin"])
                items = [e for e in items if _bound(e, "end") > tmin]
            if "timeMax" in query:  # events starting before timeMax
                tmax = _parse_instant(query["timeMax"])
                items = [e for e in items if _bound(e, "start") < tmax]
            max_results = int(query.get("maxResults") or 250)
            offset = int(query.get("pageToken") or 0)
        except ValueError:
            raise _ApiError(400, "badRequest", "Bad Request") from None
        if query.get("orderBy") == "startTime":
            items = sorted(items, key=lambda e: _bound(e, "start"))
        elif query.get("orderBy") == "updated":
            items = sorted(items, key=lambda e: e.get("updated", ""))
        page = items[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{next(self._etag_counter):016d}"',
            "summary": owner,
            "description": "",
            "updated": max((e.get("updated", "") for e in items), default=_now_rfc3339()),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
        }
        if offset + max_results < len(items):
            body["nextPageToken"] = str(offset + max_results)
        else:
            body["nextSyncToken"] = "emu-sync-" + secrets.token_hex(8)
        body["items"] = [_ordered(copy.deepcopy(e)) for e in page]
        return _Response.json(200, body)

    # ---- bookkeeping -----------------------------------------------------------------------

    def _touch(self, record: _EventRecord, *, keep_updated: bool = False) -> None:
        """New etag (and `updated`) after every change of an event."""
        record.version += 1
        if not keep_updated:
            record.resource["updated"] = _now_rfc3339()
        # Google etags are quoted decimal numbers that change on every modification.
        record.resource["etag"] = (
            f'"{int(time.time() * 1000):013d}{next(self._etag_counter) % 1000:03d}"'
        )

    @staticmethod
    def _html_link(event_id: str, owner: str) -> str:
        eid = base64.urlsafe_b64encode(f"{event_id} {owner}".encode()).decode().rstrip("=")
        return f"https://www.google.com/calendar/event?eid={eid}"
