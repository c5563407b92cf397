"""The wiring: every adapter built from settings, stand-ins that say what to set."""

from __future__ import annotations

from typing import Any

import pytest

from middleware import wiring
from middleware.crm.base import NotConfiguredClient
from middleware.crm.hubspot import HubSpotIntake
from middleware.crm.registry import CRMS, crm_module
from middleware.errors import PermanentError
from middleware.model import Deal


def _deal() -> Deal:
    return Deal(
        provider="hubspot",
        account_id="1",
        deal_id="2",
        name="Acme",
        stage="demoscheduled",
        in_trigger_stage=True,
        owner_email="rep@example.com",
        company="Acme",
        start_value=None,
        start_property="demo_start_time",
    )


def test_every_registered_crm_has_its_webhook_endpoint(make_settings: Any) -> None:
    intakes = wiring.webhook_intakes(make_settings())
    assert ("hubspot", "") in intakes
    assert isinstance(intakes["hubspot", ""], HubSpotIntake)
    assert {provider for provider, _ in intakes} == set(CRMS)
    assert crm_module("hubspot") is CRMS["hubspot"]
    assert crm_module("salesforce") is None


def test_unconfigured_crm_and_google_fail_with_the_fix(make_settings: Any) -> None:
    settings = make_settings(HUBSPOT_ACCESS_TOKEN=None, GOOGLE_SERVICE_ACCOUNT_FILE=None)
    clients = wiring.crm_clients(settings)
    hubspot = clients["hubspot"]
    assert isinstance(hubspot, NotConfiguredClient)
    with pytest.raises(PermanentError, match="HUBSPOT_ACCESS_TOKEN is not set") as info:
        hubspot.fetch_deal("1", "2")
    assert info.value.reason == "not_configured"
    with pytest.raises(PermanentError, match="HUBSPOT_ACCESS_TOKEN"):
        hubspot.write_back(_deal(), meet_url="https://meet.google.com/x", calendar_event_id="e")
    calendar = wiring.google_calendar(settings)
    with pytest.raises(PermanentError, match="GOOGLE_SERVICE_ACCOUNT_FILE is not set"):
        calendar.ensure_event(spec=None)
    messages = wiring.not_configured_messages(clients, calendar)
    assert set(messages) == {"hubspot", "pipedrive", "google"}


def test_configured_crm_gets_the_real_client(make_settings: Any) -> None:
    from middleware.crm.hubspot.client import HubSpotClient

    settings = make_settings(HUBSPOT_ACCESS_TOKEN="pat-test")
    client = wiring.crm_clients(settings)["hubspot"]
    assert isinstance(client, HubSpotClient)
    assert "pat-test" not in repr(client)
