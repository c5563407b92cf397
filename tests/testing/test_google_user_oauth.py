"""The Google emulator's OAuth for web server apps (``middleware.testing.google.user_oauth``):
consent, the authorization-code grant with PKCE, the refresh-token grant, revocation.

Driven by the libraries the service uses (google-auth-oauthlib's ``Flow`` for the code grant,
google-auth's user ``Credentials`` for refreshing, googleapiclient for Calendar), and by plain
HTTP where a library would hide the answer, over real sockets."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse

import pytest
import requests
from google.auth import jwt
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from middleware.testing.google import SCOPE_CALENDAR_EVENTS, GoogleEmulator
from tests.testing.google_client import event_body, new_id

pytestmark = pytest.mark.timeout(30)

USER = "alex@seller.example"
REDIRECT = "http://localhost:8000/connect/google/callback"
SCOPES = ["openid", "https://www.googleapis.com/auth/userinfo.email", SCOPE_CALENDAR_EVENTS]


@pytest.fixture(autouse=True)
def _plain_http_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// endpoints unless told they are a local test server.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def flow(emu: GoogleEmulator, **kwargs) -> Flow:
    return Flow.from_client_config(
        emu.oauth_client_config(REDIRECT), scopes=SCOPES, redirect_uri=REDIRECT, **kwargs
    )


def consent(emu: GoogleEmulator, url: str) -> dict[str, str]:
    """Follow the authorization URL as the browser does; the redirect's query."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def connected(emu: GoogleEmulator, user: str = USER) -> dict:
    """A whole consent and code exchange as ``user``; the token answer."""
    f = flow(emu)
    url, state = f.authorization_url(access_type="offline", prompt="consent", login_hint=user)
    back = consent(emu, url)
    assert back["state"] == state
    return f.fetch_token(code=back["code"])


def calendar(emu: GoogleEmulator, creds: Credentials):
    return build(
        "calendar",
        "v3",
        credentials=creds,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": emu.base_url + "calendar/v3/"},
    )


def user_credentials(emu: GoogleEmulator, refresh_token: str) -> Credentials:
    return Credentials(
        None,
        refresh_token=refresh_token,
        token_uri=emu.token_uri,
        client_id=emu.oauth_client_id,
        client_secret=emu.oauth_client_secret,
        scopes=[SCOPE_CALENDAR_EVENTS],
    )


def test_consent_and_code_exchange_give_a_refresh_token_and_a_signed_id_token(
    emu: GoogleEmulator,
) -> None:
    token = connected(emu)
    assert token["refresh_token"].startswith("1//") and token["token_type"] == "Bearer"
    assert set(token["scope"]) == set(SCOPES)
    claims = jwt.decode(token["id_token"], certs={emu._key.key_id: emu._key.public_pem})
    assert claims["aud"] == emu.oauth_client_id and claims["iss"] == "https://accounts.google.com"
    assert (claims["email"], claims["email_verified"]) == (USER, True)
    [asked] = emu.consent_requests
    assert asked["access_type"] == "offline" and asked["prompt"] == "consent"
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"] is True
    [grant] = [t for t in emu.token_requests if t["grant_type"] == "authorization_code"]
    assert grant["ok"] is True


def test_the_access_token_acts_as_the_user_who_consented(emu: GoogleEmulator) -> None:
    token = connected(emu)
    creds = user_credentials(emu, token["refresh_token"])
    created = calendar(emu, creds).events().insert(calendarId="primary", body=event_body(new_id()))
    event = created.execute()
    assert event["organizer"] == {"email": USER, "self": True}
    assert [e["id"] for e in emu.events(USER)] == [event["id"]]


def test_pkce_a_code_made_for_another_challenge_is_refused(emu: GoogleEmulator) -> None:
    ours, theirs = flow(emu), flow(emu)
    ours.authorization_url(access_type="offline", login_hint=USER)  # our verifier
    url, _ = theirs.authorization_url(access_type="offline", login_hint=USER)
    code = consent(emu, url)["code"]
    with pytest.raises(Exception, match="Invalid code verifier"):
        ours.fetch_token(code=code)
    # The code was spent by the refused attempt, as at Google (a code is used once).
    with pytest.raises(Exception, match="Malformed auth code"):
        theirs.fetch_token(code=code)


def test_pkce_the_verifier_is_required_once_a_challenge_was_sent(emu: GoogleEmulator) -> None:
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    url, _ = flow(emu, code_verifier=verifier).authorization_url(login_hint=USER)
    assert f"code_challenge={challenge.decode()}" in url
    code = consent(emu, url)["code"]
    answer = requests.post(
        emu.token_uri,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": emu.oauth_client_id,
            "client_secret": emu.oauth_client_secret,
        },
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Missing code verifier.",
    }


