"""Recurring events on the Google emulator (``recurring``): ``recurrence`` validated, instances
named ``{id}_{UTC start}``, one occurrence moved or cancelled (an exception), ``events.instances``.

Driven through the real google-api-python-client stack, over real sockets."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from tests.testing.google_client import REP, error_details, event_body, insert, new_id

pytestmark = pytest.mark.timeout(30)

WEEKLY = ["RRULE:FREQ=WEEKLY;COUNT=4"]


def weekly(event_id: str, **extra):
    # 10:00 Berlin (CET, +01:00) every Monday from 2030-01-07
    return event_body(
        event_id,
        start={"dateTime": "2030-01-07T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2030-01-07T10:30:00+01:00", "timeZone": "Europe/Berlin"},
        recurrence=WEEKLY,
        **extra,
    )


def test_a_recurring_event_is_one_event_whose_instances_share_its_meet_link(emu, svc):
    event_id = new_id()
    series = insert(svc, weekly(event_id))
    assert series["recurrence"] == WEEKLY
    assert len(emu.events(REP)) == 1
    instances = svc.events().instances(calendarId="primary", eventId=event_id).execute()["items"]
    assert [i["id"] for i in instances] == [
        f"{event_id}_20300107T090000Z",
        f"{event_id}_20300114T090000Z",
        f"{event_id}_20300121T090000Z",
        f"{event_id}_20300128T090000Z",
    ]
    assert {i["hangoutLink"] for i in instances} == {series["hangoutLink"]}
    assert all(i["recurringEventId"] == event_id and "recurrence" not in i for i in instances)
    assert instances[1]["originalStartTime"]["timeZone"] == "Europe/Berlin"


def test_one_occurrence_moved_and_one_cancelled(emu, svc):
    event_id = new_id()
    insert(svc, weekly(event_id))
    second, third = f"{event_id}_20300114T090000Z", f"{event_id}_20300121T090000Z"
    moved = (
        svc.events()
        .patch(
            calendarId="primary",
            eventId=second,
            body={
                "start": {"dateTime": "2030-01-15T16:00:00+01:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2030-01-15T16:30:00+01:00", "timeZone": "Europe/Berlin"},
            },
            sendUpdates="all",
        )
        .execute()
    )
    assert moved["id"] == second and moved["start"]["dateTime"] == "2030-01-15T16:00:00+01:00"
    assert moved["originalStartTime"]["dateTime"].startswith("2030-01-14T10:00:00")
    svc.events().delete(calendarId="primary", eventId=third, sendUpdates="none").execute()
    with pytest.raises(HttpError) as again:
        svc.events().delete(calendarId="primary", eventId=third).execute()
    assert again.value.resp.status == 410
    assert svc.events().get(calendarId="primary", eventId=third).execute()["status"] == "cancelled"
    listed = svc.events().instances(calendarId="primary", eventId=event_id).execute()["items"]
    assert [i["id"] for i in listed] == [f"{event_id}_20300107T090000Z", second, f"{event_id}_20300128T090000Z"]  # fmt: skip
    # A change of the whole series reaches the occurrences, the moved one keeping its time.
    svc.events().patch(calendarId="primary", eventId=event_id, body={"summary": "Weekly"}).execute()
    after = {i["id"]: i for i in emu.instances(REP, event_id)}
    assert {i["summary"] for i in after.values()} == {"Weekly"}
    assert after[second]["start"]["dateTime"] == "2030-01-15T16:00:00+01:00"
    assert after[third]["status"] == "cancelled"


@pytest.mark.parametrize(
    "stamp",
    ["20300108T090000Z", "20300204T090000Z", "2030-01-14", "20300114T100000Z"],
)
def test_an_id_that_names_no_occurrence_is_not_found(emu, svc, stamp):
    event_id = new_id()
    insert(svc, weekly(event_id))
    with pytest.raises(HttpError) as exc:
        svc.events().get(calendarId="primary", eventId=f"{event_id}_{stamp}").execute()
    assert exc.value.resp.status == 404


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"recurrence": ["RRULE:FREQ=SOMETIMES"]}, 400, "Invalid recurrence rule."),
        ({"recurrence": ["every monday"]}, 400, "Invalid recurrence rule."),
        (
            {
                "recurrence": WEEKLY,
                "start": {"dateTime": "2030-01-07T10:00:00Z"},
                "end": {"dateTime": "2030-01-07T10:30:00Z"},
            },
            400,
            "Missing time zone definition for start time.",
        ),
    ],
)
def test_a_bad_recurrence_is_refused(emu, svc, body, status, message):
    with pytest.raises(HttpError) as exc:
        insert(svc, {**weekly(new_id()), **body})
    assert exc.value.resp.status == status
    assert error_details(exc.value)["message"] == message
    assert emu.events(REP) == []


def test_moving_the_series_drops_changes_of_occurrences_it_no_longer_has(emu, svc):
    event_id = new_id()
    insert(svc, weekly(event_id))
    svc.events().delete(calendarId="primary", eventId=f"{event_id}_20300114T090000Z").execute()
    svc.events().patch(
        calendarId="primary",
        eventId=event_id,
        body={
            "start": {"dateTime": "2030-01-07T11:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2030-01-07T11:30:00+01:00", "timeZone": "Europe/Berlin"},
        },
    ).execute()
    instances = emu.instances(REP, event_id)
    assert [i["id"][-16:] for i in instances] == [
        "20300107T100000Z",
        "20300114T100000Z",
        "20300121T100000Z",
        "20300128T100000Z",
    ]
    assert {i["status"] for i in instances} == {"confirmed"}
