"""The account details route of the HubSpot emulator (the token's portal).

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import pytest
import requests

from middleware.testing.hubspot import HubSpotEmulator
from tests.testing.hubspot.support import AUTH, url

pytestmark = pytest.mark.timeout(10)


# ---- account details (the token's portal) -----------------------------------------------


@pytest.mark.parametrize("path", ["/account-info/v3/details", "/account-info/2026-03/details"])
def test_account_details(hs, api, path: str) -> None:
    details = api.get(url(hs, path)).json()
    assert details["portalId"] == 62515
    assert details["timeZone"] == "US/Eastern"
    assert details["accountType"] == "STANDARD"
    assert details["utcOffsetMilliseconds"] in (-18_000_000, -14_400_000)  # EST / EDT
    assert details["utcOffset"] in ("-05:00", "-04:00")
    assert requests.get(url(hs, path)).status_code == 401


def test_account_details_are_settable() -> None:
    with HubSpotEmulator(portal_id=777, time_zone="Asia/Kolkata") as hs:
        details = requests.get(url(hs, "/account-info/v3/details"), headers=AUTH).json()
        assert (details["portalId"], details["timeZone"]) == (777, "Asia/Kolkata")
        assert (details["utcOffset"], details["utcOffsetMilliseconds"]) == ("+05:30", 19_800_000)
        hs.time_zone = "UTC"
        details = requests.get(url(hs, "/account-info/v3/details"), headers=AUTH).json()
        assert (details["timeZone"], details["utcOffset"]) == ("UTC", "+00:00")
