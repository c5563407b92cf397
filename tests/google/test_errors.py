"""The pure mapping of Google's failures onto the error tree, as tables; the ``HttpError``
adapter with real googleapiclient exceptions built in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

import middleware.google.errors as google_errors
from middleware.errors import MiddlewareError, PermanentError, RetryableError
from middleware.google.errors import (
    error_status,
    from_http_error,
    http_error,
    not_json_error,
    refresh_error,
)
from middleware.google.scopes import SCOPE
from tests.google.support import REP

CAL = "primary"
EVENT = "abc123"

# (status, errors[0].reason, error.message, op) → (error class, reason code); ref §2.2.
HTTP_TABLE = [
    (400, "invalid", "Invalid conference type value.", "insert", PermanentError, "google_conference_type_invalid"),
    (400, "invalid", "Invalid conference type value.", "patch", PermanentError, "google_conference_type_invalid"),
    (
        403,
        "forbiddenForServiceAccounts",
        "Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.",
        "insert",
        PermanentError,
        "google_attendees_forbidden",
    ),
    (429, "rateLimitExceeded", "Rate Limit Exceeded", "insert", RetryableError, "google_rate_limited"),
    (429, "", "Too Many Requests", "get", RetryableError, "google_rate_limited"),
    (403, "rateLimitExceeded", "Rate Limit Exceeded", "insert", RetryableError, "google_rate_limited"),
    (403, "userRateLimitExceeded", "User Rate Limit Exceeded", "patch", RetryableError, "google_rate_limited"),
    (403, "quotaExceeded", "Calendar usage limits exceeded.", "insert", RetryableError, "google_quota_exceeded"),
    (403, "dailyLimitExceeded", "Daily Limit Exceeded", "insert", RetryableError, "google_quota_exceeded"),
    (403, "forbiddenForNonOrganizer", "Shared properties ...", "patch", PermanentError, "google_forbidden"),
    (403, "forbidden", "Forbidden", "insert", PermanentError, "google_forbidden"),
    (403, "", "Forbidden", "list", PermanentError, "google_forbidden"),
    (500, "backendError", "Backend Error", "insert", RetryableError, "google_unavailable"),
    (502, "", "Bad Gateway", "get", RetryableError, "google_unavailable"),
    (503, "backendError", "Service Unavailable", "patch", RetryableError, "google_unavailable"),
    (408, "", "Request Timeout", "insert", RetryableError, "google_timeout"),
    (404, "notFound", "Not Found", "insert", PermanentError, "google_calendar_not_found"),
    (404, "notFound", "Not Found", "list", PermanentError, "google_calendar_not_found"),
    (404, "notFound", "Not Found", "calendars.get", PermanentError, "google_calendar_not_found"),
    (404, "notFound", "Not Found", "get", RetryableError, "google_event_missing"),
    (404, "notFound", "Not Found", "patch", RetryableError, "google_event_missing"),
    (401, "authError", "Invalid Credentials", "insert", PermanentError, "google_auth_failed"),
    (400, "invalid", "Invalid resource id value.", "insert", PermanentError, "google_bad_request"),
    (400, "required", "Missing end time.", "patch", PermanentError, "google_bad_request"),
    (409, "duplicate", "The requested identifier already exists.", "insert", PermanentError, "google_bad_request"),
    (410, "deleted", "Resource has been deleted", "patch", PermanentError, "google_bad_request"),
]  # fmt: skip

# Text of google-auth's RefreshError (ref §3.3), whether it is marked retryable → reason code.
TOKEN_TABLE = [
    ("unauthorized_client: Client is unauthorized to retrieve access tokens", False, "google_delegation_denied"),
    ("invalid_grant: Invalid JWT Signature.", False, "google_key_invalid"),
    ("invalid_grant: Invalid grant: account not found", False, "google_key_invalid"),
    ("invalid_grant: Invalid JWT: Failed audience check.", False, "google_token_refused"),
    ("invalid_grant: Invalid email or User ID", False, "google_user_invalid"),
    ("invalid_grant: The account has been deleted", False, "google_user_invalid"),
    ('invalid_request: Invalid impersonation "sub" field.', False, "google_user_invalid"),
    ("temporarily_unavailable: None", True, "google_token_unavailable"),
    ("access_denied: Requested client not authorized.", False, "google_token_refused"),
]  # fmt: skip

# An answer whose body is not Google's JSON: (status, op) → (reason code); all retryable.
NOT_JSON_TABLE = [
    (200, "insert", "google_bad_response"),
    (201, "patch", "google_bad_response"),
    (302, "get", "google_bad_response"),
    (400, "insert", "google_bad_response"),
    (401, "get", "google_bad_response"),
    (404, "get", "google_bad_response"),
    (200, "token", "google_bad_response"),
    (403, "token", "google_bad_response"),
    (408, "insert", "google_timeout"),
    (429, "insert", "google_rate_limited"),
    (500, "insert", "google_unavailable"),
    (502, "list", "google_unavailable"),
    (502, "token", "google_token_unavailable"),
    (429, "token", "google_token_unavailable"),
]


@pytest.mark.parametrize(("status", "op", "expected"), NOT_JSON_TABLE)
def test_an_answer_that_is_not_json_is_retryable(status: int, op: str, expected: str) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 5000 + b"</body></html>"
    err = not_json_error(status, page, 9.0, op=op, organizer=REP)
    assert type(err) is RetryableError and err.reason == expected
    assert len(err.message) < 500 and "\n" not in err.message
    if status != 408:
        assert "<html><body><h1>502 Bad Gateway</h1>" in err.message
    assert err.retry_after == (9.0 if status in (429, 500, 502) else None)
    if expected == "google_bad_response":
        assert f"answered {status} for {REP} with a body that is not JSON" in err.message


def api_error(
    status: int, reason: str, message: str, op: str = "insert", retry_after: float | None = None
) -> MiddlewareError:
    return http_error(
        status, reason, message, retry_after, op=op, organizer=REP, calendar_id=CAL, event_id=EVENT
    )


@pytest.mark.parametrize(("status", "reason", "message", "op", "kind", "expected"), HTTP_TABLE)
def test_http_error_table(
    status: int, reason: str, message: str, op: str, kind: type, expected: str
) -> None:
    err = api_error(status, reason, message, op)
    assert type(err) is kind
    assert err.reason == expected
    assert err.retryable is (kind is RetryableError)
    assert err.message and "\n" not in err.message


def test_tables_cover_every_reason_code_of_the_module() -> None:
    source = Path(google_errors.__file__).read_text()
    produced = set(re.findall(r'"(google_[a-z_]+)"', source))
    tables = (HTTP_TABLE, TOKEN_TABLE, NOT_JSON_TABLE)
    assert {row[-1] for table in tables for row in table} == produced


@pytest.mark.parametrize(
    ("status", "reason"), [(429, ""), (403, "rateLimitExceeded"), (503, ""), (408, "")]
)
def test_retry_after_is_kept(status: int, reason: str) -> None:
    assert api_error(status, reason, "busy", retry_after=7.0).retry_after == 7.0
    assert api_error(status, reason, "busy").retry_after is None


def test_quota_parks_the_rep_and_the_daily_limit_parks_everyone() -> None:
    quota = api_error(403, "quotaExceeded", "limits", retry_after=None)
    assert (quota.retry_after, quota.park_scope) == (1800, "google:rep@example.com")
    assert api_error(403, "quotaExceeded", "limits", retry_after=20.0).retry_after == 1800
    assert api_error(403, "quotaExceeded", "limits", retry_after=3600.0).retry_after == 3600
    daily = api_error(403, "dailyLimitExceeded", "limits")
    assert (daily.retry_after, daily.park_scope) == (1800, "google")
    shorter = http_error(
        403,
        "quotaExceeded",
        "x",
        None,
        op="insert",
        organizer=REP,
        calendar_id=CAL,
        event_id=EVENT,
        quota_park=60.0,
    )
    assert shorter.retry_after == 60.0


def test_messages_name_the_call_and_the_fix() -> None:
    assert api_error(400, "invalid", "Invalid resource id value.").message == (
        "Google refused the event (400 invalid): Invalid resource id value."
    )
    forbidden = api_error(403, "forbidden", "Forbidden", "patch").message
    assert f"patch of event {EVENT}" in forbidden and "'primary'" in forbidden
    assert SCOPE in forbidden
    listing = http_error(
        429, "", "slow down", None, op="list", organizer=REP, calendar_id=CAL, event_id=None
    )
    assert listing.message == f"Google rate-limited list for {REP} (429 slow down)"
    missing = api_error(404, "notFound", "Not Found", "get").message
    assert EVENT in missing and "it will be tried again" in missing
    long = api_error(400, "invalid", "x" * 5000).message
    assert len(long) < 400  # Google's text is cut short


# ---- the HttpError adapter -----------------------------------------------------------------------


def google_http_error(status: int, body: bytes | dict, headers: dict | None = None) -> HttpError:
    resp = httplib2.Response({"status": status, **(headers or {})})
    resp.reason = "Reason Phrase"
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    return HttpError(resp, content, uri="https://www.googleapis.com/calendar/v3/x")


def error_body(status: int, reason: str, message: str) -> dict:
    """Google's JSON error body (ref §2.1)."""
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "usageLimits", "reason": reason, "message": message}],
        }
    }


