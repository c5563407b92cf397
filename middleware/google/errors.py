"""Google's failures mapped onto the project's error tree. Pure: no I/O.

* :func:`http_error`: a Calendar API answer, as plain values (status, ``errors[0].reason``,
  ``error.message``, ``Retry-After``), to a :class:`RetryableError` or :class:`PermanentError`
  with a stable ``reason`` (errors guide table, ref §2.2). :func:`from_http_error` is the thin
  adapter that reads those values off googleapiclient's ``HttpError``.
* :func:`refresh_error`: a token-endpoint failure (google-auth's ``RefreshError``, ref §3.3).
* :func:`not_json_error`: an answer of either API whose body is not Google's JSON (raised by
  :mod:`middleware.google.transport` before the libraries read it): retryable.

Messages are one line naming the fix and quote Google's text cut short, never a token or key.

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from middleware.errors import MiddlewareError, PermanentError, RetryableError, shorten
from middleware.google.scopes import SCOPE
from middleware.retry import GOOGLE_PROJECT_SCOPE, parse_retry_after, rep_scope

if TYPE_CHECKING:
    from google.auth.exceptions import RefreshError
    from googleapiclient.errors import HttpError

__all__ = [
    "DEFAULT_QUOTA_PARK_SECONDS",
    "error_status",
    "from_http_error",
    "http_error",
    "not_json_error",
    "refresh_error",
]

# Quota 403s: backoff alone rarely helps (ref §2.2, gotcha 4); Workspace's usage limits make
# the rep's calendar read-only "for hours" (hubspot-2026-and-calendar-lifecycle.md §B5), so
# the rep is parked at least this long by default (rules: retry.quota_park_minutes).
DEFAULT_QUOTA_PARK_SECONDS = 30 * 60.0


def http_error(
    status: int,
    reason: str,
    message: str,
    retry_after: float | None,
    *,
    op: str,
    organizer: str,
    calendar_id: str,
    event_id: str | None,
    quota_park: float = DEFAULT_QUOTA_PARK_SECONDS,
) -> MiddlewareError:
    """Map a Calendar API error (errors guide table, ref §2.2) to the project's tree.

    ``status`` is the HTTP status, ``reason`` Google's ``errors[0].reason`` ("" when absent),
    ``message`` its ``error.message``, ``retry_after`` the parsed ``Retry-After`` seconds,
    ``op`` the call ("insert", "get", "patch", "list", "calendars.get", "delete"),
    ``quota_park`` the shortest park (seconds) after ``quotaExceeded``/``dailyLimitExceeded``
    (those errors carry a ``park_scope``: the rep, or every rep). Returns
    (never raises) one of the reasons ``google_conference_type_invalid``,
    ``google_attendees_forbidden``, ``google_rate_limited``, ``google_quota_exceeded``,
    ``google_forbidden``, ``google_unavailable``, ``google_timeout``,
    ``google_calendar_not_found``, ``google_event_missing``, ``google_auth_failed`` or
    ``google_bad_request``.
    """
    said = shorten(message, 200)
    what = f"{op} of event {event_id}" if event_id else op
    if status == 400 and "Invalid conference type value" in message:
        # A caller that is not a Workspace user with Meet, e.g. a bare service account (ref §3.4).
        return PermanentError(
            "google_conference_type_invalid",
            f"Google would not attach a Meet link to {organizer}'s event (400 {said}): "
            f"Google Meet must be enabled for {organizer}'s organizational unit, and the "
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
            f"Google rate-limited {what} for {organizer} ({status} {reason or said})",
            retry_after=retry_after,
        )
    if status == 403 and reason == "quotaExceeded":
        # Workspace's per-user usage limits: the rep's calendar is read-only for hours, other
        # reps are unaffected (hubspot-2026-and-calendar-lifecycle.md §B5): park this rep only.
        wait = max(retry_after or 0.0, quota_park)
        return RetryableError(
            "google_quota_exceeded",
            f"Google Calendar usage limits exceeded for {organizer} (403 {reason}: "
            f"{said}); {organizer}'s events wait {wait / 60:g} min; if it keeps coming "
            "back, the rep sent too many invitations to external guests (Workspace limit)",
            retry_after=wait,
            park_scope=rep_scope(organizer),
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
            f"Google refused {what} in calendar {calendar_id!r} of {organizer} "
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
            f"calendar {calendar_id!r} of {organizer} not found (404 {said}): the "
            "rep cannot write to it; check meeting.calendar_id in the rules file "
            '("primary" is the rep\'s own calendar)',
        )
    if status == 404:
        # Answered 409 "exists" a moment ago; Google's ids are eventually consistent (ref §1.5).
        return RetryableError(
            "google_event_missing",
            f"event {event_id} in {organizer}'s calendar was reported to exist but "
            f"{op} found none (404); it will be tried again",
        )
    if status == 401:
        return PermanentError(
            "google_auth_failed",
            f"Google rejected the access token for {organizer} even after refreshing it "
            f"(401 {said}): check the service account key and its domain-wide delegation",
        )
    return PermanentError(
        "google_bad_request", f"Google refused the event ({status} {reason}): {said}"
    )


def not_json_error(
    status: int,
    content: bytes | str,
    retry_after: float | None,
    *,
    op: str,
    organizer: str,
) -> MiddlewareError:
    """An answer whose body is not Google's JSON (``op`` "token" for the token endpoint).

    Not Google's own answer (a proxy, a captive portal, a cut body), so retryable: the status
    still speaks for itself where it says all (408 ``google_timeout``, 429
    ``google_rate_limited``, 5xx ``google_unavailable``, or ``google_token_unavailable`` at
    the token endpoint); any other status, 2xx included, is ``google_bad_response``.
    """
    said = shorten(content, 200)
    where = "Google's token endpoint" if op == "token" else f"Google Calendar ({op})"
    if op == "token" and (status in (408, 429) or status >= 500):
        return RetryableError(
            "google_token_unavailable",
            f"{where} is not answering for {organizer} right now ({status}: {said!r})",
            retry_after=retry_after,
        )
    if status == 429:
        return RetryableError(
            "google_rate_limited",
            f"Google rate-limited {op} for {organizer} (429: {said!r})",
            retry_after=retry_after,
        )
    if status == 408:
        return RetryableError("google_timeout", f"Google timed out on {op} (408)")
    if status >= 500:
        return RetryableError(
            "google_unavailable",
            f"Google Calendar failed on {op} ({status}: {said!r})",
            retry_after=retry_after,
        )
    return RetryableError(
        "google_bad_response",
        f"{where} answered {status} for {organizer} with a body that is not JSON ({said!r}): "
        "not Google's own answer (a proxy or captive portal in the way, or "
        "GOOGLE_API_BASE_URL pointing elsewhere?); it will be tried again",
    )


def from_http_error(
    exc: HttpError,
    *,
    op: str,
    organizer: str,
    calendar_id: str,
    event_id: str | None,
    quota_park: float = DEFAULT_QUOTA_PARK_SECONDS,
) -> MiddlewareError:
    """:func:`http_error` of the values googleapiclient's ``HttpError`` carries.

    A ``Retry-After`` given as an HTTP date is turned into seconds against the clock (the one
    thing here that is not a function of its arguments alone). Never raises.
    """
    reason, message = _error_reason(exc)
    return http_error(
        error_status(exc),
        reason,
        message,
        parse_retry_after(_header(exc, "retry-after")),
        op=op,
        organizer=organizer,
        calendar_id=calendar_id,
        event_id=event_id,
        quota_park=quota_park,
    )


def error_status(exc: HttpError) -> int:
    """The HTTP status of an ``HttpError`` (0 when the response has none)."""
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


def refresh_error(
    exc: RefreshError, *, organizer: str, client_email: str, client_id: str
) -> MiddlewareError:
    """Map a token-endpoint failure (a ``RefreshError``, not an ``HttpError``: ref §3.3).

    Returns (never raises) ``google_delegation_denied``, ``google_key_invalid``,
    ``google_token_refused``, ``google_user_invalid`` or, when google-auth marks the failure
    retryable, ``google_token_unavailable``.
    """
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
