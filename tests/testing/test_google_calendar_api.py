"""events.list, concurrency, calendars.get and per-user usage limits on the Google emulator.

Driven through the real google-auth / google-api-python-client stack the service uses, over
real sockets."""

from __future__ import annotations

import threading

import pytest
import requests
from googleapiclient.errors import HttpError

from middleware.testing.google import GoogleEmulator
from tests.testing.google_client import (
    REP,
    error_details,
    event_body,
    insert,
    make_service,
    new_id,
)

pytestmark = pytest.mark.timeout(30)


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


def test_a_users_requests_past_the_rate_quota_are_refused(emu: GoogleEmulator) -> None:
    rep_a, rep_b = REP, "other.rep@example.com"
    svc_a, svc_b = make_service(emu, rep_a), make_service(emu, rep_b)
    emu.limit_rate(3)
    for _ in range(3):
        insert(svc_a, event_body(new_id()))
    with pytest.raises(HttpError) as err:
        insert(svc_a, event_body(new_id()))
    assert err.value.resp.status == 403
    assert error_details(err.value)["errors"][0] == {
        "domain": "usageLimits",
        "reason": "rateLimitExceeded",
        "message": "Rate Limit Exceeded",
    }
    assert emu.rate_refusals == 1
    assert insert(svc_b, event_body(new_id()))["status"] == "confirmed"  # another user's own
    emu.limit_rate(None)
    assert insert(svc_a, event_body(new_id()))["status"] == "confirmed"


@pytest.mark.parametrize(("keep_alive", "connections"), [(False, 3), (True, 1)])
def test_connections_are_kept_alive_when_asked(
    emu: GoogleEmulator, keep_alive: bool, connections: int
) -> None:
    emu.keep_alive = keep_alive
    with requests.Session() as session:
        for _ in range(3):
            answer = session.get(emu.base_url + "calendar/v3/calendars/primary/events")
            assert answer.status_code == 401  # no token: Google's answer all the same
    assert emu.connections_accepted == connections