def adapt(exc: HttpError, op: str = "insert") -> MiddlewareError:
    return from_http_error(exc, op=op, organizer=REP, calendar_id=CAL, event_id=EVENT)


def test_adapter_reads_status_reason_and_retry_after() -> None:
    exc = google_http_error(
        403, error_body(403, "rateLimitExceeded", "Rate Limit Exceeded"), {"retry-after": "7"}
    )
    assert error_status(exc) == 403
    err = adapt(exc)
    assert (err.reason, err.retry_after) == ("google_rate_limited", 7.0)
    assert "rateLimitExceeded" in err.message


def test_adapter_reads_the_message_of_the_errors_list() -> None:
    exc = google_http_error(400, error_body(400, "invalid", "Invalid conference type value."))
    assert adapt(exc).reason == "google_conference_type_invalid"


def test_adapter_without_errors_list_uses_error_message() -> None:
    exc = google_http_error(400, {"error": {"code": 400, "message": "Bad value for start."}})
    err = adapt(exc)
    assert err.reason == "google_bad_request" and "Bad value for start." in err.message


def test_adapter_with_a_non_json_body_quotes_it_short() -> None:
    exc = google_http_error(502, b"<html>" + b"gateway " * 100 + b"</html>")
    err = adapt(exc, "get")
    assert err.reason == "google_unavailable"
    assert "<html>gateway" in err.message and len(err.message) < 400


def test_adapter_with_an_empty_body_uses_the_status_line() -> None:
    err = adapt(google_http_error(500, b""))
    assert err.reason == "google_unavailable" and "Reason Phrase" in err.message


# ---- the token endpoint --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "retryable", "expected"), TOKEN_TABLE)
def test_other_token_errors(text: str, retryable: bool, expected: str) -> None:
    err = refresh_error(
        RefreshError(text, {}, retryable=retryable),
        organizer=REP,
        client_email="sa@p.iam.gserviceaccount.com",
        client_id="42",
    )
    assert (err.reason, err.retryable) == (expected, retryable)
    assert err.message and "\n" not in err.message


def test_delegation_denied_names_client_id_and_scope() -> None:
    err = refresh_error(
        RefreshError("unauthorized_client: Client is unauthorized", {}),
        organizer=REP,
        client_email="sa@p.iam.gserviceaccount.com",
        client_id="42",
    )
    assert "client ID 42" in err.message and SCOPE in err.message
