"""Google Calendar through a service account impersonating the rep: one event, one Meet link.

:class:`GoogleCalendar` makes sure the Calendar event of a deal's demo exists, looks like its
:class:`~middleware.meetings.MeetingSpec` and carries a Google Meet link, however often it is
called for the same deterministic event id (crash, retry, replay, several workers):

* the event is inserted with a client-chosen id, so a repeat answers 409 ``duplicate`` (even
  after a delete) and turns into get, compare and, only when something differs, one patch
  (ref §1.5, §1.6);
* the Meet conference is asked for through ``conferenceData.createRequest`` with a stable
  ``requestId`` and ``conferenceDataVersion=1`` on every write (ref §1.1, gotcha 2); creation
  may be asynchronous, so a "pending" conference is polled with ``events.get`` (ref §1.3);
* every call is single-shot (``execute()`` without ``num_retries``): retrying is the
  pipeline's job, which reschedules on :class:`~middleware.errors.RetryableError`.

Every failure leaves as :class:`RetryableError` or :class:`PermanentError` with a stable
``reason`` and a message a person can act on, never with a token or key in it.

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md, which
quotes the Calendar discovery document, Google's errors guide and the google-auth sources.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from middleware.errors import (
    ConfigError,
    MiddlewareError,
    PermanentError,
    RetryableError,
    shorten,
)
from middleware.meetings import MeetingSpec
from middleware.retry import GOOGLE_PROJECT_SCOPE, parse_retry_after, rep_scope

__all__ = ["CHECK_SCOPE", "SCOPE", "CalendarEvent", "GoogleCalendar"]

#: The one scope the domain-wide delegation grant needs for events (insert/get/patch, ref §1.1).
SCOPE = "https://www.googleapis.com/auth/calendar.events"
#: Read-only scope used by :meth:`GoogleCalendar.check_access` only: ``calendars.get`` (which
#: holds ``conferenceProperties``) does not accept ``calendar.events`` (bundled calendar.v3.json).
CHECK_SCOPE = "https://www.googleapis.com/auth/calendar.calendars.readonly"

# Quota 403s: backoff alone rarely helps (ref §2.2, gotcha 4); Workspace's usage limits make
# the rep's calendar read-only "for hours" (hubspot-2026-and-calendar-lifecycle.md §B5), so
# the rep is parked at least this long by default (rules: retry.quota_park_minutes).
DEFAULT_QUOTA_PARK_SECONDS = 30 * 60.0
_MEET = "hangoutsMeet"


@dataclass(frozen=True)
class CalendarEvent:
    """The event as Google holds it after :meth:`GoogleCalendar.ensure_event`."""

    event_id: str
    calendar_id: str
    meet_url: str  # never empty
    html_link: str | None
    status: str  # "confirmed" etc.


@dataclass
class _Rep:
    """One impersonated rep: its delegated credentials (token cache) and a refresh lock."""

    credentials: service_account.Credentials
    lock: threading.Lock


@dataclass(frozen=True)
class _Call:
    """What one ensure_event/check_access call is about (for error messages)."""

    organizer: str
    calendar_id: str
    event_id: str | None = None


class GoogleCalendar:
    """Calendar v3 events with Meet links, created as the rep (domain-wide delegation).

    Thread-safe: credentials are shared per rep (one token per rep, not per event, ref §3.1,
    gotcha 7) but every call gets its own ``httplib2.Http``, which is not thread-safe
    (ref §4.4, gotcha 8).
    """

    def __init__(
        self,
        service_account_info: dict,
        *,
        api_base_url: str = "https://www.googleapis.com/",
        timeout: float = 30.0,
        conference_poll: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
        sleep: Callable[[float], None] = time.sleep,
        quota_park_seconds: float = DEFAULT_QUOTA_PARK_SECONDS,
    ) -> None:
        """Load the key. No network.

        ``quota_park_seconds``: the shortest park after a ``quotaExceeded`` or
        ``dailyLimitExceeded`` 403 (longer when Google's ``Retry-After`` says so).

        Raises :class:`ConfigError` (one line, never the key) when the key info cannot be
        loaded into ``service_account.Credentials``.
        """
        self._base = _load_credentials(service_account_info)
        self.client_email: str = self._base.service_account_email
        #: The number the Admin console's domain-wide delegation page asks for.
        self.client_id: str = str(service_account_info.get("client_id") or "(no client_id in key)")
        # api_endpoint replaces rootUrl + servicePath, so it must include calendar/v3 (ref §4.2).
        self._endpoint = api_base_url.rstrip("/") + "/calendar/v3/"
        self._timeout = timeout
        self._conference_poll = tuple(conference_poll)
        self._sleep = sleep
        self._quota_park_seconds = quota_park_seconds
        self._reps: dict[str, _Rep] = {}
        self._reps_lock = threading.Lock()

    @classmethod
    def from_key_file(cls, path: str, **kwargs: Any) -> GoogleCalendar:
        """Load a service-account JSON key file. Raises :class:`ConfigError` if unusable."""
        try:
            with open(path, encoding="utf-8") as handle:
                info = json.load(handle)
        except OSError as exc:
            raise ConfigError(
                f"GOOGLE_SERVICE_ACCOUNT_FILE: cannot read {path}: {exc.strerror or exc}"
            ) from exc
        except ValueError as exc:
            raise ConfigError(
                f"GOOGLE_SERVICE_ACCOUNT_FILE: {path} is not a JSON service account key"
            ) from exc
        if not isinstance(info, dict):
            raise ConfigError(f"GOOGLE_SERVICE_ACCOUNT_FILE: {path} is not a JSON object")
        return cls(info, **kwargs)

    # ---- public API ------------------------------------------------------------------------

    def ensure_event(
        self,
        *,
        organizer: str,
        calendar_id: str,
        event_id: str,
        spec: MeetingSpec,
        send_updates: str,
        request_id: str,
        verify: bool = False,
    ) -> CalendarEvent:
        """Make sure event ``event_id`` in ``organizer``'s ``calendar_id`` matches ``spec`` and
        has a Meet link; return it.

        Idempotent. ``verify=False`` inserts first (409 → get and reconcile); ``verify=True``
        is for a caller who believes the event exists: get first (404 → insert). Reconciling
        restores a cancelled event, patches fields that differ from ``spec`` and asks for a new
        conference when the old one failed or is missing; an event that already matches gets
        no write at all.

        Raises :class:`RetryableError` (``conference_pending``, ``conference_failed``,
        ``google_rate_limited``, ``google_quota_exceeded``, ``google_unavailable``,
        ``google_timeout``, ``google_unreachable``, ``google_token_unavailable``,
        ``google_event_missing``) or :class:`PermanentError` (``google_delegation_denied``,
        ``google_user_invalid``, ``google_key_invalid``, ``google_token_refused``,
        ``google_conference_type_invalid``, ``google_attendees_forbidden``,
        ``google_forbidden``, ``google_calendar_not_found``, ``google_auth_failed``,
        ``google_bad_request``), always ``from`` the library exception.
        """
        call = _Call(organizer=organizer, calendar_id=calendar_id, event_id=event_id)
        api = self._service(organizer, call)
        events = api.events()
        existing: dict | None = None
        if verify:
            existing = self._execute(
                events.get(calendarId=calendar_id, eventId=event_id), call, "get", allow=404
            )
        created: dict | None = None
        if existing is None:
            body = {"id": event_id, **_spec_fields(spec), "reminders": {"useDefault": True}}
            body["conferenceData"] = _create_request(request_id)
            created = self._execute(
                events.insert(
                    calendarId=calendar_id,
                    body=body,
                    conferenceDataVersion=1,  # without it createRequest is ignored (ref §1.1)
                    sendUpdates=send_updates,
                ),
                call,
                "insert",
                allow=409,
            )
            if created is None:
                # 409 duplicate: an earlier attempt made it (its response perhaps lost), or it
                # was deleted and keeps its id (ref §1.5). Reconcile what Google holds.
                existing = self._execute(
                    events.get(calendarId=calendar_id, eventId=event_id), call, "get"
                )
        rerequested = False
        if created is not None:
            event = created
        else:
            assert existing is not None  # _execute returns None only for the allowed status
            event = existing
            patch = _reconcile(existing, spec, organizer=organizer, request_id=request_id)
            if patch:  # no write (and no notification) when it already matches
                rerequested = "conferenceData" in patch
                event = self._patch(events, call, patch, send_updates)
        event = self._await_conference(events, call, event, request_id, send_updates, rerequested)
        return CalendarEvent(
            event_id=str(event.get("id") or event_id),
            calendar_id=calendar_id,
            meet_url=_meet_url(event) or "",
            html_link=event.get("htmlLink"),
            status=str(event.get("status") or "confirmed"),
        )

    def check_access(self, organizer: str, calendar_id: str = "primary") -> list[str]:
        """Problems that would stop events for ``organizer``; an empty list means none found.

        1. Mint a token as ``organizer`` with :data:`SCOPE` (domain-wide delegation, key,
           user) and list one event of ``calendar_id`` (the calendar exists and is writable
           with that scope).
        2. Read the calendar resource with :data:`CHECK_SCOPE` and check that
           ``conferenceProperties.allowedConferenceSolutionTypes`` contains ``hangoutsMeet``
           (ref §3.4). ``calendars.get`` does not accept :data:`SCOPE`; when the delegation
           grant has only :data:`SCOPE`, a probe event instead: a private event with no
           attendees on 2000-01-01, created with a Meet ``createRequest`` and
           ``sendUpdates=none``, then deleted (nobody is notified).

        Each problem is one line naming the fix. Expected failures are returned, never raised.
        """
        call = _Call(organizer=organizer, calendar_id=calendar_id)
        try:
            api = self._service(organizer, call)
            self._execute(api.events().list(calendarId=calendar_id, maxResults=1), call, "list")
        except MiddlewareError as err:
            return [err.message]
        try:
            creds = self._base.with_scopes([CHECK_SCOPE]).with_subject(_normal(organizer))
            http = google_auth_httplib2.AuthorizedHttp(
                creds, http=httplib2.Http(timeout=self._timeout)
            )
            calendar = self._execute(
                _build(http, self._endpoint).calendars().get(calendarId=calendar_id),
                call,
                "calendars.get",
            )
        except MiddlewareError as err:
            if err.reason == "google_delegation_denied":
                # The grant has only SCOPE: prove Meet works the only way that scope allows.
                return self._probe_meet(organizer, calendar_id)
            return [err.message]
        return conference_problems(calendar or {}, organizer=organizer, calendar_id=calendar_id)

    def _probe_meet(self, organizer: str, calendar_id: str) -> list[str]:
        call = _Call(organizer=organizer, calendar_id=calendar_id)
        probe_id = "probe" + uuid.uuid4().hex
        body = {
            "id": probe_id,
            "summary": "crm-meet-middleware check (deleted at once)",
            "start": {"dateTime": "2000-01-01T00:00:00Z"},
            "end": {"dateTime": "2000-01-01T00:15:00Z"},
            "visibility": "private",
            "transparency": "transparent",
            "reminders": {"useDefault": False},
            "conferenceData": _create_request(probe_id),
        }
        try:
            api = self._service(organizer, call)
            events = api.events()
            created = self._execute(
                events.insert(
                    calendarId=calendar_id, body=body, conferenceDataVersion=1, sendUpdates="none"
                ),
                call,
                "insert",
            )
        except MiddlewareError as err:
            return [err.message]
        problems: list[str] = []
        if _conference_status(created or {}) == "failure":
            problems.append(
                f"Google could not create a Meet conference in calendar {calendar_id!r} of {organizer}: "
                f"enable Google Meet for {organizer}'s organizational unit"
            )
        try:
            self._execute(
                events.delete(calendarId=calendar_id, eventId=probe_id, sendUpdates="none"),
                call,
                "delete",
            )
        except MiddlewareError as err:
            problems.append(f"could not delete the check's probe event {probe_id}: {err.message}")
        return problems

    # ---- plumbing --------------------------------------------------------------------------

    def _credentials(self, organizer: str, call: _Call) -> service_account.Credentials:
        """The rep's delegated credentials, with a token minted once per rep (not per event).

        ``with_subject`` returns a copy with its own token cache (ref §3.1), so the copies are
        kept per rep; the per-rep lock keeps concurrent first calls to a single token request.
        google-auth refreshes the token itself when it nears expiry.
        """
        key = _normal(organizer)
        with self._reps_lock:
            rep = self._reps.get(key)
            if rep is None:
                rep = _Rep(self._base.with_subject(key), threading.Lock())
                self._reps[key] = rep
        with rep.lock:
            if not rep.credentials.valid:
                request = google_auth_httplib2.Request(httplib2.Http(timeout=self._timeout))
                try:
                    rep.credentials.refresh(request)
                except Exception as exc:
                    translated = self._translate(exc, call, "token")
                    if translated is None:
                        raise
                    raise translated from exc
        return rep.credentials

    def _service(self, organizer: str, call: _Call) -> Any:
        """A Calendar client of its own (httplib2 is not thread-safe, ref §4.4) for this call.

        Static discovery: building makes no network call and takes about a millisecond (ref §4.1).
        """
        creds = self._credentials(organizer, call)
        http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=self._timeout))
        return _build(http, self._endpoint)

    def _execute(self, request: Any, call: _Call, op: str, *, allow: int | None = None) -> Any:
        """Run one request, single-shot. ``allow``: the status that returns None instead."""
        try:
            return request.execute()  # num_retries=0: the pipeline retries (ref §2.5)
        except HttpError as exc:
            if allow is not None and _status(exc) == allow:
                return None
            raise _http_error(exc, call, op, quota_park=self._quota_park_seconds) from exc
        except Exception as exc:
            translated = self._translate(exc, call, op)
            if translated is None:
                raise
            raise translated from exc

    def _patch(self, events: Any, call: _Call, body: dict, send_updates: str) -> dict:
        # conferenceDataVersion=1 on every modification or conference data is dropped (ref §1.1).
        result: dict = self._execute(
            events.patch(
                calendarId=call.calendar_id,
                eventId=call.event_id,
                body=body,
                conferenceDataVersion=1,
                sendUpdates=send_updates,
            ),
            call,
            "patch",
        )
        return result

    def _await_conference(
        self,
        events: Any,
        call: _Call,
        event: dict,
        request_id: str,
        send_updates: str,
        rerequested: bool,
    ) -> dict:
        """Return ``event`` once its Meet conference is ready (ref §1.3).

        "pending": poll ``events.get`` after each delay of ``conference_poll``. "failure" or no
        conference at all: ask once for a new one with a fresh ``requestId`` and poll again.
        """
        delays = iter(self._conference_poll)
        while True:
            state = _conference_state(event)
            if state == "ready":
                return event
            if state == "pending":
                delay = next(delays, None)
                if delay is None:
                    raise RetryableError(
                        "conference_pending",
                        f"Google is still creating the Meet conference of event {call.event_id} "
                        f"in {call.organizer}'s calendar after "
                        f"{sum(self._conference_poll):g} s; it will be checked again",
                    )
                self._sleep(delay)
                event = self._execute(
                    events.get(calendarId=call.calendar_id, eventId=call.event_id), call, "get"
                )
                continue
            if rerequested:
                raise RetryableError(
                    "conference_failed",
                    f"Google could not create a Meet conference for event {call.event_id} in "
                    f"{call.organizer}'s calendar (createRequest status {state}, also after "
                    "asking again); it will be asked again later",
                )
            rerequested = True
            delays = iter(self._conference_poll)
            body = {"conferenceData": _create_request(_next_request_id(request_id, event))}
            event = self._patch(events, call, body, send_updates)

    def _translate(self, exc: BaseException, call: _Call, op: str) -> MiddlewareError | None:
        """The project error for a library exception; None for one we do not know."""
        if isinstance(exc, RefreshError):
            return refresh_error(
                exc,
                organizer=call.organizer,
                client_email=self.client_email,
                client_id=self.client_id,
            )
        if isinstance(exc, HttpError):
            return _http_error(exc, call, op, quota_park=self._quota_park_seconds)
        if isinstance(exc, TimeoutError) or (
            isinstance(exc, TransportError) and _caused_by_timeout(exc)
        ):
            return RetryableError(
                "google_timeout",
                f"Google did not answer {op} for {call.organizer} within {self._timeout:g} s",
            )
        if isinstance(
            exc,
            (
                TransportError,
                httplib2.HttpLib2Error,
                http.client.HTTPException,
                ConnectionError,
                ssl.SSLError,
                OSError,
            ),
        ):
            return RetryableError(
                "google_unreachable",
                f"cannot reach Google for {op} as {call.organizer}: "
                f"{type(exc).__name__}: {shorten(str(exc), 200)}",
            )
        return None


# ---- error mapping (pure) -------------------------------------------------------------------


def refresh_error(
    exc: RefreshError, *, organizer: str, client_email: str, client_id: str
) -> MiddlewareError:
    """Map a token-endpoint failure (a ``RefreshError``, not an ``HttpError``: ref §3.3)."""
    text = str(exc.args[0]) if exc.args else str(exc)
    said = shorten(text, 200)
    if text.startswith("unauthorized_client"):
        # Delegation not granted for this client id, or not for exactly this scope (ref §3.3).
        return PermanentError(
            "google_delegation_denied",
            f"Google refused to let service account {client_email} act as {organizer} "
            "(unauthorized_client): in the Google Admin console → Security → API controls → "
            f"Domain-wide delegation, allow client ID {client_id} the scope {SCOPE}",
        )
    if text.startswith("invalid_grant") and (
        "Invalid JWT Signature" in text or "account not found" in text
    ):
        return PermanentError(
            "google_key_invalid",
            f"Google refused the service account key of {client_email} ({said}): the key was "
            "deleted or disabled, or the account is gone; create a new key and update "
            "GOOGLE_SERVICE_ACCOUNT_FILE",
        )
    if text.startswith("invalid_grant") and "Invalid JWT" in text:
        return PermanentError(
            "google_token_refused",
            f"Google refused the token request of {client_email} for {organizer} ({said}): "
            "check that this server's clock is correct",
        )
    if text.startswith("invalid_grant") or (
        text.startswith("invalid_request") and ("impersonation" in text or '"sub"' in text)
    ):
        return PermanentError(
            "google_user_invalid",
            f"Google does not know {organizer} as a user of a Workspace domain that trusts "
            f"service account {client_email} ({said}): make the deal owner a Google Workspace "
            "user, or fix the owner's email in the CRM",
        )
    if getattr(exc, "retryable", False):
        return RetryableError(
            "google_token_unavailable",
            f"Google's token endpoint is not answering for {organizer} right now ({said})",
        )
    return PermanentError(
        "google_token_refused",
        f"Google refused a token for service account {client_email} acting as {organizer} "
        f"({said}): check the service account key and domain-wide delegation",
    )


def _http_error(
    exc: HttpError, call: _Call, op: str, *, quota_park: float = DEFAULT_QUOTA_PARK_SECONDS
) -> MiddlewareError:
    """Map a Calendar API error (errors guide table, ref §2.2) to the project's tree.

    ``quota_park``: the shortest park (seconds) of a ``quotaExceeded``/``dailyLimitExceeded``.
    """
    status = _status(exc)
    reason, message = _error_reason(exc)
    said = shorten(message, 200)
    retry_after = parse_retry_after(_header(exc, "retry-after"))
    what = f"{op} of event {call.event_id}" if call.event_id else op
    if status == 400 and "Invalid conference type value" in message:
        # A caller that is not a Workspace user with Meet, e.g. a bare service account (ref §3.4).
        return PermanentError(
            "google_conference_type_invalid",
            f"Google would not attach a Meet link to {call.organizer}'s event (400 {said}): "
            f"Google Meet must be enabled for {call.organizer}'s organizational unit, and the "
            "event must be created as the rep (domain-wide delegation)",
        )
    if status == 403 and reason == "forbiddenForServiceAccounts":
        return PermanentError(
            "google_attendees_forbidden",
            f"Google refused attendees on an event created by the service account ({said}): "
            "events must be created as the rep through domain-wide delegation, not as the "
            "service account itself",
        )
    if status == 429 or (
        status == 403 and reason in ("rateLimitExceeded", "userRateLimitExceeded")
    ):
        # "rateLimitExceeded errors can return either 403 or 429 ... exponential backoff" (ref §2.2)
        return RetryableError(
            "google_rate_limited",
            f"Google rate-limited {what} for {call.organizer} ({status} {reason or said})",
            retry_after=retry_after,
        )
    if status == 403 and reason == "quotaExceeded":
        # Workspace's per-user usage limits: the rep's calendar is read-only for hours, other
        # reps are unaffected (hubspot-2026-and-calendar-lifecycle.md §B5): park this rep only.
        wait = max(retry_after or 0.0, quota_park)
        return RetryableError(
            "google_quota_exceeded",
            f"Google Calendar usage limits exceeded for {call.organizer} (403 {reason}: "
            f"{said}); {call.organizer}'s events wait {wait / 60:g} min; if it keeps coming "
            "back, the rep sent too many invitations to external guests (Workspace limit)",
            retry_after=wait,
            park_scope=rep_scope(call.organizer),
        )
    if status == 403 and reason == "dailyLimitExceeded":
        # The project's daily courtesy limit (older errors page, ref §2.2): every rep waits.
        wait = max(retry_after or 0.0, quota_park)
        return RetryableError(
            "google_quota_exceeded",
            f"Google Calendar daily limit of this Google Cloud project exceeded (403 {reason}: "
            f"{said}); every rep's events wait {wait / 60:g} min; raise the Calendar API quota "
            "in the Google Cloud console if it keeps coming back",
            retry_after=wait,
            park_scope=GOOGLE_PROJECT_SCOPE,
        )
    if status == 403:
        return PermanentError(
            "google_forbidden",
            f"Google refused {what} in calendar {call.calendar_id!r} of {call.organizer} "
            f"(403 {reason}: {said}): check that the rep owns that calendar and the delegation "
            f"grant has {SCOPE}",
        )
    if status >= 500:
        return RetryableError(
            "google_unavailable",
            f"Google Calendar failed on {what} ({status} {reason or said})",
            retry_after=retry_after,
        )
    if status == 408:
        return RetryableError(
            "google_timeout", f"Google timed out on {what} (408)", retry_after=retry_after
        )
    if status == 404 and op in ("insert", "list", "calendars.get"):
        return PermanentError(
            "google_calendar_not_found",
            f"calendar {call.calendar_id!r} of {call.organizer} not found (404 {said}): the "
            "rep cannot write to it; check meeting.calendar_id in the rules file "
            '("primary" is the rep\'s own calendar)',
        )
    if status == 404:
        # Answered 409 "exists" a moment ago; Google's ids are eventually consistent (ref §1.5).
        return RetryableError(
            "google_event_missing",
            f"event {call.event_id} in {call.organizer}'s calendar was reported to exist but "
            f"{op} found none (404); it will be tried again",
        )
    if status == 401:
        return PermanentError(
            "google_auth_failed",
            f"Google rejected the access token for {call.organizer} even after refreshing it "
            f"(401 {said}): check the service account key and its domain-wide delegation",
        )
    return PermanentError(
        "google_bad_request", f"Google refused the event ({status} {reason}): {said}"
    )


def conference_problems(
    calendar: Mapping[str, Any], *, organizer: str, calendar_id: str
) -> list[str]:
    """Problems with a calendar resource (``calendars.get``) for Meet conferences (ref §1.1)."""
    allowed = (calendar.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes")
    if _MEET in (allowed or []):
        return []
    listed = ", ".join(allowed or []) or "none"
    return [
        f"calendar {calendar_id!r} of {organizer} does not allow Google Meet conferences "
        f"(allowed: {listed}): enable Google Meet for {organizer}'s organizational unit in the "
        "Google Admin console → Apps → Google Workspace → Google Meet, or use the rep's "
        "primary calendar"
    ]


# ---- small pure helpers ----------------------------------------------------------------------


def _load_credentials(info: Mapping[str, Any]) -> service_account.Credentials:
    if not isinstance(info, Mapping):
        raise ConfigError("GOOGLE_SERVICE_ACCOUNT_FILE: the key is not a JSON object")
    kind = info.get("type")
    if kind not in (None, "service_account"):
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: a {shorten(str(kind), 40)!r} key, not a service "
            "account key; create a JSON key for the service account"
        )
    data = dict(info)
    key = data.get("private_key")
    if isinstance(key, str) and "\\n" in key and "\n" not in key:
        # A key pasted through an environment variable keeps literal "\n" (ref gotcha 11).
        data["private_key"] = key.replace("\\n", "\n")
    try:
        return service_account.Credentials.from_service_account_info(data, scopes=[SCOPE])
    except Exception as exc:  # key parsing raises ValueError, TypeError or cryptography errors
        detail = shorten(str(exc), 160)
        if "PRIVATE KEY" in detail or (isinstance(key, str) and key and key[:40] in detail):
            detail = "unreadable private key"  # never echo key material
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: not a usable service account key "
            f"({type(exc).__name__}: {detail})"
        ) from exc


def _build(http: Any, endpoint: str) -> Any:
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,  # bundled discovery document: no network (ref §4.1)
        cache_discovery=False,
        client_options={"api_endpoint": endpoint},
    )


def _normal(email: str) -> str:
    return email.strip().lower()


def _status(exc: HttpError) -> int:
    return int(getattr(exc.resp, "status", 0) or 0)


def _header(exc: HttpError, name: str) -> str | None:
    resp = exc.resp
    value = resp.get(name) if hasattr(resp, "get") else None
    return str(value) if value is not None else None


def _error_reason(exc: HttpError) -> tuple[str, str]:
    """(errors[0].reason, error.message) of Google's error body (ref §2.1)."""
    reason, message = "", ""
    details = exc.error_details
    if isinstance(details, list) and details and isinstance(details[0], dict):
        reason = str(details[0].get("reason") or "")
        message = str(details[0].get("message") or "")
    if not message:
        try:
            body = json.loads(exc.content)
            message = str(body["error"].get("message") or "")
        except (ValueError, TypeError, KeyError, AttributeError):
            message = shorten(exc.content, 200)
    return reason, message or str(getattr(exc.resp, "reason", "") or "")


def _caused_by_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError) or any(isinstance(a, TimeoutError) for a in seen.args):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _spec_fields(spec: MeetingSpec) -> dict[str, Any]:
    """The event fields the spec decides (ref §1.1 request shape)."""
    return {
        "summary": spec.title,
        "description": spec.description,
        "start": {"dateTime": spec.start.isoformat(), "timeZone": spec.timezone},
        "end": {"dateTime": spec.end.isoformat(), "timeZone": spec.timezone},
        "attendees": [{"email": a} for a in spec.attendees],
    }


