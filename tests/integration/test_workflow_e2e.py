"""A demo booked through a HubSpot workflow webhook (``POST /webhooks/hubspot/workflow``) over
real sockets, on SQLite and PostgreSQL: the body is the deal as the emulated CRM API returns
it, signed v2 and v3 like HubSpot's "Send a webhook" action; the worker books it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from middleware.crm.hubspot import sign_v2, signed_headers
from tests.builders import SECRET
from tests.integration.conftest import REP, Stack

pytestmark = pytest.mark.timeout(120)

URI = "http://localhost/webhooks/hubspot/workflow"


def enrolled_deal(stack: Stack, deal_id: str) -> bytes:
    """The workflow's default body: the deal as the CRM API returns it, plus ``portalId``."""
    response = requests.get(
        f"{stack.hubspot.base_url}/crm/v3/objects/deals/{deal_id}",
        params={"properties": "dealname,dealstage,hs_lastmodifieddate"},
        headers={"Authorization": f"Bearer {stack.hubspot.access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return json.dumps({**response.json(), "portalId": stack.hubspot.portal_id}).encode()


def send(stack: Stack, body: bytes) -> Any:
    headers = {
        **signed_headers(SECRET, "POST", URI, body, datetime.now(UTC)),
        "X-HubSpot-Signature": sign_v2(SECRET, "POST", URI, body),
        "X-HubSpot-Signature-Version": "v2",
    }
    response = stack.client.post("/webhooks/hubspot/workflow", data=body, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_a_workflow_webhook_books_the_demo(stack: Stack) -> None:
    stack.deal("801", start="2030-04-01T14:00:00Z")
    body = enrolled_deal(stack, "801")
    assert send(stack, body)["stored"] == 1
    assert send(stack, body)["duplicates"] == 1  # HubSpot's retry of the same enrollment
    stack.work()
    [event] = stack.google.live_events()
    assert event["start"]["dateTime"].startswith("2030-04-01T14:00:00")
    assert event["organizer"]["email"] == REP
    assert [a["email"] for a in event["attendees"] if a["email"] != REP] == ["buyer@acme.example"]
    props = stack.hubspot.deal_properties("801")
    assert props["demo_meet_url"] == event["hangoutLink"]
    assert props["demo_calendar_event_id"] == event["id"]
    [stored] = stack.events()
    assert (stored["trigger"], stored["status"], stored["action"]) == (
        "workflow",
        "succeeded",
        "booked",
    )


def test_a_deal_the_service_ignores_is_still_acknowledged(stack: Stack) -> None:
    stack.deal("802", dealstage="closedwon")
    assert send(stack, enrolled_deal(stack, "802"))["stored"] == 1
    stack.work()
    assert stack.google.live_events() == []
    [stored] = stack.events()
    assert stored["status"] == "skipped"
