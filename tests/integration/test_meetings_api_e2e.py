"""The meetings API end to end: the web app, the worker and the real Google adapter against the
Google emulator over real sockets, on SQLite and PostgreSQL.

A meeting goes through the same store, worker and lifecycle as a CRM deal: these tests make,
change and cancel meetings through ``/api/meetings`` and look at what Google's emulator holds.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.integration.conftest import POLL_SECONDS, Stack
from tests.meetings_api.support import ADMIN, ORGANIZER, bearer, create, make_key, meeting_body

pytestmark = pytest.mark.timeout(120)


def calendar_requests(stack: Stack, op: str) -> list[dict[str, Any]]:
    return [r for r in stack.google.requests if r["op"] == op and r["status"] and r["status"] < 300]


def show(stack: Stack, key: str, meeting_id: str) -> dict[str, Any]:
    response = stack.client.get(f"/api/meetings/{meeting_id}", headers=bearer(key))
    assert response.status_code == 200, response.json
    answer: dict[str, Any] = response.json
    return answer


def test_a_meeting_is_made_once_per_idempotency_key(stack: Stack) -> None:
    key = make_key(stack.client)
    first = create(stack.client, key, meeting_body(), idempotency="booking-42")
    assert first.status_code == 202, first.json
    assert first.json["state"] == "live" and first.json["status"] == "pending"
    assert first.json["meet_url"] is None
    again = create(stack.client, key, meeting_body(), idempotency="booking-42")
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    other = create(stack.client, key, meeting_body(title="Another"), idempotency="booking-42")
    assert other.status_code == 409 and "another body" in other.json["error"]
    stack.work()
    assert (
        create(stack.client, key, meeting_body(), idempotency="booking-42").json["id"]
        == first.json["id"]
    )
    [event] = stack.live()
    meeting = show(stack, key, first.json["id"])
    assert meeting["status"] == "succeeded"
    assert meeting["meet_url"] == event["hangoutLink"]
    assert meeting["calendar_event_id"] == event["id"]
    assert event["_calendar_owner"] == ORGANIZER
    assert event["summary"] == "Intro call"
    assert event["start"] == {"dateTime": "2030-01-07T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert event["end"]["dateTime"] == "2030-01-07T10:45:00+01:00"
    assert [a["email"] for a in event["attendees"]] == ["guest@buyer.example"]
    # One event for the meeting in the admin API too, as provider "api".
    [stored] = [e for e in stack.events() if e["provider"] == "api"]
    assert stored["deal_id"] == first.json["id"] and stored["action"] == "booked"


def test_patch_and_cancel_reach_google_with_send_updates(stack: Stack) -> None:
    key = make_key(stack.client)
    made = create(stack.client, key, meeting_body(send_updates="externalOnly")).json
    stack.work()
    meeting_id = made["id"]
    moved = stack.client.patch(
        f"/api/meetings/{meeting_id}",
        json={
            "start": "2030-01-08T15:30:00",
            "title": "Intro call (moved)",
            "attendees": ["guest@buyer.example", "boss@buyer.example"],
        },
        headers=bearer(key),
    )
    assert moved.status_code == 202, moved.json
    assert moved.json["start"] == "2030-01-08T15:30:00+01:00" and moved.json["version"] == 2
    stack.work()
    [event] = stack.live()
    assert event["start"]["dateTime"] == "2030-01-08T15:30:00+01:00"
    assert event["summary"] == "Intro call (moved)"
    assert {a["email"] for a in event["attendees"]} == {"guest@buyer.example", "boss@buyer.example"}
    [patch] = [p for p in calendar_requests(stack, "patch") if "start" in (p["body"] or {})]
    assert patch["query"]["sendUpdates"] == "externalOnly"
    assert show(stack, key, meeting_id)["meet_url"] == event["hangoutLink"]  # the same link

    cancelled = stack.client.delete(
        f"/api/meetings/{meeting_id}", query_string={"send_updates": "none"}, headers=bearer(key)
    )
    assert cancelled.status_code == 202 and cancelled.json["state"] == "cancelled"
    stack.work()
    assert stack.live() == []
    [delete] = calendar_requests(stack, "delete")
    assert delete["query"]["sendUpdates"] == "none"
    after = show(stack, key, meeting_id)
    assert after["status"] == "succeeded" and after["meet_url"] is None
    again = stack.client.delete(f"/api/meetings/{meeting_id}", headers=bearer(key))
    assert again.status_code == 202 and again.json["version"] == after["version"]
    refused = stack.client.patch(
        f"/api/meetings/{meeting_id}", json={"title": "x"}, headers=bearer(key)
    )
    assert refused.status_code == 409


def test_a_weekly_series_is_one_event_with_one_changed_occurrence(stack: Stack) -> None:
    key = make_key(stack.client)
    body = meeting_body(recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=4", send_updates="all")
    made = create(stack.client, key, body).json
    assert made["recurrence"] == "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    stack.work()
    [series] = stack.live()
    assert series["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"]
    base = f"/api/meetings/{made['id']}/occurrences"
    moved = stack.client.patch(
        f"{base}/2030-01-14T09:00:00Z",
        json={"start": "2030-01-15T16:00:00+01:00"},
        headers=bearer(key),
    )
    assert moved.status_code == 202, moved.json
    assert moved.json["occurrences"] == [
        {
            "original_start": "2030-01-14T09:00:00Z",
            "start": "2030-01-15T16:00:00+01:00",
            "end": "2030-01-15T16:45:00+01:00",
            "cancelled": False,
        }
    ]
    stack.work()
    instances = {i["id"][-16:]: i for i in stack.google.instances(ORGANIZER, series["id"])}
    assert instances["20300114T090000Z"]["start"]["dateTime"] == "2030-01-15T16:00:00+01:00"
    assert instances["20300121T090000Z"]["start"]["dateTime"] == "2030-01-21T10:00:00+01:00"
    assert {i["hangoutLink"] for i in instances.values()} == {series["hangoutLink"]}
    assert len(stack.live()) == 1  # still one Calendar event
    [patch] = [
        p for p in calendar_requests(stack, "patch") if p["event_id"].endswith("20300114T090000Z")
    ]
    assert patch["query"]["sendUpdates"] == "all"
    # The whole series renamed: every occurrence, the moved one keeping its time.
    stack.client.patch(f"/api/meetings/{made['id']}", json={"title": "Weekly"}, headers=bearer(key))
    stack.work()
    instances = {i["id"][-16:]: i for i in stack.google.instances(ORGANIZER, series["id"])}
    assert {i["summary"] for i in instances.values()} == {"Weekly"}
    assert instances["20300114T090000Z"]["start"]["dateTime"] == "2030-01-15T16:00:00+01:00"
    # Not an occurrence of the rule: 404; a single occurrence cancelled.
    wrong = stack.client.patch(
        f"{base}/2030-01-15T09:00:00Z", json={"start": "2030-01-15T10:00:00Z"}, headers=bearer(key)
    )
    assert wrong.status_code == 404
    gone = stack.client.delete(f"{base}/20300128T090000Z", headers=bearer(key))
    assert gone.status_code == 202
    stack.work()
    statuses = {i["id"][-16:]: i["status"] for i in stack.google.instances(ORGANIZER, series["id"])}
    assert statuses["20300128T090000Z"] == "cancelled"
    assert statuses["20300107T090000Z"] == "confirmed"
    assert show(stack, key, made["id"])["status"] == "succeeded"


@pytest.mark.parametrize(
    ("recurrence", "says"),
    [
        ("FREQ=WEEKLY", "COUNT=n"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20300201T000000Z", "not both"),
        ("FREQ=SOMETIMES;COUNT=3", "FREQ must be one of"),
        ("FREQ=WEEKLY;BYDAY=XX;COUNT=3", "not a valid RFC 5545 RRULE"),
        ("FREQ=WEEKLY;BYDAY=TU;COUNT=3", "not an occurrence of the rule"),
        ("FREQ=DAILY;UNTIL=20300201", "UTC"),
        ("FREQ=DAILY;COUNT=5000", "from 1 to 730"),
        ("FREQ=DAILY;UNTIL=20400101T000000Z", "more than 730"),
        ("RRULE:FREQ=DAILY;COUNT=2\nEXDATE:20300108T090000Z", "one RRULE only"),
    ],
)
def test_a_bad_recurrence_is_a_clear_400(stack: Stack, recurrence: str, says: str) -> None:
    key = make_key(stack.client)
    response = create(stack.client, key, meeting_body(recurrence=recurrence))
    assert response.status_code == 400
    assert response.json["error"].startswith("recurrence: ") and says in response.json["error"]
    assert stack.store.count_unfinished() == 0  # nothing stored


def test_keys_scopes_and_organizers(stack: Stack) -> None:
    writer = make_key(stack.client)
    reader = make_key(stack.client, "read")
    made = create(stack.client, writer, meeting_body()).json
    path = f"/api/meetings/{made['id']}"
    assert stack.client.get(path).status_code == 401
    assert stack.client.get(path, headers=bearer("mk_not-a-key")).status_code == 401
    assert stack.client.get(path, headers=bearer(reader)).status_code == 200
    refused = create(stack.client, reader, meeting_body())
    assert refused.status_code == 403 and "read-only" in refused.json["error"]
    assert stack.client.delete(path, headers=bearer(reader)).status_code == 403
    # A key limited to a domain sees and makes only its organizers' meetings.
    sales = make_key(stack.client, organizers=["@sales.example"])
    assert create(stack.client, sales, meeting_body()).status_code == 403
    mine = create(stack.client, sales, meeting_body(organizer="ann@sales.example"))
    assert mine.status_code == 202
    assert stack.client.get(path, headers=bearer(sales)).status_code == 404
    listed = stack.client.get("/api/meetings", headers=bearer(sales)).json["meetings"]
    assert [m["id"] for m in listed] == [mine.json["id"]]
    everything = stack.client.get("/api/meetings", headers=bearer(reader)).json["meetings"]
    assert len(everything) == 2
    # Revoked: 401 at once.
    [listing] = [
        k
        for k in stack.client.get("/admin/api-keys", headers=ADMIN).json["api_keys"]
        if k["scope"] == "read"
    ]
    assert "key" not in listing and listing["prefix"] == reader[:9]
    revoked = stack.client.delete(f"/admin/api-keys/{listing['id']}", headers=ADMIN)
    assert revoked.status_code == 200 and revoked.json["active"] is False
    assert stack.client.get(path, headers=bearer(reader)).status_code == 401
    actions = [a["action"] for a in stack.client.get("/admin/audit", headers=ADMIN).json["actions"]]
    assert actions.count("api_key_create") == 3 and actions.count("api_key_revoke") == 1


def test_listing_filters_and_pages(stack: Stack) -> None:
    key = make_key(stack.client)
    ids = [
        create(stack.client, key, meeting_body(start=f"2030-01-0{day}T10:00:00+01:00")).json["id"]
        for day in (1, 2, 3)
    ]
    create(stack.client, key, meeting_body(organizer="other@seller.example"))
    stack.client.delete(f"/api/meetings/{ids[0]}", headers=bearer(key))
    query = {"organizer": ORGANIZER, "state": "live", "limit": "1"}
    page = stack.client.get("/api/meetings", query_string=query, headers=bearer(key)).json
    assert [m["id"] for m in page["meetings"]] == [ids[2]] and page["next_cursor"]
    rest = stack.client.get(
        "/api/meetings", query_string={**query, "cursor": page["next_cursor"]}, headers=bearer(key)
    ).json
    assert [m["id"] for m in rest["meetings"]] == [ids[1]] and rest["next_cursor"] is None
    after = stack.client.get(
        "/api/meetings",
        query_string={"starts_after": "2030-01-02T00:00:00Z", "organizer": ORGANIZER},
        headers=bearer(key),
    ).json
    assert {m["id"] for m in after["meetings"]} == {ids[1], ids[2]}
    bad = stack.client.get("/api/meetings", query_string={"state": "maybe"}, headers=bearer(key))
    assert bad.status_code == 400 and bad.json["error"].startswith("state:")


def test_wait_holds_the_answer_until_the_meet_link_is_made(stack: Stack) -> None:
    from middleware.wiring import pipeline as build_pipeline
    from middleware.worker import Worker

    key = make_key(stack.client)
    worker = Worker(
        stack.store,
        build_pipeline(stack.settings, stack.store),
        concurrency=2,
        poll_seconds=POLL_SECONDS,
        lease_seconds=30,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        answer = create(stack.client, key, meeting_body(), wait="true")
    finally:
        worker.stop()
        thread.join(10)
    assert answer.status_code == 202
    assert answer.json["status"] == "succeeded"
    assert answer.json["meet_url"] == stack.live()[0]["hangoutLink"]


def test_an_organizer_google_refuses_fails_with_its_reason(stack: Stack) -> None:
    key = make_key(stack.client)
    stack.google.refuse_subject("ghost@seller.example")
    made = create(stack.client, key, meeting_body(organizer="ghost@seller.example")).json
    stack.work()
    meeting = show(stack, key, made["id"])
    assert meeting["status"] == "failed"
    assert meeting["last_error_reason"] == "google_delegation_denied"
    # Fixed in Google, then replayed through the admin API: booked, once.
    stack.google.allow_subject("ghost@seller.example")
    replay = stack.client.post(f"/admin/events/{meeting['event_id']}/replay", headers=ADMIN)
    assert replay.status_code == 202
    stack.work()
    assert show(stack, key, made["id"])["meet_url"] == stack.live()[0]["hangoutLink"]


@pytest.mark.parametrize(
    ("body", "headers", "says"),
    [
        (meeting_body(), {}, "Idempotency-Key header is required"),
        (meeting_body(start="tomorrow"), None, "start: not an ISO 8601"),
        (meeting_body(organizer="nobody"), None, "organizer:"),
        (meeting_body(timezone="Mars/Olympus"), None, "timezone:"),
        (meeting_body(colour="red"), None, "colour: unknown field"),
        (meeting_body(end="2030-01-07T09:00:00+01:00"), None, "end: must be whole minutes"),
    ],
)
def test_bad_input_is_a_400_naming_it(
    stack: Stack, body: dict[str, Any], headers: dict[str, str] | None, says: str
) -> None:
    key = make_key(stack.client)
    if headers is None:
        response = create(stack.client, key, body)
    else:
        response = stack.client.post("/api/meetings", json=body, headers={**bearer(key), **headers})
    assert response.status_code == 400 and says in response.json["error"], response.json
