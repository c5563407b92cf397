"""The OAuth credential source under the Calendar adapter: a rep's refresh token from the
store, one access token per rep, and what each refusal of Google's becomes."""

from __future__ import annotations

from typing import Any

import pytest
from google.auth.transport.requests import Request

from middleware.errors import PermanentError, RetryableError
from middleware.google import GoogleCalendar
from middleware.google.credentials import Call
from middleware.google.oauth import OAuthRefreshError
from middleware.google.oauth_errors import oauth_refresh_error, waiting_rep
from middleware.meetings import MeetingSpec
from middleware.settings import Settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.wiring import google_calendar
from tests.oauth.support import Browser, link_for

pytestmark = pytest.mark.timeout(60)
REP = "alex@seller.example"


def spec() -> MeetingSpec:
    from datetime import UTC, datetime, timedelta

    start = datetime(2030, 1, 7, 15, tzinfo=UTC)
    return MeetingSpec(
        title="Demo",
        description="d",
        start=start,
        end=start + timedelta(minutes=30),
        attendees=(),
        organizer=REP,
        timezone="UTC",
    )


def book(calendar: GoogleCalendar, event_id: str) -> Any:
    return calendar.ensure_event(
        organizer=REP,
        calendar_id="primary",
        event_id=event_id,
        spec=spec(),
        send_updates="none",
        request_id="req-" + event_id,
    )


@pytest.fixture
def calendar(oauth_settings: Settings, sqlite_store: Store) -> GoogleCalendar:
    found = google_calendar(oauth_settings, sqlite_store)
    assert isinstance(found, GoogleCalendar) and found.client_email is None  # no key at all
    return found


def refreshes(google: GoogleEmulator) -> list[dict]:
    return [t for t in google.token_requests if t["grant_type"] == "refresh_token"]


def test_a_connected_rep_books_as_themselves_with_one_token(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings, calendar: GoogleCalendar
) -> None:
    browser.connect(link_for(oauth_settings, REP))
    first, second = book(calendar, "oauthevent001"), book(calendar, "oauthevent002")
    assert first.meet_url and second.meet_url
    assert {e["organizer"]["email"] for e in google.events(REP)} == {REP}
    assert len(refreshes(google)) == 1  # minted once, reused


def test_a_new_connection_is_used_at_once(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings, calendar: GoogleCalendar
) -> None:
    browser.connect(link_for(oauth_settings, REP))
    book(calendar, "oauthevent003")
    google.revoke_grants(REP)  # the old token dies, the rep connects again before any failure
    browser.connect(link_for(oauth_settings, REP))
    assert book(calendar, "oauthevent004").meet_url
    assert len(google.refresh_tokens(REP)) == 2
    assert len(refreshes(google)) == 2 and refreshes(google)[-1]["ok"]


def test_a_refusal_of_an_older_generation_never_breaks_the_new_one(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    calendar: GoogleCalendar,
    sqlite_store: Store,
) -> None:
    browser.connect(link_for(oauth_settings, REP))
    source = calendar._client.credentials.oauth
    assert source is not None
    held = source.for_rep(REP, Call(REP, "primary"))  # a worker holds generation 1
    google.revoke_grants(REP)
    browser.connect(link_for(oauth_settings, REP))  # generation 2
    with pytest.raises(OAuthRefreshError) as info:
        held.refresh(Request())
    assert info.value.generation == 1
    error = source.token_error(info.value, Call(REP, "primary"))
    assert isinstance(error, RetryableError) and "connected their Google calendar again" in str(
        error
    )
    record = sqlite_store.google_connection(REP)
    assert record is not None and (record.state, record.generation) == ("connected", 2)


def test_revoked_marks_the_connection_broken_and_names_the_link(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    calendar: GoogleCalendar,
    sqlite_store: Store,
) -> None:
    browser.connect(link_for(oauth_settings, REP))
    google.revoke_grants(REP)
    with pytest.raises(PermanentError) as info:
        book(calendar, "oauthevent005")
    assert info.value.reason == "google_oauth_reconnect"
    assert info.value.message.startswith(
        f"rep {REP} must reconnect at {link_for(oauth_settings, REP)}"
    )
    assert waiting_rep(info.value.message) == REP
    record = sqlite_store.google_connection(REP)
    assert record is not None and record.state == "broken"
    for token in google.refresh_tokens(REP):
        assert token not in info.value.message


@pytest.mark.parametrize(
    "status,error,reason,retryable",
    [
        (401, "invalid_client", "google_token_refused", False),
        (503, "temporarily_unavailable", "google_token_unavailable", True),
    ],
)
def test_other_refusals_leave_the_connection_alone(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    calendar: GoogleCalendar,
    sqlite_store: Store,
    status: int,
    error: str,
    reason: str,
    retryable: bool,
) -> None:
    browser.connect(link_for(oauth_settings, REP))
    google.inject_fault("token", status, reason=error, message="no", times=3)
    with pytest.raises((PermanentError, RetryableError)) as info:
        book(calendar, "oauthevent006")
    assert info.value.reason == reason and info.value.retryable is retryable
    record = sqlite_store.google_connection(REP)
    assert record is not None and record.state == "connected"


def test_a_delegation_rep_without_a_key_is_not_configured(
    make_settings: Any, google: GoogleEmulator, sqlite_store: Store
) -> None:
    from tests.oauth.support import oauth_env

    rules = '[google.rep_auth]\n"sam@seller.example" = "delegation"\n'
    settings = make_settings(rules=rules, **oauth_env(google))
    calendar = google_calendar(settings, sqlite_store)
    with pytest.raises(PermanentError) as info:
        calendar.calendar_time_zone("sam@seller.example", "primary")
    assert info.value.reason == "not_configured"
    assert "GOOGLE_SERVICE_ACCOUNT_FILE is not set" in info.value.message


@pytest.mark.parametrize(
    "text,retryable,reason,broken",
    [
        (
            "invalid_grant: Token has been expired or revoked.",
            False,
            "google_oauth_reconnect",
            True,
        ),
        ("invalid_grant: Bad Request", False, "google_oauth_reconnect", True),
        ("invalid_client: Unauthorized", False, "google_token_refused", False),
        ("deleted_client: The OAuth client was deleted.", False, "google_token_refused", False),
        ("temporarily_unavailable: x", True, "google_token_unavailable", False),
        ("invalid_scope: Bad Request", False, "google_token_refused", False),
    ],
)
def test_refresh_refusals_table(text: str, retryable: bool, reason: str, broken: bool) -> None:
    error, is_broken = oauth_refresh_error(
        text, retryable=retryable, organizer=REP, client_id="c-1", link="https://h/l"
    )
    assert (error.reason, is_broken) == (reason, broken)
    if broken:
        assert error.message.startswith(f"rep {REP} must reconnect at https://h/l: ")


def test_waiting_rep_reads_only_reconnect_messages() -> None:
    assert waiting_rep(f"rep {REP} must connect at x: y") == REP
    assert waiting_rep("Google refused the token") is None
    assert waiting_rep(None) is None
