"""The connect flow, ``/connect/google``: a rep connects their own calendar through the
service's pages and Google's consent screen (the emulator), and every way it must refuse."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from google_auth_oauthlib.flow import Flow

from middleware.google.connect import CONNECT_SCOPES
from middleware.google.scopes import SCOPE
from middleware.settings import Settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.token_cipher import TokenCipher
from tests.oauth.support import REDIRECT_URI, Browser, link_for

pytestmark = pytest.mark.timeout(60)

REP = "alex@seller.example"


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_a_rep_connects_and_the_token_is_stored_sealed(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings, sqlite_store: Store
) -> None:
    page = browser.connect(link_for(oauth_settings, REP))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f"The Google calendar of {REP} is connected" in page.get_data(as_text=True)
    [asked] = google.consent_requests
    assert (asked["access_type"], asked["prompt"], asked["login_hint"]) == (
        "offline",
        "consent",
        REP,
    )
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"] is True
    assert set(asked["scope"].split()) == set(CONNECT_SCOPES)
    record = sqlite_store.google_connection(REP)
    assert record is not None and (record.state, record.generation) == ("connected", 1)
    assert SCOPE in record.scopes
    [token] = google.refresh_tokens(REP)
    assert token not in record.sealed_refresh_token and token not in repr(record)
    opened = TokenCipher(oauth_settings.google_token_keys).open(record.sealed_refresh_token)
    assert opened == token
    [audit], _ = sqlite_store.list_audit(limit=5)
    assert (audit.action, audit.actor) == ("google_connect", f"connect:{REP}")
    assert token not in (audit.target or "")


def test_connecting_again_makes_a_new_generation(
    browser: Browser, oauth_settings: Settings, sqlite_store: Store
) -> None:
    for _ in range(2):
        assert browser.connect(link_for(oauth_settings, REP)).status_code == 200
    record = sqlite_store.google_connection(REP)
    assert record is not None and record.generation == 2


def test_the_flow_cookie_is_sealed_http_only_and_scoped(
    browser: Browser, oauth_settings: Settings
) -> None:
    started = browser.open_link(link_for(oauth_settings, REP))
    assert started.status_code == 302
    cookie = started.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/connect/google" in cookie
    state = query_of(started.headers["Location"])["state"]
    assert state not in cookie  # sealed, not readable by the page or a proxy


@pytest.mark.parametrize("tamper", ["other rep", "bad signature", "no signature"])
def test_a_link_the_service_did_not_make_is_refused(
    browser: Browser, oauth_settings: Settings, google: GoogleEmulator, tamper: str
) -> None:
    link = link_for(oauth_settings, REP)
    query = query_of(link)
    if tamper == "other rep":
        query["rep"] = "mallory@seller.example"
    elif tamper == "bad signature":
        query["sig"] = query["sig"][:-2] + "AA"
    else:
        del query["sig"]
    answer = browser.client.get("/connect/google?" + urllib.parse.urlencode(query))
    assert answer.status_code == 403 and "not valid" in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers and google.consent_requests == []


def test_a_state_that_is_not_this_browsers_is_refused(
    browser: Browser, oauth_settings: Settings, sqlite_store: Store
) -> None:
    started = browser.open_link(link_for(oauth_settings, REP))
    callback = browser.consent(started.headers["Location"])
    forged = callback.replace("state=", "state=x", 1)
    answer = browser.back(forged, Accept="application/json")
    assert answer.status_code == 400 and answer.json["reason"] == "state_mismatch"
    assert "open your connect link again" in answer.json["error"]
    assert sqlite_store.google_connection(REP) is None


def test_a_callback_in_another_browser_is_refused(
    browser: Browser, oauth_app: Any, oauth_settings: Settings, sqlite_store: Store
) -> None:
    started = browser.open_link(link_for(oauth_settings, REP))
    callback = browser.consent(started.headers["Location"])
    elsewhere = Browser(oauth_app.test_client())  # no flow cookie
    answer = elsewhere.back(callback)
    assert answer.status_code == 400 and "expired or was started in another browser" in (
        answer.get_data(as_text=True)
    )
    assert sqlite_store.google_connection(REP) is None


def test_pkce_a_code_obtained_for_another_verifier_is_refused(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings, sqlite_store: Store
) -> None:
    """An attacker slips a code made for their own PKCE challenge into the rep's callback
    (with the rep's state): Google refuses it, as the verifier does not match."""
    started = browser.open_link(link_for(oauth_settings, REP))
    state = query_of(started.headers["Location"])["state"]
    theirs = Flow.from_client_config(
        google.oauth_client_config(REDIRECT_URI),
        scopes=list(CONNECT_SCOPES),
        redirect_uri=REDIRECT_URI,
    )
    url, _ = theirs.authorization_url(access_type="offline", prompt="consent", login_hint=REP)
    code = query_of(browser.consent(url))["code"]
    answer = browser.back(
        f"{REDIRECT_URI}?{urllib.parse.urlencode({'state': state, 'code': code})}",
        Accept="application/json",
    )
    assert answer.status_code == 400 and answer.json["reason"] == "code_refused"
    assert "Invalid code verifier" in answer.json["error"]
    assert sqlite_store.google_connection(REP) is None
    assert code not in answer.get_data(as_text=True)


def test_the_wrong_google_account_is_refused_with_a_clear_page(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings, sqlite_store: Store
) -> None:
    google.signed_in = "alex.private@gmail.example"
    page = browser.connect(link_for(oauth_settings, REP))
    text = page.get_data(as_text=True)
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert "alex.private@gmail.example" in text and f"this link is for {REP}" in text
    assert "nothing was connected" in text
    assert sqlite_store.google_connection(REP) is None
    assert sqlite_store.google_connection("alex.private@gmail.example") is None


@pytest.mark.parametrize("answer", ["declined", "calendar unticked"])
def test_a_declined_or_partial_consent_connects_nothing(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    sqlite_store: Store,
    answer: str,
) -> None:
    if answer == "declined":
        google.consent_denied = True
    else:
        google.consent_unticked = {SCOPE}
    page = browser.connect(link_for(oauth_settings, REP), Accept="application/json")
    assert page.status_code == 403
    assert page.json["reason"] == (
        "access_denied" if answer == "declined" else "calendar_not_granted"
    )
    assert sqlite_store.google_connection(REP) is None


def test_google_down_at_the_exchange_is_a_page_not_a_traceback(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings
) -> None:
    started = browser.open_link(link_for(oauth_settings, REP))
    callback = browser.consent(started.headers["Location"])
    google.inject_fault("token", 503, reason="backend_error", times=1)
    page = browser.back(callback, Accept="application/json")
    assert page.status_code in (400, 502) and "error" in page.json


def test_without_oauth_settings_the_pages_say_so(client: Any) -> None:
    answer = client.get(
        "/connect/google?rep=a@b.example&sig=x", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 404 and "not enabled" in answer.json["error"]
    assert client.get("/connect/google/callback").status_code == 404


def test_no_secret_in_a_page_or_the_log(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings, caplog: Any
) -> None:
    caplog.set_level("DEBUG")
    pages = [browser.connect(link_for(oauth_settings, REP)).get_data(as_text=True)]
    google.signed_in = "other@seller.example"
    pages.append(browser.connect(link_for(oauth_settings, REP)).get_data(as_text=True))
    secrets = [*google.refresh_tokens(REP), *google.refresh_tokens("other@seller.example")]
    secrets.append(google.oauth_client_secret)
    seen = "\n".join(pages) + caplog.text
    assert len(secrets) == 3 and not [s for s in secrets if s in seen]
