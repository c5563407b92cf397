"""Helpers the HubSpot emulator's tests share: the token, its header, URLs and a deal PATCH."""

from __future__ import annotations

import requests

from middleware.testing.hubspot import HubSpotEmulator

TOKEN = "pat-na1-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def url(hs: HubSpotEmulator, path: str) -> str:
    return hs.base_url + path


def patch_deal(api: requests.Session, hs: HubSpotEmulator, deal_id: str, props: dict):
    return api.patch(url(hs, f"/crm/v3/objects/deals/{deal_id}"), json={"properties": props})
