"""Calendar events on the Google emulator (``events``, ``conferences``, ``calendar_api``): insert
with Meet, ids, 409/410, patch/update, and validation errors.

Driven through the real google-auth / google-api-python-client stack the service uses, over
real sockets."""

from __future__ import annotations

import re

import pytest
from googleapiclient.errors import HttpError

from tests.testing.google_client import (
    MEET_CODE_RE,
    REP,
    event_body,
    insert,
    make_service,
    new_id,
    video_uri,
)

pytestmark = pytest.mark.timeout(30)


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
