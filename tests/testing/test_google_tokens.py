"""The token endpoint of the Google emulator (``middleware.testing.google.tokens``): JWT-bearer
grants verified with the key, subject and scope refusals, Google's error bodies.

Driven through the real google-auth / google-api-python-client stack the service uses, over
real sockets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from googleapiclient.discovery import build

from middleware.testing.google import (
    GOOGLE_TOKEN_AUDIENCE,
    SCOPE_CALENDAR_EVENTS,
    GoogleEmulator,
)
from tests.testing.google_client import (
    REP,
    event_body,
    insert,
    make_service,
    new_id,
)

pytestmark = pytest.mark.timeout(30)


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
