"""The emulator's state: stored events, issued tokens, armed faults, and the settings tests flip.

Every part of the emulator (token endpoint, Calendar resources, fault injection) is a mixin over
``EmulatorState``, so they share one lock and one set of attributes, as the single class did.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .hold import Hold
from .keys import shared_key
from .random_faults import RandomFaults
from .scopes import DEFAULT_ALLOWED_SCOPES
from .server import Server

# The operations faults, delays and holds can be armed for.
OPS = (
    "token", "insert", "get", "patch", "update", "delete", "list", "calendar_get", "move",
    "instances",
)  # fmt: skip

# Field order of Google's responses (cosmetic, makes dumps easy to compare with real ones).
_RESPONSE_ORDER = (
    "kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary", "description",
    "location", "colorId", "creator", "organizer", "start", "end", "endTimeUnspecified",
    "recurrence", "transparency", "visibility", "iCalUID", "sequence", "attendees",
    "extendedProperties", "hangoutLink", "conferenceData", "reminders", "eventType",
)  # fmt: skip


@dataclass
class Token:
    subject: str | None  # lower-cased impersonated user; None = the bare service account
    scopes: frozenset[str]
    expiry: float
    #: the refresh token (user OAuth grant) it was issued from; revoking that grant ends it
    grant: str | None = None


@dataclass
class EventRecord:
    """One stored event: the public resource plus server-side bookkeeping."""

    resource: dict
    version: int = 0
    conf_request_id: str | None = None  # requestId of the last processed createRequest
    pending_reads_left: int = 0
    # Conference data (and hangoutLink) to reveal once the pending reads are used up.
    pending_result: tuple[dict, str | None] | None = None
    #: a recurring event's changed occurrences: original start (UTC, YYYYMMDDTHHMMSSZ) → what
    #: the exception overrides (``recurring.py``)
    exceptions: dict[str, dict] = field(default_factory=dict)


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def norm(email: str) -> str:
    """Google treats e-mail addresses case-insensitively; calendars are keyed by the lower-case form."""
    return email.strip().lower()


def ordered(resource: dict) -> dict:
    out = {k: resource[k] for k in _RESPONSE_ORDER if k in resource}
    out.update({k: v for k, v in resource.items() if k not in out})
    return out


class EmulatorState:
    """All mutable state of one emulator. State is protected by ``_lock`` (re-entrant)."""

    def __init__(
        self,
        *,
        allowed_subjects: set[str] | None = None,
        allowed_scopes: set[str] | None = None,
    ) -> None:
        # None = every subject "exists" and has DWD granted; otherwise only these may be impersonated.
        self.allowed_subjects: set[str] | None = (
            None if allowed_subjects is None else {norm(s) for s in allowed_subjects}
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
        # The time zone of each user's primary calendar: the top-level ``timeZone`` of an
        # events.list answer (hubspot-2026-and-calendar-lifecycle.md §B4). Default UTC.
        self.time_zones: dict[str, str] = {}
        # Unconfirmed (reference addendum §B2): whether Google lets a cancelled event be written
        # back. Event ids listed here answer 403 to a patch/update that restores them.
        self.restore_refused: set[str] = set()
        # Cancelled events that "eventually disappear" (Event.status docs): gone from get and
        # list (404), their id still taken (insert: 409), as Google keeps deleted ids.
        self._gone: dict[str, set[str]] = {}

        # User OAuth (``user_oauth``): the one registered web client, its redirect URIs, the
        # account signed in to the "browser" (None: the request's login_hint), and how the
        # user answers the consent screen (refuses; unticks scopes at granular consent).
        self.oauth_client_id = "1234567890-emulator.apps.googleusercontent.com"
        self.oauth_client_secret = "GOCSPX-emulator-" + secrets.token_urlsafe(12)
        self.oauth_redirect_uris: set[str] = set()
        self.signed_in: str | None = None
        self.consent_denied = False
        self.consent_unticked: set[str] = set()
        self.refresh_token_limit = 100
        self.consent_requests: list[dict] = []
        self._codes: dict[str, Any] = {}
        self._grants: dict[str, Any] = {}

        self.token_requests: list[dict] = []
        self.requests: list[dict] = []
        # Tracebacks of unexpected exceptions inside handlers (answered as 500 backendError).
        self.internal_errors: list[str] = []

        self._lock = threading.RLock()
        self._key = shared_key()
        self._verifier = self._key.verifier
        self._refused: dict[str, str] = {}
        self._tokens: dict[str, Token] = {}
        self._calendars: dict[str, dict[str, EventRecord]] = {}
        self._meet_codes: set[str] = set()
        self._faults: dict[str, list[dict]] = {op: [] for op in OPS}
        self._delays: dict[str, list[list]] = {op: [] for op in OPS}
        self._wire: dict[str, list[dict]] = {op: [] for op in OPS}
        self._holds: dict[str, list[Hold]] = {op: [] for op in OPS}
        self._all_holds: list[Hold] = []
        self._random: RandomFaults | None = None
        self._etag_counter = itertools.count(1)
        #: Answer over HTTP/1.1 and keep connections alive, as Google's front ends do. Off by
        #: default (HTTP/1.0: one request per connection, so none outlives stop()); the
        #: connections accepted are counted in ``connections_accepted`` either way.
        self.keep_alive = False
        self.connections_accepted = 0
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def _touch(self, record: EventRecord, *, keep_updated: bool = False) -> None:
        """New etag (and `updated`) after every change of an event."""
        record.version += 1
        if not keep_updated:
            record.resource["updated"] = now_rfc3339()
        # Google etags are quoted decimal numbers that change on every modification.
        record.resource["etag"] = (
            f'"{int(time.time() * 1000):013d}{next(self._etag_counter) % 1000:03d}"'
        )