def test_no_refresh_token_without_offline_access(emu: GoogleEmulator) -> None:
    f = flow(emu)
    url, _ = f.authorization_url(access_type="online", login_hint=USER)
    token = f.fetch_token(code=consent(emu, url)["code"])
    assert "refresh_token" not in token and token["access_token"]


@pytest.mark.parametrize(
    "change,status,error",
    [
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"redirect_uri": "https://evil.example/cb"}, 400, "redirect_uri_mismatch"),
    ],
)
def test_the_consent_screen_refuses_an_unknown_client_or_redirect(
    emu: GoogleEmulator, change: dict, status: int, error: str
) -> None:
    url, _ = flow(emu).authorization_url(login_hint=USER)
    parts = urllib.parse.urlsplit(url)
    query = {**dict(urllib.parse.parse_qsl(parts.query)), **change}
    answer = requests.get(
        parts._replace(query=urllib.parse.urlencode(query)).geturl(),
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == status and answer.json()["error"] == error
    assert "Location" not in answer.headers


def test_the_user_may_refuse_or_untick_the_calendar(emu: GoogleEmulator) -> None:
    emu.consent_denied = True
    url, state = flow(emu).authorization_url(login_hint=USER)
    assert consent(emu, url) == {"error": "access_denied", "state": state}
    emu.consent_denied = False
    emu.consent_unticked = {SCOPE_CALENDAR_EVENTS}
    url, _ = flow(emu).authorization_url(login_hint=USER)
    assert SCOPE_CALENDAR_EVENTS not in consent(emu, url)["scope"].split()


def test_the_signed_in_account_is_the_one_that_consents(emu: GoogleEmulator) -> None:
    emu.signed_in = "someone.else@gmail.example"
    f = flow(emu)
    url, _ = f.authorization_url(access_type="offline", login_hint=USER)
    token = f.fetch_token(code=consent(emu, url)["code"])
    assert jwt.decode(token["id_token"], verify=False)["email"] == "someone.else@gmail.example"


def test_refresh_then_revocation_makes_invalid_grant(emu: GoogleEmulator) -> None:
    token = connected(emu)
    creds = user_credentials(emu, token["refresh_token"])
    creds.refresh(Request())
    assert creds.valid and emu.oauth_grants(USER)
    service = calendar(emu, creds)
    assert emu.revoke_grants(USER) == 1 and emu.oauth_grants(USER) == []
    with pytest.raises(RefreshError, match="invalid_grant: Token has been expired or revoked"):
        # the access token died with its grant: 401, the library refreshes, Google refuses
        service.events().list(calendarId="primary").execute()
    with pytest.raises(RefreshError, match="invalid_grant"):
        user_credentials(emu, token["refresh_token"]).refresh(Request())


def test_the_revoke_endpoint(emu: GoogleEmulator) -> None:
    token = connected(emu)
    answer = requests.post(
        emu.base_url + "revoke", data={"token": token["refresh_token"]}, timeout=5
    )
    assert answer.status_code == 200
    again = requests.post(
        emu.base_url + "revoke", params={"token": token["refresh_token"]}, timeout=5
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    with pytest.raises(RefreshError, match="invalid_grant"):
        user_credentials(emu, token["refresh_token"]).refresh(Request())


def test_a_wrong_client_secret_is_invalid_client(emu: GoogleEmulator) -> None:
    token = connected(emu)
    creds = user_credentials(emu, token["refresh_token"])
    creds._client_secret = "GOCSPX-wrong"
    with pytest.raises(RefreshError, match="invalid_client"):
        creds.refresh(Request())


def test_the_oldest_refresh_token_goes_past_the_limit(emu: GoogleEmulator) -> None:
    emu.refresh_token_limit = 2
    first, second, third = (connected(emu)["refresh_token"] for _ in range(3))
    with pytest.raises(RefreshError, match="invalid_grant"):
        user_credentials(emu, first).refresh(Request())
    for live in (second, third):
        user_credentials(emu, live).refresh(Request())
    assert len(emu.oauth_grants(USER)) == 2


def test_calendar_refuses_a_token_without_the_calendar_scope(emu: GoogleEmulator) -> None:
    emu.consent_unticked = {SCOPE_CALENDAR_EVENTS}
    f = flow(emu)
    url, _ = f.authorization_url(access_type="offline", login_hint=USER)
    try:
        f.fetch_token(code=consent(emu, url)["code"])
    except Warning as changed:  # oauthlib: "Scope has changed"
        token = dict(changed.token)  # type: ignore[attr-defined]
    creds = Credentials(token["access_token"])
    with pytest.raises(HttpError) as info:
        calendar(emu, creds).events().list(calendarId="primary").execute()
    assert info.value.resp.status == 403