def _create_request(request_id: str) -> dict[str, Any]:
    return {"createRequest": {"requestId": request_id, "conferenceSolutionKey": {"type": _MEET}}}


def _next_request_id(request_id: str, event: Mapping[str, Any]) -> str:
    """A new ``requestId`` for asking again: Google ignores a repeated one (ref §1.1).

    Derived from the previous one, so a crash between asking and recording asks with the same
    id next time (ignored, not a second conference), while each failed round gets a new id.
    """
    previous = _create_request_of(event).get("requestId") or ""
    digest = hashlib.sha256(str(previous).encode()).hexdigest()[:8]
    return f"{request_id}-{digest}"


def _create_request_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return (event.get("conferenceData") or {}).get("createRequest") or {}


def _conference_status(event: Mapping[str, Any]) -> str | None:
    return (_create_request_of(event).get("status") or {}).get("statusCode")


def _meet_url(event: Mapping[str, Any]) -> str | None:
    """The video entry point's URI, else ``hangoutLink`` (ref §1.2)."""
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or []:
        if isinstance(entry, dict) and entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    link = event.get("hangoutLink")
    return str(link) if link else None


def _conference_state(event: Mapping[str, Any]) -> str:
    """The conference of ``event``: "ready" (a Meet URL), "pending", "failure" or "missing"."""
    status = _conference_status(event)
    if status == "pending":
        return "pending"
    if status == "failure":
        return "failure"
    return "ready" if _meet_url(event) else "missing"


