"""From an authentic webhook to a Meet link in the deal, against the emulators, on SQLite and
PostgreSQL. What concerns the deal (its fields written back, redeliveries, the CRM's faults,
its secrets) runs for every CRM (``crm_stack``); Google's own faults are the same whatever the
CRM, and run once (``stack``, HubSpot)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.builders import ADMIN_TOKEN, SECRET, notification, shown
from tests.integration.conftest import Stack
from tests.integration.crm_drivers import BUYER, OTHER, REP, TRIGGER, one_store_per_crm


def test_happy_path_every_field(crm_stack: Stack) -> None:
    stack, crm = crm_stack, crm_stack.crm
    crm.add_deal(501, contacts=(BUYER, "cto@acme.example", REP))
    stack.deliver(crm.stage_webhook(501, TRIGGER, at=1))
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
    assert sorted(a["email"] for a in gevent["attendees"]) == [BUYER, "cto@acme.example"]
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
    assert crm.writes() == [("501", event["meet_url"], gevent["id"])]
    assert crm.written(501) == (event["meet_url"], gevent["id"])


def test_same_deal_many_deliveries_and_event_ids_one_meeting(crm_stack: Stack) -> None:
    stack, crm = crm_stack, crm_stack.crm
    crm.add_deal(502)
    first = crm.stage_webhook(502, TRIGGER, at=1)
    answers = [stack.deliver(crm.redelivery(first, attempt)) for attempt in range(3)]
    assert [(a["stored"], a["duplicates"]) for a in answers] == [(1, 0), (0, 1), (0, 1)]
    assert stack.deliver(crm.stage_webhook(502, TRIGGER, at=2))["stored"] == 1  # a new id
    stack.deliver(crm.stage_webhook(502, TRIGGER, at=3), crm.start_webhook(502, at=4))
    stack.work()
    events = stack.events()
    assert len(events) == 4 and {e["status"] for e in events} == {"succeeded"}
    assert len(stack.google.all_events()) == 1
    assert len(crm.writes()) == 1
    assert len({e["meet_url"] for e in events}) == 1


def test_crm_429_on_the_write_back_is_retried(crm_stack: Stack) -> None:
    stack, crm = crm_stack, crm_stack.crm
    crm.add_deal(504)
    crm.fail_write(504, 429, headers={"Retry-After": "1"})
    stack.deliver(crm.stage_webhook(504, TRIGGER, at=1))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["attempts"] == 2
    detail = shown(stack.store, event["id"])
    assert detail["attempt_history"][0]["error_reason"] == "crm_rate_limited"
    assert len(crm.writes()) == 1 and len(stack.google.all_events()) == 1


def test_deal_not_in_stage_any_more_is_skipped(crm_stack: Stack) -> None:
    stack, crm = crm_stack, crm_stack.crm
    crm.add_deal(508, stage=OTHER)
    stack.deliver(crm.stage_webhook(508, TRIGGER, at=1))
    stack.work()
    [event] = stack.events()
    assert (event["status"], event["last_error_reason"]) == ("skipped", "not_in_trigger_stage")
    assert repr(crm.stage_id(OTHER)) in event["last_error"]
    assert stack.google.all_events() == [] and crm.writes() == []


def test_missing_start_waits_for_the_property(crm_stack: Stack) -> None:
    stack, crm = crm_stack, crm_stack.crm
    crm.add_deal(509, start=None)
    stack.deliver(crm.stage_webhook(509, TRIGGER, at=1))
    stack.work()
    [event] = stack.events()
    assert (event["status"], event["last_error_reason"]) == ("skipped", "waiting_for_start")
    assert event["last_error"] == (
        f"deal 509: {crm.start_name} is empty; the demo is booked when it is filled"
    )
    assert stack.google.all_events() == []


@one_store_per_crm(hubspot="sqlite")
def test_hundred_deals_at_once(crm_stack: Stack) -> None:
    stack, crm = crm_stack, crm_stack.crm
    for i in range(100):
        crm.add_deal(1000 + i)
    result = stack.deliver(*[crm.stage_webhook(1000 + i, TRIGGER, at=1) for i in range(100)])
    assert result["stored"] == 100
    stack.work(timeout=120)
    assert [e["status"] for e in stack.events()] == ["succeeded"] * 100
    assert len(stack.google.all_events()) == 100
    assert len(crm.writes()) == 100
    assert len(stack.google.token_requests) == 1  # one token for the rep, not one per event


def test_no_secret_in_logs_errors_or_admin_api(crm_stack: Stack, caplog: Any) -> None:
    stack, crm = crm_stack, crm_stack.crm
    caplog.set_level(logging.DEBUG)
    crm.add_deal(520)
    crm.add_deal(521, owner="other@seller.example")
    crm.fail_write(520, 500)
    stack.google.refuse_subject("other@seller.example")
    stack.deliver(crm.stage_webhook(520, TRIGGER, at=1), crm.stage_webhook(521, TRIGGER, at=1))
    [(path, body, headers)] = crm.requests([crm.stage_webhook(520, TRIGGER, at=2)], forged=True)
    assert stack.client.post(path, data=body, headers=headers).status_code == 401  # logged
    stack.work()
    key = json.loads(Path(stack.settings.google_service_account_file or "").read_text())
    issued = list(stack.google._tokens)  # the access tokens Google handed out
    assert issued
    secrets = [*crm.secrets(), SECRET, ADMIN_TOKEN, key["private_key"].splitlines()[1], *issued]
    admin = stack.client.get(
        "/admin/events", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).get_data(as_text=True)
    details = [json.dumps(shown(stack.store, e["id"])) for e in stack.events()]
    text = "\n".join([caplog.text, admin, *details])
    assert "google_delegation_denied" in text and "crm_unavailable" in text
    for secret in secrets:
        assert secret not in text


# ---- Google's faults (the CRM plays no part) -----------------------------------------------


def test_google_5xx_then_success(stack: Stack) -> None:
    stack.deal("503")
    stack.google.inject_fault("insert", 503, times=2)
    stack.deliver(notification(503))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["attempts"] == 3
    detail = shown(stack.store, event["id"])
    assert [a["error_reason"] for a in detail["attempt_history"]] == [
        "google_unavailable",
        "google_unavailable",
        None,
    ]
    assert len(stack.google.all_events()) == 1


def test_pending_conference_is_polled(stack: Stack) -> None:
    stack.deal("505")
    stack.google.conference_pending_reads = 2
    stack.deliver(notification(505))
    stack.work()
    [event] = stack.events()
    assert event["status"] == "succeeded" and event["meet_url"].startswith(
        "https://meet.google.com/"
    )
    assert stack.crm.written(505)[0] == event["meet_url"]


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
    assert stack.google.all_events() == [] and stack.crm.writes() == []
