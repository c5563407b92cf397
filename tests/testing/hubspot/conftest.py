"""Fixtures of the HubSpot emulator's tests: a seeded emulator and an authorised session.

The emulator stands in for HubSpot in the integration tests, so these tests pin the response
shapes the real client depends on (see shared/reference/crm-webhooks-and-apis.md §1.7).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from middleware.testing.hubspot import HubSpotEmulator
from tests.testing.hubspot.support import AUTH


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as emulator:
        emulator.add_owner("101", "rep@example.com", "Sam", "Rep")
        emulator.add_contact("201", "ada@example.com", "Ada", "Lovelace")
        emulator.add_contact("202", "alan@example.com", "Alan", "Turing")
        emulator.add_deal(
            "301",
            {
                "dealname": "Acme",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": "2030-01-01T10:00:00Z",
            },
            contact_ids=["201", "202"],
        )
        emulator.add_deal("302", {"dealname": "Lonely", "dealstage": "demoscheduled"})
        yield emulator


@pytest.fixture
def api(hs: HubSpotEmulator) -> requests.Session:
    session = requests.Session()
    session.headers.update(AUTH)
    return session
