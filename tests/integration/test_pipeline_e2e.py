"""From a signed webhook to a Meet link in the deal, against the emulators (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.builders import notification, shown
from tests.integration.conftest import REP, Stack


def test_happy_path_every_field(stack: Stack) -> None:
    stack.deal("501", contacts=("buyer@acme.example", "cto@acme.example", REP))
    stack.deliver(notification(501))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["attempts"] == 1

    [gevent] = stack.google.events(REP)
    assert event["calendar_event_id"] == gevent["id"]
    assert gevent["summary"] == "Demo: Acme 501"
    assert "501" in gevent["description"]
    assert datetime.fromisoformat(gevent["start"]["dateTime"]) == datetime.fromisoformat(
        "2030-01-07T15:00:00+00:00"
    )
    assert datetime.fromisoformat(gevent["end"]["dateTime"]) == datetime.fromisoformat(
        "2030-01-07T15:30:00+00:00"
    )
    assert sorted(a["email"] for a in gevent["attendees"]) == [
        "buyer@acme.example",
        "cto@acme.example",
    ]
    assert gevent["organizer"]["email"] == REP
    video = [e for e in gevent["conferenceData"]["entryPoints"] if e["entryPointType"] == "video"]
    assert event["meet_url"] == video[0]["uri"] and event["meet_url"].startswith(
        "https://meet.google.com/"
    )
    [insert] = [r for r in stack.google.requests if r["method"] == "POST"]
    assert (
        insert["query"]["conferenceDataVersion"] == "1" and insert["query"]["sendUpdates"] == "all"
    )
    assert insert["body"]["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {
        "type": "hangoutsMeet"
    }
    [token] = stack.google.token_requests
    assert (
        token["sub"] == REP and token["scope"] == "https://www.googleapis.com/auth/calendar.events"
    )

    assert stack.hubspot.patches == [
        {
            "deal_id": "501",
            "properties": {
                "demo_meet_url": event["meet_url"],
                "demo_calendar_event_id": gevent["id"],
            },
        }
    ]
    props = stack.hubspot.deal_properties("501")
    assert props["demo_meet_url"] == event["meet_url"]


def test_same_deal_many_deliveries_and_event_ids_one_meeting(stack: Stack) -> None:
    stack.deal("502")
    first = notification(502, event_id=1, occurred_at=1_795_000_000_000)
    for attempt in range(3):
        stack.deliver(dict(first, attemptNumber=attempt))
    stack.deliver(notification(502, event_id=2, occurred_at=1_795_000_000_500))
    stack.deliver(
        notification(502, event_id=3, occurred_at=1_795_000_000_900), notification(502, event_id=4)
    )
    stack.work()
    events = stack.events()
    assert len(events) == 4 and {e["status"] for e in events} == {"succeeded"}
    assert len(stack.google.all_events()) == 1
    assert len(stack.hubspot.patches) == 1
    assert len({e["meet_url"] for e in events}) == 1


def test_google_5xx_then_success(stack: Stack) -> None:
    stack.deal("503")
    stack.google.inject_fault("insert", 503, times=2)
    stack.deliver(notification(503))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["attempts"] == 3
    detail = shown(stack.store, event["id"])
    assert detail is not None
    assert [a["error_reason"] for a in detail["attempt_history"]] == [
        "google_unavailable",
        "google_unavailable",
        None,
    ]
    assert len(stack.google.all_events()) == 1


def test_hubspot_429_on_patch_is_retried(stack: Stack) -> None:
    stack.deal("504")
    stack.hubspot.inject_fault(
        "PATCH", r"/crm/v3/objects/deals/504$", 429, headers={"Retry-After": "1"}
    )
    stack.deliver(notification(504))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["attempts"] == 2
    detail = shown(stack.store, event["id"])
    assert detail is not None and detail["attempt_history"][0]["error_reason"] == "crm_rate_limited"
    assert len(stack.hubspot.patches) == 1 and len(stack.google.all_events()) == 1


def test_pending_conference_is_polled(stack: Stack) -> None:
    stack.deal("505")
    stack.google.conference_pending_reads = 2
    stack.deliver(notification(505))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["meet_url"].startswith(
        "https://meet.google.com/"
    )
    assert stack.hubspot.patches[0]["properties"]["demo_meet_url"] == event["meet_url"]


def test_impersonation_refused_fails_with_the_fix(stack: Stack) -> None:
    stack.deal("506")
    stack.deal("507")
    stack.google.refuse_subject(REP)
    stack.deliver(notification(506), notification(507))
    stack.work()
    events = stack.events()
    assert {e["status"] for e in events} == {"failed"}
    event = events[0]
    assert event["last_error_reason"] == "google_delegation_denied"
    assert stack.google.client_id in event["last_error"]
    assert "https://www.googleapis.com/auth/calendar.events" in event["last_error"]
    assert REP in event["last_error"] and event["attempts"] == 1
    assert len(stack.google.token_requests) <= 2  # no retry storm against the token endpoint
    assert stack.google.all_events() == [] and stack.hubspot.patches == []


def test_deal_not_in_stage_any_more_is_skipped(stack: Stack) -> None:
    stack.deal("508", dealstage="closedlost")
    stack.deliver(notification(508))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "skipped" and "closedlost" in event["last_error"]
    assert stack.google.all_events() == []


def test_missing_start_waits_for_the_property(stack: Stack) -> None:
    stack.deal("509", start=None)
    stack.deliver(notification(509))
    stack.work()
    [event] = stack.events()
    assert (event["status"], event["last_error_reason"]) == ("skipped", "waiting_for_start")
    assert event["last_error"] == (
        "deal 509: demo_start_time is empty; the demo is booked when it is filled"
    )
    assert stack.google.all_events() == []


def test_hundred_deals_in_one_batch(stack: Stack) -> None:
    for i in range(100):
        stack.deal(str(1000 + i))
    result = stack.deliver(*[notification(1000 + i) for i in range(100)])
    assert result["stored"] == 100
    stack.work(timeout=120)
    assert [e["status"] for e in stack.events()] == ["succeeded"] * 100
    assert len(stack.google.all_events()) == 100
    assert len(stack.hubspot.patches) == 100
    assert len(stack.google.token_requests) == 1  # one token for the rep, not one per event


def test_no_secret_in_logs_errors_or_admin_api(stack: Stack, caplog: Any) -> None:
    import logging

    from tests.builders import ADMIN_TOKEN, SECRET

    caplog.set_level(logging.DEBUG)
    stack.deal("520")
    stack.deal("521")
    stack.hubspot.inject_fault("PATCH", r"/crm/v3/objects/deals/520$", 500)
    stack.google.refuse_subject("other@seller.example")
    stack.hubspot.add_owner("102", "other@seller.example")
    stack.hubspot.set_deal_properties("521", hubspot_owner_id="102")
    stack.deliver(notification(520), notification(521))
    stack.work()
    key = json.loads(Path(stack.settings.google_service_account_file or "").read_text())
    issued = list(stack.google._tokens)  # the access tokens Google handed out
    assert issued
    secrets = [
        stack.hubspot.access_token,
        SECRET,
        ADMIN_TOKEN,
        key["private_key"].splitlines()[1],
        *issued,
    ]
    admin = stack.client.get(
        "/admin/events", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).get_data(as_text=True)
    details = [json.dumps(shown(stack.store, e["id"])) for e in stack.events()]
    text = "\n".join([caplog.text, admin, *details])
    assert "google_delegation_denied" in text and "crm_unavailable" in text
    for secret in secrets:
        assert secret not in text
