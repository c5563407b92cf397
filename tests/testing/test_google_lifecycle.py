"""The Google emulator's lifecycle behaviours: calendar time zones, refused restores,
cancelled events that disappear (reference addendum §B2, §B4). Over real sockets."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from tests.testing.google_client import REP, event_body, insert, new_id

pytestmark = pytest.mark.timeout(30)


def test_events_list_carries_the_calendar_time_zone(emu, svc):
    assert svc.events().list(calendarId="primary", maxResults=1).execute()["timeZone"] == "UTC"
    emu.time_zones[REP] = "America/New_York"
    body = svc.events().list(calendarId="primary", maxResults=1).execute()
    assert body["timeZone"] == "America/New_York"


def test_a_cancelled_event_is_restored_by_writing_it_back(emu, svc):
    event_id = new_id()
    insert(svc, event_body(event_id))
    svc.events().delete(calendarId="primary", eventId=event_id).execute()
    restored = (
        svc.events()
        .patch(calendarId="primary", eventId=event_id, body={"status": "confirmed"})
        .execute()
    )
    assert restored["status"] == "confirmed"


def test_a_refused_restore_is_403_and_leaves_it_cancelled(emu, svc):
    event_id = new_id()
    insert(svc, event_body(event_id))
    svc.events().delete(calendarId="primary", eventId=event_id).execute()
    emu.restore_refused.add(event_id)
    with pytest.raises(HttpError) as info:
        svc.events().patch(
            calendarId="primary", eventId=event_id, body={"status": "confirmed"}
        ).execute()
    assert info.value.resp.status == 403
    assert emu.event(REP, event_id)["status"] == "cancelled"


def test_a_disappeared_cancelled_event_is_404_but_its_id_stays_taken(emu, svc):
    event_id = new_id()
    insert(svc, event_body(event_id))
    svc.events().delete(calendarId="primary", eventId=event_id).execute()
    emu.forget_cancelled(REP, event_id)
    with pytest.raises(HttpError) as got:
        svc.events().get(calendarId="primary", eventId=event_id).execute()
    assert got.value.resp.status == 404
    with pytest.raises(HttpError) as again:
        insert(svc, event_body(event_id))
    assert again.value.resp.status == 409
    assert emu.live_events() == []


def test_move_to_another_users_calendar_needs_writer_access_to_both(emu, svc):
    event_id = new_id()
    insert(svc, event_body(event_id))
    with pytest.raises(HttpError) as info:
        svc.events().move(
            calendarId="primary", eventId=event_id, destination="other-rep@seller.example"
        ).execute()
    assert info.value.resp.status == 403 and b"writer access to both" in info.value.content
    same = svc.events().move(calendarId="primary", eventId=event_id, destination=REP).execute()
    assert same["id"] == event_id