def _instant(value: Any) -> datetime | None:
    """An EventDateTime's ``dateTime`` as a UTC instant; None for all-day or unreadable."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _reconcile(
    event: Mapping[str, Any], spec: MeetingSpec, *, organizer: str, request_id: str
) -> dict[str, Any]:
    """The patch that makes ``event`` match ``spec`` with a Meet conference; {} when none.

    Times compare as UTC instants and attendees as lower-cased sets without the organizer,
    so an event that already matches gets no write (and no notification).
    """
    wanted = _spec_fields(spec)
    patch: dict[str, Any] = {}
    if event.get("status") == "cancelled":
        # Deleted events keep their id and are restored by writing them back (ref §1.5, §1.6).
        patch = {"status": "confirmed", **wanted}
    else:
        if (event.get("summary") or "") != spec.title:
            patch["summary"] = wanted["summary"]
        if (event.get("description") or "") != spec.description:
            patch["description"] = wanted["description"]
        if _instant(event.get("start")) != spec.start.astimezone(UTC):
            patch["start"] = wanted["start"]
        if _instant(event.get("end")) != spec.end.astimezone(UTC):
            patch["end"] = wanted["end"]
    me = _normal(organizer)
    existing = {
        _normal(str(a.get("email"))): a
        for a in event.get("attendees") or []
        if isinstance(a, dict) and a.get("email")
    }
    have = set(existing) - {me}
    want = {_normal(a) for a in spec.attendees} - {me}
    if "attendees" in patch or have != want:
        # Arrays are replaced by patch (ref §1.6): keep the entries (and answers) of guests
        # who stay invited.
        patch["attendees"] = [
            dict(existing.get(_normal(a)) or {"email": a}) for a in spec.attendees
        ]
    if _conference_state(event) in ("failure", "missing"):
        patch["conferenceData"] = _create_request(_next_request_id(request_id, event))
    return patch
