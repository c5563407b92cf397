"""Tests of the Google emulator, driven through the real google-auth / google-api-python-client
stack the service uses (token exchange and Calendar calls over real sockets)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

import google_auth_httplib2
import httplib2
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from tests.fakes.google_emulator import (
    GOOGLE_TOKEN_AUDIENCE,
    SCOPE_CALENDAR_EVENTS,
    GoogleEmulator,
)

pytestmark = pytest.mark.timeout(30)

REP = "rep@example.com"
MEET_CODE_RE = re.compile(r"^[a-z]{3}-[a-z]{4}-[a-z]{3}$")


# ---- fixtures / helpers ------------------------------------------------------------------------


@pytest.fixture
def emu():
    with GoogleEmulator() as emulator:
        yield emulator
        assert emulator.internal_errors == []


def make_creds(
    emu: GoogleEmulator, subject: str | None = REP, *, info: dict | None = None, scopes=None
):
    creds = service_account.Credentials.from_service_account_info(
        info or emu.service_account_info(), scopes=scopes or [SCOPE_CALENDAR_EVENTS]
    )
    return creds.with_subject(subject) if subject else creds


def make_service(emu: GoogleEmulator, subject: str | None = REP, **kwargs):
    return build(
        "calendar",
        "v3",
        credentials=make_creds(emu, subject, **kwargs),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": emu.base_url + "calendar/v3/"},
    )


@pytest.fixture
def svc(emu):
    return make_service(emu)


def event_body(
    event_id: str | None = None, *, meet: bool = True, request_id: str = "req-1", **extra
):
    body = {
        "summary": "Demo call",
        "start": {"dateTime": "2030-01-01T10:00:00Z"},
        "end": {"dateTime": "2030-01-01T10:30:00Z"},
        "attendees": [{"email": "lead@customer.example"}],
        **extra,
    }
    if event_id:
        body["id"] = event_id
    if meet:
        body["conferenceData"] = {
            "createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def new_id() -> str:
    return uuid.uuid4().hex  # [0-9a-f] is a subset of base32hex


def insert(svc, body, **params):
    params.setdefault("conferenceDataVersion", 1)
    return svc.events().insert(calendarId="primary", body=body, **params).execute()


def error_details(exc: HttpError) -> dict:
    return json.loads(exc.content)["error"]


def video_uri(ev: dict) -> str:
    return next(
        e["uri"] for e in ev["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"
    )


# ---- token endpoint ------------------------------------------------------------------------------


def test_token_minted_with_verified_claims(emu, svc):
    ev = insert(svc, event_body(new_id()))
    assert ev["organizer"] == {"email": REP, "self": True}

    [tok] = emu.token_requests
    assert tok["ok"] is True and tok["error"] is None
    assert tok["sub"] == REP
    assert tok["iss"] == emu.client_email
    assert tok["scope"] == SCOPE_CALENDAR_EVENTS
    # google-auth always uses Google's audience, even with a custom token_uri.
    assert tok["aud"] == GOOGLE_TOKEN_AUDIENCE
    assert tok["kid"] == emu.service_account_info()["private_key_id"]
    assert tok["exp"] - tok["iat"] == 3600
    assert "assertion" not in tok
    assert emu.requests[-1]["subject"] == REP
    assert emu.requests[-1]["query"]["conferenceDataVersion"] == "1"


def test_key_file_round_trip(emu, tmp_path):
    path = emu.write_key_file(tmp_path / "sa.json")
    info = json.loads(Path(path).read_text())
    assert info["type"] == "service_account"
    assert info["token_uri"] == emu.token_uri == emu.base_url + "token"
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    creds = service_account.Credentials.from_service_account_file(
        path, scopes=[SCOPE_CALENDAR_EVENTS], subject=REP
    )
    svc = build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": emu.base_url + "calendar/v3/"},
    )
    assert svc.events().list(calendarId="primary").execute()["items"] == []


def test_jwt_signed_by_other_key_is_refused(emu):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = emu.service_account_info()
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    svc = make_service(emu, info=info)
    with pytest.raises(RefreshError) as exc:
        insert(svc, event_body(new_id()))
    assert exc.value.args[0] == "invalid_grant: Invalid JWT Signature."
    assert emu.token_requests[-1]["ok"] is False
    assert emu.token_requests[-1]["error"] == "invalid_grant"
    assert emu.requests == []  # never reached the Calendar API


def test_refused_subject_unauthorized_client(emu):
    emu.refuse_subject(REP)
    with pytest.raises(RefreshError) as exc:
        insert(make_service(emu), event_body(new_id()))
    assert "unauthorized_client" in exc.value.args[0]
    assert exc.value.retryable is False
    assert len(emu.token_requests) == 1  # not retried by google-auth

    emu.allow_subject(REP)
    assert insert(make_service(emu), event_body(new_id()))["status"] == "confirmed"


def test_refused_subject_invalid_grant(emu):
    emu.refuse_subject(REP, "invalid_grant")
    with pytest.raises(RefreshError) as exc:
        insert(make_service(emu), event_body(new_id()))
    assert exc.value.args[0] == "invalid_grant: Invalid email or User ID"


def test_allowed_subjects_and_scopes():
    with GoogleEmulator(allowed_subjects={"Known@Example.com"}) as emu:
        with pytest.raises(RefreshError, match="unauthorized_client"):
            insert(make_service(emu, "stranger@example.com"), event_body(new_id()))
        assert insert(make_service(emu, "known@example.com"), event_body(new_id()))
        with pytest.raises(RefreshError, match="unauthorized_client"):
            insert(
                make_service(
                    emu, "known@example.com", scopes=["https://www.googleapis.com/auth/drive"]
                ),
                event_body(new_id()),
            )
        emu.allow_subject("stranger@example.com")
        assert insert(make_service(emu, "stranger@example.com"), event_body(new_id()))


def test_token_endpoint_raw_errors(emu):
    """Claim checks, exercised with hand-made assertions."""
    info = emu.service_account_info()
    signer = crypt.RSASigner.from_service_account_info(info)
    now = int(time.time())
    good = {
        "iss": emu.client_email,
        "sub": REP,
        "scope": SCOPE_CALENDAR_EVENTS,
        "aud": GOOGLE_TOKEN_AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }

    def post(claims=None, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"):
        assertion = jwt.encode(signer, {**good, **(claims or {})}).decode()
        return requests.post(
            emu.token_uri, data={"grant_type": grant_type, "assertion": assertion}, timeout=5
        )

    ok = post()
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3599

    bad = post(grant_type="client_credentials")
    assert (bad.status_code, bad.json()["error"]) == (400, "unsupported_grant_type")

    bad = post({"aud": emu.token_uri})  # a fake that checked its own URL would accept this
    assert bad.status_code == 400
    assert bad.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT: Failed audience check.",
    }

    bad = post({"iat": now - 7200, "exp": now - 3600})
    assert bad.json()["error"] == "invalid_grant"
    assert bad.json()["error_description"].startswith(
        "Invalid JWT: Token must be a short-lived token"
    )

    bad = post({"exp": now + 7200})  # longer than one hour
    assert bad.json()["error_description"].startswith("Invalid JWT: Token must be a short-lived")

    bad = post({"iss": "someone@else.iam.gserviceaccount.com"})
    assert bad.json()["error_description"] == "Invalid grant: account not found"

    bad = post({"scope": SCOPE_CALENDAR_EVENTS + " https://mail.google.com/"})
    assert (bad.status_code, bad.json()["error"]) == (401, "unauthorized_client")

    wrong_kid = crypt.RSASigner.from_string(info["private_key"], key_id="0" * 40)
    bad = requests.post(
        emu.token_uri,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt.encode(wrong_kid, good).decode(),
        },
        timeout=5,
    )
    assert bad.json()["error_description"] == "Invalid JWT Signature."

    # The bare service account (no sub) gets a token too.
    no_sub = {k: v for k, v in good.items() if k != "sub"}
    ok = requests.post(
        emu.token_uri,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": jwt.encode(signer, no_sub).decode(),
        },
        timeout=5,
    )
    assert ok.status_code == 200
    assert [t["ok"] for t in emu.token_requests] == [
        True, False, False, False, False, False, False, False, True
    ]  # fmt: skip


def test_calendar_rejects_unknown_token(emu):
    resp = requests.get(
        emu.base_url + "calendar/v3/calendars/primary/events",
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert resp.status_code == 401
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == {
        "error": {
            "errors": [
                {
                    "domain": "global",
                    "reason": "authError",
                    "message": "Invalid Credentials",
                    "locationType": "header",
                    "location": "Authorization",
                }
            ],
            "code": 401,
            "message": "Invalid Credentials",
        }
    }


def test_revoked_token_is_refreshed_by_client(emu, svc):
    insert(svc, event_body(new_id()))
    emu.revoke_tokens()
    assert svc.events().list(calendarId="primary").execute()["items"]
    # google-auth-httplib2 saw the 401, minted a new token and replayed the request.
    assert [r["status"] for r in emu.requests] == [200, 401, 200]
    assert len(emu.token_requests) == 2


# ---- events.insert / Meet ------------------------------------------------------------------------


def test_insert_with_meet_returns_video_entry_point(emu, svc):
    event_id = new_id()
    ev = insert(svc, event_body(event_id), sendUpdates="all")
    assert ev["kind"] == "calendar#event"
    assert ev["id"] == event_id
    assert ev["status"] == "confirmed"
    assert ev["iCalUID"] == f"{event_id}@google.com"
    assert ev["sequence"] == 0
    assert ev["eventType"] == "default"
    assert ev["reminders"] == {"useDefault": True}
    assert ev["creator"] == ev["organizer"] == {"email": REP, "self": True}
    assert ev["attendees"] == [{"email": "lead@customer.example", "responseStatus": "needsAction"}]
    assert ev["etag"].startswith('"') and ev["htmlLink"].startswith(
        "https://www.google.com/calendar/"
    )

    conf = ev["conferenceData"]
    assert conf["createRequest"]["status"]["statusCode"] == "success"
    assert conf["createRequest"]["requestId"] == "req-1"
    assert conf["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    assert conf["conferenceSolution"]["name"] == "Google Meet"
    assert MEET_CODE_RE.match(conf["conferenceId"])
    assert video_uri(ev) == f"https://meet.google.com/{conf['conferenceId']}" == ev["hangoutLink"]
    assert {e["entryPointType"] for e in conf["entryPoints"]} == {"video", "more", "phone"}

    assert emu.event(REP, event_id) == ev
    assert emu.events(REP) == [ev]
    assert emu.all_events() == [{**ev, "_calendar_owner": REP}]
    assert emu.requests[-1]["query"]["sendUpdates"] == "all"
    assert emu.requests[-1]["body"]["id"] == event_id


def test_generated_id_and_own_email_as_calendar_id(emu, svc):
    ev = svc.events().insert(calendarId=REP, body=event_body(meet=False)).execute()
    assert re.fullmatch(r"[a-v0-9]{32}", ev["id"])
    assert svc.events().get(calendarId=REP, eventId=ev["id"]).execute()["id"] == ev["id"]


def test_conference_ignored_without_conference_data_version(svc):
    ev = svc.events().insert(calendarId="primary", body=event_body(new_id())).execute()
    assert "conferenceData" not in ev and "hangoutLink" not in ev


def test_pending_conference_succeeds_after_n_gets(emu, svc):
    emu.conference_pending_reads = 2
    ev = insert(svc, event_body(new_id()))
    assert ev["conferenceData"] == {
        "createRequest": {
            "requestId": "req-1",
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "pending"},
        }
    }
    assert "hangoutLink" not in ev
    statuses = []
    for _ in range(3):
        got = svc.events().get(calendarId="primary", eventId=ev["id"]).execute()
        statuses.append(got["conferenceData"]["createRequest"]["status"]["statusCode"])
    assert statuses == ["pending", "pending", "success"]
    assert video_uri(got) == got["hangoutLink"]


def test_conference_failure(emu, svc):
    emu.conference_fail = True
    ev = insert(svc, event_body(new_id()))
    assert ev["conferenceData"]["createRequest"]["status"]["statusCode"] == "failure"
    assert "entryPoints" not in ev["conferenceData"] and "hangoutLink" not in ev

    # Recovery as in the create-events guide: patch with a fresh requestId.
    emu.conference_fail = False
    patched = (
        svc.events()
        .patch(
            calendarId="primary",
            eventId=ev["id"],
            conferenceDataVersion=1,
            body={
                "conferenceData": {
                    "createRequest": {
                        "requestId": "req-2",
                        "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    }
                }
            },
        )
        .execute()
    )
    assert patched["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert patched["hangoutLink"]


def test_same_request_id_is_ignored(svc):
    ev = insert(svc, event_body(new_id()))
    same = {
        "conferenceData": {
            "createRequest": {
                "requestId": "req-1",
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    }
    again = (
        svc.events()
        .patch(calendarId="primary", eventId=ev["id"], body=same, conferenceDataVersion=1)
        .execute()
    )
    assert again["hangoutLink"] == ev["hangoutLink"]
    # Without conferenceDataVersion=1 conference data is left alone.
    other = {"conferenceData": None, "summary": "Renamed"}
    kept = svc.events().patch(calendarId="primary", eventId=ev["id"], body=other).execute()
    assert kept["hangoutLink"] == ev["hangoutLink"] and kept["summary"] == "Renamed"


def test_duplicate_id_conflicts_even_after_delete(emu, svc):
    event_id = new_id()
    insert(svc, event_body(event_id))
    with pytest.raises(HttpError) as exc:
        insert(svc, event_body(event_id))
    assert exc.value.resp.status == 409
    assert exc.value.error_details == [
        {
            "domain": "global",
            "reason": "duplicate",
            "message": "The requested identifier already exists.",
        }
    ]

    assert (
        svc.events().delete(calendarId="primary", eventId=event_id, sendUpdates="all").execute()
        == ""
    )
    with pytest.raises(HttpError) as exc:
        insert(svc, event_body(event_id))
    assert exc.value.resp.status == 409

    with pytest.raises(HttpError) as exc:
        svc.events().delete(calendarId="primary", eventId=event_id).execute()
    assert exc.value.resp.status == 410
    assert exc.value.error_details == [
        {"domain": "global", "reason": "deleted", "message": "Resource has been deleted"}
    ]

    # get always returns cancelled events; list only with showDeleted.
    assert (
        svc.events().get(calendarId="primary", eventId=event_id).execute()["status"] == "cancelled"
    )
    assert svc.events().list(calendarId="primary").execute()["items"] == []
    listed = svc.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert [e["id"] for e in listed] == [event_id]
    assert emu.event(REP, event_id)["status"] == "cancelled"


def test_patch_restores_cancelled_event(emu, svc):
    ev = insert(svc, event_body(new_id()))
    svc.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    restored = (
        svc.events()
        .patch(
            calendarId="primary",
            eventId=ev["id"],
            conferenceDataVersion=1,
            body={
                "status": "confirmed",
                "start": {"dateTime": "2030-01-02T10:00:00Z"},
                "end": {"dateTime": "2030-01-02T10:30:00Z"},
            },
        )
        .execute()
    )
    assert restored["status"] == "confirmed"
    assert restored["sequence"] == 1
    assert restored["hangoutLink"] == ev["hangoutLink"]  # conference survives
    assert restored["attendees"] == ev["attendees"]
    assert restored["etag"] != ev["etag"]
    assert emu.event(REP, ev["id"])["status"] == "confirmed"


def test_update_replaces_writable_fields(svc):
    ev = insert(svc, event_body(new_id(), description="old", location="Room 1"))
    body = {
        "summary": "Moved",
        "start": {"dateTime": "2030-01-01T12:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2030-01-01T12:30:00", "timeZone": "Europe/Berlin"},
    }
    updated = svc.events().update(calendarId="primary", eventId=ev["id"], body=body).execute()
    assert updated["summary"] == "Moved"
    assert "description" not in updated and "location" not in updated and "attendees" not in updated
    assert updated["id"] == ev["id"] and updated["created"] == ev["created"]
    assert updated["hangoutLink"] == ev["hangoutLink"]  # conferenceDataVersion=0 keeps it
    assert updated["sequence"] == 1


def test_missing_and_absent_events_404(svc):
    with pytest.raises(HttpError) as exc:
        svc.events().get(calendarId="primary", eventId="abcdef12345").execute()
    assert exc.value.resp.status == 404
    assert exc.value.error_details == [
        {"domain": "global", "reason": "notFound", "message": "Not Found"}
    ]
    with pytest.raises(HttpError) as exc:
        svc.events().list(calendarId="someone.else@example.com").execute()
    assert exc.value.resp.status == 404
    for call in (
        svc.events().delete(calendarId="primary", eventId="abcdef12345"),
        svc.events().patch(calendarId="primary", eventId="abcdef12345", body={"summary": "x"}),
    ):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert exc.value.resp.status == 404


# ---- validation errors --------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["abc", "Uppercase123", "mwxyz12345", "has-dash-123"])
def test_invalid_event_id(svc, bad_id):
    with pytest.raises(HttpError) as exc:
        insert(svc, event_body(bad_id))
    assert exc.value.resp.status == 400
    assert exc.value.error_details == [
        {"domain": "global", "reason": "invalid", "message": "Invalid resource id value."}
    ]


def test_invalid_conference_type(emu, svc):
    body = event_body(new_id())
    body["conferenceData"]["createRequest"]["conferenceSolutionKey"]["type"] = "eventHangout"
    with pytest.raises(HttpError) as exc:
        insert(svc, body)
    assert exc.value.resp.status == 400
    assert exc.value.error_details[0]["message"] == "Invalid conference type value."
    assert emu.events(REP) == []  # nothing stored


def test_bare_service_account_restrictions(emu):
    bare = make_service(emu, subject=None)
    with pytest.raises(HttpError) as exc:
        insert(bare, event_body(new_id(), meet=False))
    assert exc.value.resp.status == 403
    assert exc.value.error_details == [
        {
            "domain": "calendar",
            "reason": "forbiddenForServiceAccounts",
            "message": "Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.",
        }
    ]
    # A bare SA cannot create Meet conferences: the infamous "Invalid conference type value."
    with pytest.raises(HttpError) as exc:
        insert(bare, event_body(new_id(), attendees=[]))
    assert exc.value.resp.status == 400
    assert exc.value.error_details[0]["message"] == "Invalid conference type value."
    # Without attendees/conference it works, in the SA's own calendar.
    ev = insert(bare, event_body(new_id(), meet=False, attendees=[]))
    assert ev["organizer"]["email"] == emu.client_email
    assert emu.requests[-1]["subject"] is None
    assert emu.event(emu.client_email, ev["id"]) is not None


def test_time_validation(svc):
    body = event_body(new_id(), meet=False)
    del body["end"]
    with pytest.raises(HttpError) as exc:
        insert(svc, body)
    assert exc.value.error_details[0] == {
        "domain": "global",
        "reason": "required",
        "message": "Missing end time.",
    }

    body = event_body(new_id(), meet=False, end={"dateTime": "2030-01-01T09:00:00Z"})
    with pytest.raises(HttpError) as exc:
        insert(svc, body)
    assert exc.value.error_details[0] == {
        "domain": "calendar",
        "reason": "timeRangeEmpty",
        "message": "The specified time range is empty.",
    }


# ---- fault injection / delays / holds --------------------------------------------------------------


def test_injected_503_then_success(emu, svc):
    emu.inject_fault("insert", 503)
    body = event_body(new_id())
    with pytest.raises(HttpError) as exc:
        insert(svc, body)  # num_retries=0 (default)
    assert exc.value.resp.status == 503
    assert exc.value.error_details[0]["reason"] == "backendError"
    assert emu.events(REP) == []  # faults never touch state
    assert insert(svc, body)["id"] == body["id"]
    assert [r["status"] for r in emu.requests] == [503, 200]


def test_injected_fault_retried_by_client(emu, svc):
    emu.inject_fault("insert", 429, reason="rateLimitExceeded", domain="usageLimits", times=2)
    req = svc.events().insert(
        calendarId="primary", body=event_body(new_id()), conferenceDataVersion=1
    )
    req._sleep = lambda _s: None  # skip the library's backoff sleeps
    assert req.execute(num_retries=2)["status"] == "confirmed"
    assert [r["status"] for r in emu.requests] == [429, 429, 200]


def test_injected_token_fault(emu):
    emu.inject_fault("token", 400, reason="invalid_grant", message="Invalid JWT Signature.")
    with pytest.raises(RefreshError, match=r"invalid_grant: Invalid JWT Signature\."):
        insert(make_service(emu), event_body(new_id()))
    assert emu.token_requests[0]["sub"] == REP and emu.token_requests[0]["ok"] is False


def test_delay_provokes_client_timeout_but_is_applied(emu):
    creds = make_creds(emu)
    svc = make_service(emu)
    body = event_body(new_id())
    emu.inject_delay("insert", 0.6)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=0.2))
    with pytest.raises((TimeoutError, OSError)):
        svc.events().insert(calendarId="primary", body=body, conferenceDataVersion=1).execute(
            http=http
        )
    deadline = time.monotonic() + 5
    while emu.event(REP, body["id"]) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.event(REP, body["id"]) is not None  # Google finished what the client gave up on


def test_hold_commit_first(emu):
    body = event_body(new_id())
    hold = emu.hold("insert")
    result: dict = {}

    def call():
        result["ev"] = insert(make_service(emu), body)  # own service: httplib2 is not thread-safe

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    assert hold.started.wait(5)
    assert emu.event(REP, body["id"]) is not None  # committed while the response is withheld
    assert hold.request is not None and hold.request["status"] == 200
    worker.join(0.2)
    assert worker.is_alive() and "ev" not in result
    hold.release()
    worker.join(5)
    assert result["ev"]["id"] == body["id"]


def test_hold_without_commit(emu):
    body = event_body(new_id())
    hold = emu.hold("insert", commit_first=False)
    worker = threading.Thread(target=lambda: insert(make_service(emu), body), daemon=True)
    worker.start()
    assert hold.wait_started(5)
    time.sleep(0.1)
    assert emu.event(REP, body["id"]) is None
    hold.release()
    worker.join(5)
    assert emu.event(REP, body["id"]) is not None


def test_stop_releases_holds():
    emu = GoogleEmulator().start()
    hold = emu.hold("list")
    worker = threading.Thread(
        target=lambda: make_service(emu).events().list(calendarId="primary").execute(), daemon=True
    )
    worker.start()
    assert hold.started.wait(5)
    started = time.monotonic()
    emu.stop()
    assert hold.released.is_set()
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5


def test_list_filters(svc):
    a = insert(
        svc, event_body(new_id(), meet=False, extendedProperties={"private": {"booking": "42"}})
    )
    insert(
        svc,
        event_body(
            new_id(),
            meet=False,
            start={"dateTime": "2030-02-01T10:00:00Z"},
            end={"dateTime": "2030-02-01T11:00:00Z"},
        ),
    )
    found = svc.events().list(calendarId="primary", privateExtendedProperty="booking=42").execute()
    assert [e["id"] for e in found["items"]] == [a["id"]]
    window = svc.events().list(calendarId="primary", timeMin="2030-01-15T00:00:00Z").execute()
    assert len(window["items"]) == 1 and window["items"][0]["id"] != a["id"]
    assert (
        svc.events().list(calendarId="primary", iCalUID=a["iCalUID"]).execute()["items"][0]["id"]
        == a["id"]
    )


def test_concurrent_clients(emu):
    errors: list[BaseException] = []

    def worker():
        try:
            svc = make_service(emu)  # one service (httplib2.Http) per thread
            for _ in range(5):
                insert(svc, event_body(new_id()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    events = emu.events(REP)
    assert len(events) == 40
    assert len({e["conferenceData"]["conferenceId"] for e in events}) == 40


def test_calendars_get_needs_a_calendar_scope_and_reports_meet(emu: GoogleEmulator) -> None:
    readonly = "https://www.googleapis.com/auth/calendar.calendars.readonly"
    emu.allowed_scopes = set(emu.allowed_scopes) | {readonly}
    api = make_service(emu, REP, scopes=[readonly])
    cal = api.calendars().get(calendarId="primary").execute()
    assert cal["conferenceProperties"]["allowedConferenceSolutionTypes"] == ["hangoutsMeet"]
    emu.meet_disabled.add(REP.lower())
    cal = api.calendars().get(calendarId="primary").execute()
    assert cal["conferenceProperties"]["allowedConferenceSolutionTypes"] == []
    events_only = make_service(emu, REP)
    with pytest.raises(HttpError) as scope_err:
        events_only.calendars().get(calendarId="primary").execute()
    assert scope_err.value.resp.status == 403
    with pytest.raises(HttpError) as insert_err:
        insert(events_only, event_body(new_id()), conferenceDataVersion=1)
    assert "Invalid conference type value." in str(insert_err.value)


def test_usage_limited_user_reads_but_cannot_write(emu: GoogleEmulator) -> None:
    rep_a, rep_b = REP, "other.rep@example.com"
    svc_a, svc_b = make_service(emu, rep_a), make_service(emu, rep_b)
    kept = insert(svc_a, event_body(new_id()))
    emu.usage_limited.add(rep_a.lower())
    with pytest.raises(HttpError) as err:
        insert(svc_a, event_body(new_id()))
    assert err.value.resp.status == 403
    assert error_details(err.value)["errors"][0] == {
        "domain": "usageLimits",
        "reason": "quotaExceeded",
        "message": "Calendar usage limits exceeded.",
    }
    # Viewing still works; other users are unaffected.
    assert svc_a.events().get(calendarId="primary", eventId=kept["id"]).execute()["id"]
    assert insert(svc_b, event_body(new_id()))["status"] == "confirmed"
    emu.usage_limited.clear()
    assert insert(svc_a, event_body(new_id()))["status"] == "confirmed"
