"""The exception tree.

Every failure the service can meet while processing an event is one of two kinds:

* :class:`RetryableError`: the same call may succeed later (timeouts, connection errors,
  HTTP 429, 5xx, Google's rate-limit 403s). The event goes to ``retrying`` with backoff.
* :class:`PermanentError`: retrying cannot help until a person fixes something (bad data,
  a rep Google refuses to impersonate, a missing CRM property, other 4xx). The event goes
  to ``failed`` at once.

Each error carries a stable machine-readable ``reason`` code (listed in the README's
troubleshooting table) and a message a person can act on. Messages never contain secrets:
response bodies are cut short and tokens are never formatted into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Reason(StrEnum):
    """Every ``reason`` code an event, an attempt or an error can carry: the one list.

    The README's *Troubleshooting* table lists exactly these (a test checks it); an error made
    with a code not listed here raises ``ValueError`` at once, so a typo never reaches an
    operator.
    """

    # Google: delegation, key, token
    GOOGLE_DELEGATION_DENIED = "google_delegation_denied"
    GOOGLE_USER_INVALID = "google_user_invalid"
    GOOGLE_KEY_INVALID = "google_key_invalid"
    GOOGLE_TOKEN_REFUSED = "google_token_refused"
    GOOGLE_TOKEN_UNAVAILABLE = "google_token_unavailable"
    # Google: a rep's own OAuth connection (not connected, revoked, expired)
    GOOGLE_OAUTH_RECONNECT = "google_oauth_reconnect"
    # Google: Calendar
    GOOGLE_CONFERENCE_TYPE_INVALID = "google_conference_type_invalid"
    GOOGLE_ATTENDEES_FORBIDDEN = "google_attendees_forbidden"
    GOOGLE_CALENDAR_NOT_FOUND = "google_calendar_not_found"
    GOOGLE_FORBIDDEN = "google_forbidden"
    GOOGLE_AUTH_FAILED = "google_auth_failed"
    GOOGLE_BAD_REQUEST = "google_bad_request"
    GOOGLE_RATE_LIMITED = "google_rate_limited"
    GOOGLE_QUOTA_EXCEEDED = "google_quota_exceeded"
    GOOGLE_UNAVAILABLE = "google_unavailable"
    GOOGLE_TIMEOUT = "google_timeout"
    GOOGLE_UNREACHABLE = "google_unreachable"
    GOOGLE_BAD_RESPONSE = "google_bad_response"
    GOOGLE_EVENT_MISSING = "google_event_missing"
    GOOGLE_RESTORE_REFUSED = "google_restore_refused"
    CONFERENCE_PENDING = "conference_pending"
    CONFERENCE_FAILED = "conference_failed"
    # CRM
    CRM_UNAUTHORIZED = "crm_unauthorized"
    CRM_FORBIDDEN = "crm_forbidden"
    CRM_PROPERTY_MISSING = "crm_property_missing"
    CRM_PROPERTY_READ_ONLY = "crm_property_read_only"
    CRM_BAD_REQUEST = "crm_bad_request"
    CRM_RATE_LIMITED = "crm_rate_limited"
    CRM_UNAVAILABLE = "crm_unavailable"
    CRM_TIMEOUT = "crm_timeout"
    CRM_UNREACHABLE = "crm_unreachable"
    CRM_BAD_RESPONSE = "crm_bad_response"
    CRM_LOCKED = "crm_locked"
    CRM_MIGRATING = "crm_migrating"
    CRM_DAILY_LIMIT = "crm_daily_limit"
    CRM_WRONG_ACCOUNT = "crm_wrong_account"
    CRM_VALIDATION_RULE = "crm_validation_rule"
    DEAL_NOT_FOUND = "deal_not_found"
    OWNER_NOT_FOUND = "owner_not_found"
    # The deal's data
    MISSING_OWNER = "missing_owner"
    MISSING_START = "missing_start"
    BAD_START = "bad_start"
    # The service itself
    NOT_CONFIGURED = "not_configured"
    WORKER_LOST = "worker_lost"
    INTERNAL_ERROR = "internal_error"
    LEASE_EXPIRED = "lease_expired"
    # The event store (a webhook answered 503, ``/readyz`` not ready)
    STORE_BUSY = "store_busy"
    STORE_FULL = "store_full"
    STORE_READ_ONLY = "store_read_only"
    STORE_UNREACHABLE = "store_unreachable"
    # Outcomes that are not failures
    NOT_IN_TRIGGER_STAGE = "not_in_trigger_stage"
    WAITING_FOR_START = "waiting_for_start"
    WAITING_FOR_OWNER = "waiting_for_owner"
    DEAL_DELETED = "deal_deleted"


class MiddlewareError(Exception):
    """Base of every error the service raises on purpose."""

    retryable: bool = False

    def __init__(
        self,
        reason: Reason | str,
        message: str,
        *,
        retry_after: float | None = None,
        park_scope: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = Reason(reason)  # ValueError for a code that is not in the list
        self.message = message
        #: seconds the remote side asked us to wait (``Retry-After``), if any.
        self.retry_after = retry_after
        #: Set on a retryable error that is a long, account- or rep-wide wait rather than a
        #: fault of this event (HubSpot's ``DAILY`` 429 or 477 migration, Google's
        #: ``quotaExceeded``): e.g. ``"hubspot:62515"`` or ``"google:rep@example.com"``. The
        #: event is *parked* for ``retry_after`` seconds (uncapped) without spending an attempt,
        #: and every other event of the same scope waits too, without calling the remote side.
        self.park_scope = park_scope

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={str(self.reason)!r}, message={self.message!r})"


class RetryableError(MiddlewareError):
    """A transient fault: try again later."""

    retryable = True


class PermanentError(MiddlewareError):
    """A fault that needs a person: do not retry."""

    retryable = False


class RestoreRefused(PermanentError):
    """Google will not make a cancelled event live again (the restore was refused, or the
    cancelled event is gone: "other cancelled events will eventually disappear"). The
    pipeline then makes the deal's next event id instead; never shown as a failure."""

    def __init__(self, message: str) -> None:
        super().__init__("google_restore_refused", message)


