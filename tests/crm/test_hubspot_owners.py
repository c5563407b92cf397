"""Deal owners' emails (``crm/hubspot/owners.py``) against the emulator: the first page of the
owners list serves a team, an owner not on it is read alone, a deactivated one is
``owner_not_found``, and a burst of threads lists the page once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from middleware.crm.hubspot.client import HubSpotClient
from middleware.deadlines import Timeouts
from middleware.errors import PermanentError
from middleware.rules import HubSpotRules
from middleware.testing.hubspot import HubSpotEmulator

pytestmark = pytest.mark.timeout(20)

TOKEN = "pat-na1-test-token"
REPS = 8


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(access_token=TOKEN, portal_id=62515) as emulator:
        for n in range(REPS):
            emulator.add_owner(str(101 + n), f"rep{n}@example.com")
            add_deal(emulator, str(301 + n), str(101 + n))
        yield emulator


def add_deal(hs: HubSpotEmulator, deal_id: str, owner_id: str) -> None:
    hs.add_deal(
        deal_id,
        {"dealname": "Acme", "dealstage": "demoscheduled", "hubspot_owner_id": owner_id},
    )


def client(hs: HubSpotEmulator) -> HubSpotClient:
    return HubSpotClient(
        base_url=hs.base_url,
        access_token=TOKEN,
        rules=HubSpotRules(),
        timeout=Timeouts(2.0, 5.0, 10.0),
    )


def owner_calls(hs: HubSpotEmulator) -> list[str]:
    return [r["path"] for r in hs.requests if r["path"].startswith("/crm/v3/owners")]


def test_one_page_of_owners_serves_the_whole_team(hs: HubSpotEmulator) -> None:
    c = client(hs)
    emails = [c.fetch_deal("62515", str(301 + n)).owner_email for n in range(REPS)]
    assert emails == [f"rep{n}@example.com" for n in range(REPS)]
    assert owner_calls(hs) == ["/crm/v3/owners"]  # one call for eight owners


def test_an_owner_not_on_the_page_is_read_alone(hs: HubSpotEmulator) -> None:
    c = client(hs)
    assert c.fetch_deal("62515", "301").owner_email == "rep0@example.com"
    hs.add_owner("999", "new@example.com")  # joined after the page was listed
    add_deal(hs, "399", "999")
    assert c.fetch_deal("62515", "399").owner_email == "new@example.com"
    assert owner_calls(hs) == ["/crm/v3/owners", "/crm/v3/owners/999"]  # no second listing


def test_a_deactivated_owner_is_not_found(hs: HubSpotEmulator) -> None:
    hs.add_owner("998", "gone@example.com", archived=True)
    add_deal(hs, "398", "998")
    with pytest.raises(PermanentError) as info:
        client(hs).fetch_deal("62515", "398")
    assert info.value.reason == "owner_not_found"
    assert owner_calls(hs) == ["/crm/v3/owners", "/crm/v3/owners/998"]


def test_a_burst_of_threads_lists_the_page_once(hs: HubSpotEmulator) -> None:
    c = client(hs)
    c.account_details()
    hs.inject_delay("GET", r"^/crm/v3/owners$", 0.3)  # the listing is slow: all threads ask
    emails: list[str | None] = []
    threads = [
        threading.Thread(
            target=lambda d=str(301 + n): emails.append(c.fetch_deal("62515", d).owner_email)
        )
        for n in range(REPS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e or "" for e in emails) == [f"rep{n}@example.com" for n in range(REPS)]
    assert owner_calls(hs) == ["/crm/v3/owners"]
