"""The pure event helpers: bodies, reading Google's event resource and reconciling it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from middleware.google.events import (
    CalendarEvent,
    conference_state,
    create_request,
    insert_body,
    instant,
    meet_url,
    next_request_id,
    reconcile,
    spec_fields,
)
from tests.google.support import REP, START, make_spec

MEET_URL = "https://meet.google.com/abc-defg-hij"


def held(**changes: Any) -> dict[str, Any]:
    """The event Google holds for ``make_spec()``, with a ready Meet conference."""
    event: dict[str, Any] = {
        "id": "ev1",
        "status": "confirmed",
        **spec_fields(make_spec()),
        "organizer": {"email": REP},
        "conferenceData": {
            "createRequest": {"requestId": "meet-1", "status": {"statusCode": "success"}},
            "entryPoints": [
                {"entryPointType": "phone", "uri": "tel:+1-555"},
                {"entryPointType": "video", "uri": MEET_URL},
            ],
        },
        "hangoutLink": MEET_URL,
    }
    event.update(changes)
    return event


def with_status(code: str) -> dict[str, Any]:
    return {"createRequest": {"requestId": "meet-1", "status": {"statusCode": code}}}


def test_insert_body() -> None:
    spec = make_spec()
    body = insert_body("ev1", spec, "meet-1")
    assert body == {
        "id": "ev1",
        **spec_fields(spec),
        "reminders": {"useDefault": True},
        "conferenceData": create_request("meet-1"),
    }
    assert body["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {
        "type": "hangoutsMeet"
    }
    assert body["start"] == {"dateTime": "2030-01-07T15:00:00+00:00", "timeZone": "Europe/Berlin"}


def test_next_request_id_is_new_but_stable() -> None:
    event = held()
    first = next_request_id("meet-1", event)
    assert first.startswith("meet-1-") and first != "meet-1"
    assert next_request_id("meet-1", event) == first  # same input: same id after a crash
    again = held(conferenceData={"createRequest": {"requestId": first}})
    assert next_request_id("meet-1", again) not in (first, "meet-1")


def test_meet_url_prefers_the_video_entry_point() -> None:
    assert meet_url(held(hangoutLink="https://meet.google.com/other")) == MEET_URL
    assert meet_url({"hangoutLink": "https://meet.google.com/x"}) == "https://meet.google.com/x"
    assert meet_url({"conferenceData": {"entryPoints": [{"entryPointType": "phone"}]}}) is None


def test_conference_state() -> None:
    assert conference_state(held()) == "ready"
    assert conference_state({"conferenceData": with_status("pending")}) == "pending"
    assert conference_state({"conferenceData": with_status("failure")}) == "failure"
    assert conference_state({"conferenceData": with_status("success")}) == "missing"
    assert conference_state({}) == "missing"


def test_instant() -> None:
    assert instant({"dateTime": "2030-01-07T16:00:00+01:00"}) == START
    assert instant({"dateTime": "2030-01-07T15:00:00Z"}) == START
    assert instant({"date": "2030-01-07"}) is None  # all-day
    assert instant({"dateTime": "2030-01-07T15:00:00"}) is None  # no offset
    assert instant({"dateTime": "soon"}) is None
    assert instant(None) is None


def test_matching_event_needs_no_patch() -> None:
    berlin = START.astimezone(ZoneInfo("Europe/Berlin"))
    spec = make_spec(
        start=berlin,
        end=berlin + timedelta(minutes=30),
        attendees=("CTO@acme.example", "lead@ACME.example", REP),  # organizer is ignored
    )
    assert reconcile(held(), spec, organizer=REP, request_id="meet-1") == {}


def test_changed_fields_are_patched() -> None:
    later = START + timedelta(days=1)
    spec = make_spec(title="Demo: Acme Corp", start=later, end=later + timedelta(minutes=30))
    patch = reconcile(held(), spec, organizer=REP, request_id="meet-1")
    assert patch == {
        "summary": "Demo: Acme Corp",
        "start": spec_fields(spec)["start"],
        "end": spec_fields(spec)["end"],
    }


def test_attendee_patch_keeps_answers_of_those_who_stay() -> None:
    event = held(
        attendees=[
            {"email": "lead@acme.example", "responseStatus": "accepted"},
            {"email": "cto@acme.example", "responseStatus": "declined"},
        ]
    )
    spec = make_spec(attendees=("lead@acme.example", "cfo@acme.example"))
    patch = reconcile(event, spec, organizer=REP, request_id="meet-1")
    assert patch == {
        "attendees": [
            {"email": "lead@acme.example", "responseStatus": "accepted"},
            {"email": "cfo@acme.example"},
        ]
    }


def test_cancelled_event_is_written_back_whole() -> None:
    patch = reconcile(held(status="cancelled"), make_spec(), organizer=REP, request_id="meet-1")
    assert patch["status"] == "confirmed"
    assert {"summary", "description", "start", "end", "attendees"} <= set(patch)
    assert "conferenceData" not in patch  # its conference is still there


def test_failed_or_missing_conference_is_asked_for_again() -> None:
    failed = held(conferenceData=with_status("failure"), hangoutLink=None)
    patch = reconcile(failed, make_spec(), organizer=REP, request_id="meet-1")
    assert patch == {"conferenceData": create_request(next_request_id("meet-1", failed))}
    bare = held(conferenceData=None, hangoutLink=None)
    assert set(reconcile(bare, make_spec(), organizer=REP, request_id="meet-1")) == {
        "conferenceData"
    }


def test_calendar_event_of() -> None:
    event = held(htmlLink="https://calendar.google.com/event?eid=1")
    assert CalendarEvent.of(event, event_id="fallback", calendar_id="primary") == CalendarEvent(
        event_id="ev1",
        calendar_id="primary",
        meet_url=MEET_URL,
        html_link="https://calendar.google.com/event?eid=1",
        status="confirmed",
    )
    bare = CalendarEvent.of({}, event_id="fallback", calendar_id="primary")
    assert (bare.event_id, bare.meet_url, bare.status) == ("fallback", "", "confirmed")