class StoreUnavailable(RetryableError):
    """The event store cannot take a write now: locked by another writer past the wait
    (``store_busy``), out of space (``store_full``), read-only (``store_read_only``), or not
    answering (``store_unreachable``). A webhook is answered 503 with ``Retry-After`` so the
    CRM sends it again; ``/readyz`` answers 503 naming the same reason."""

    def __init__(
        self, reason: Reason | str, message: str, *, retry_after: float, detail: str = ""
    ) -> None:
        super().__init__(reason, message, retry_after=retry_after)
        #: the database driver's own words, for the log (may name hosts or paths)
        self.detail = detail


class SkipEvent(Exception):
    """The event needs no work (the deal left the trigger stage, waits for its start…)."""

    def __init__(self, message: str, reason: Reason | str = "not_in_trigger_stage") -> None:
        super().__init__(message)
        self.message = message
        self.reason = Reason(reason)


class ConfigError(Exception):
    """Bad settings or rules file. The message is one line naming the key and the problem."""


class WebhookError(Exception):
    """A webhook request that must be refused. ``status`` is the HTTP status to answer;
    ``refusal`` is the metric's reason label (``middleware_webhook_refused_total``)."""

    status = 400
    refusal = "refused"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: extra response headers, e.g. ``WWW-Authenticate`` on a 401 for basic auth
        self.headers: dict[str, str] = dict(headers or {})
        if status is not None:
            self.status = status
        if self.status == 503:
            self.refusal = "disabled"


class SignatureError(WebhookError):
    """Missing, stale or wrong signature or credentials (HTTP 401)."""

    status = 401
    refusal = "unauthorized"


class PayloadError(WebhookError):
    """A body that is not what the provider sends (HTTP 400)."""

    status = 400
    refusal = "bad_body"


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message``, for a CLI or start-up error (never a traceback)."""
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:limit]}" if first else type(exc).__name__


def shorten(text: str | bytes | None, limit: int = 300) -> str:
    """Cut a remote response body short for an error message."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
