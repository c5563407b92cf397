"""Operators replay through the admin API; the emulators prove no second meeting is made."""

from __future__ import annotations

from tests.builders import ADMIN_TOKEN, notification
from tests.integration.conftest import REP, Stack

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_bulk_replay_after_delegation_is_fixed(stack: Stack) -> None:
    for i in range(5):
        stack.deal(str(700 + i))
    stack.google.refuse_subject(REP)
    stack.deliver(*[notification(700 + i) for i in range(5)])
    stack.work()
    assert {e["status"] for e in stack.events()} == {"failed"}

    stack.google.allow_subject(REP)  # the admin fixed domain-wide delegation
    dry = stack.client.post(
        "/admin/events/replay",
        json={"reason": "google_delegation_denied", "dry_run": True},
        headers=AUTH,
    )
    assert dry.json["count"] == 5
    done = stack.client.post("/admin/events/replay", json={"status": "failed"}, headers=AUTH)
    assert done.status_code == 202 and done.json == {"count": 5}
    stack.work()
    assert {e["status"] for e in stack.events()} == {"succeeded"}
    assert len(stack.google.events(REP)) == 5
    assert sorted(p["deal_id"] for p in stack.hubspot.patches) == [str(700 + i) for i in range(5)]


def test_forced_replay_of_a_succeeded_event_makes_no_second_meeting(stack: Stack) -> None:
    stack.deal("710")
    stack.deliver(notification(710))
    stack.work()
    [event] = stack.events()
    response = stack.client.post(
        f"/admin/events/{event['id']}/replay", json={"force": True}, headers=AUTH
    )
    assert response.status_code == 202
    stack.work()
    [again] = stack.events()
    assert again["status"] == "succeeded" and again["meet_url"] == event["meet_url"]
    assert len(stack.google.all_events()) == 1
    assert len(stack.hubspot.patches) == 1  # the deal already held the link


def test_forced_replay_restores_a_meeting_deleted_in_google(stack: Stack) -> None:
    stack.deal("711")
    stack.deliver(notification(711))
    stack.work()
    [event] = stack.events()
    stack.google.cancel_event(REP, event["calendar_event_id"])  # the rep deleted it
    assert stack.google.events(REP)[0]["status"] == "cancelled"
    stack.client.post(f"/admin/events/{event['id']}/replay", json={"force": True}, headers=AUTH)
    stack.work()
    [gevent] = stack.google.events(REP)
    assert gevent["status"] == "confirmed"


def test_missing_write_back_property_then_replay_keeps_one_meeting(stack: Stack) -> None:
    stack.hubspot.remove_property("demo_meet_url")
    stack.deal("720")
    stack.deliver(notification(720))
    stack.work()
    [event] = stack.events()
    assert (event["status"], event["last_error_reason"]) == ("failed", "crm_property_missing")
    assert (
        "demo_meet_url" in event["last_error"]
        and "hubspot.meet_url_property" in event["last_error"]
    )
    assert event["meet_url"]  # the link was kept before the write-back failed
    stack.hubspot.define_property("demo_meet_url")  # the admin creates the property
    response = stack.client.post(f"/admin/events/{event['id']}/replay", headers=AUTH)
    assert response.status_code == 202
    stack.work()
    [done] = stack.events()
    assert done["status"] == "succeeded"
    assert len(stack.google.all_events()) == 1
    assert stack.hubspot.deal_properties("720")["demo_meet_url"] == event["meet_url"]
