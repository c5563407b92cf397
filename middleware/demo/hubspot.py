"""The demo's HubSpot side: the HubSpot emulator with a sample deal, and the signed webhook
HubSpot would send when the deal enters "Demo Scheduled"."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from middleware.crm import hubspot
from middleware.demo.emulated import EmulatedCRM
from middleware.testing.hubspot import HubSpotEmulator

DEAL_ID = "4242"
WRITTEN_BACK = ("demo_meet_url", "demo_calendar_event_id")


def _rules_file(workdir: Path) -> str:
    """The shipped rules (HubSpot's default property names are the emulator's), or a minimal
    file outside a checkout."""
    shipped = Path("config/middleware.toml")
    if shipped.is_file():
        return str(shipped.resolve())
    path = workdir / "middleware.toml"
    path.write_text('[meeting]\ntitle = "Demo: {deal_name}"\n')
    return str(path)


class HubSpotDemo(EmulatedCRM):
    """HubSpot in the demo: ``with`` it to run its emulator."""

    name = "HubSpot"
    deal_id = DEAL_ID

    def __init__(self) -> None:
        self.emulator = HubSpotEmulator()
        self._secret = secrets.token_hex(16)

    def seed(self, rep: str, start: datetime) -> None:
        crm = self.emulator
        crm.add_owner("101", rep, "Alex", "Rep")
        crm.add_contact(
            "901", "jordan.buyer@prospect.example", "Jordan", "Buyer", company="Prospect Inc."
        )
        crm.add_deal(
            DEAL_ID,
            {
                "dealname": "Prospect Inc. platform rollout",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": start.isoformat().replace("+00:00", "Z"),
            },
            ["901"],
        )

    def env(self, workdir: Path) -> dict[str, str]:
        return {
            "MIDDLEWARE_CONFIG": _rules_file(workdir),
            "HUBSPOT_CLIENT_SECRET": self._secret,
            "HUBSPOT_ACCESS_TOKEN": self.emulator.access_token,
            "HUBSPOT_API_BASE_URL": self.emulator.base_url,
        }

    def send_webhook(self, base: str, now: datetime) -> tuple[str, requests.Response]:
        """POST the signed "deal entered demoscheduled" notification; (what was sent, answer)."""
        body = json.dumps(
            [
                {
                    "eventId": 1,
                    "subscriptionId": 1,
                    "portalId": self.emulator.portal_id,
                    "appId": 1,
                    "occurredAt": int(now.timestamp() * 1000),
                    "subscriptionType": "deal.propertyChange",
                    "attemptNumber": 0,
                    "objectId": int(DEAL_ID),
                    "propertyName": "dealstage",
                    "propertyValue": "demoscheduled",
                    "changeSource": "CRM_UI",
                }
            ]
        ).encode()
        uri = base + "/webhooks/hubspot"
        headers = hubspot.signed_headers(self._secret, "POST", uri, body, now)
        answer = requests.post(uri, data=body, headers=headers, timeout=10)
        return "a signed HubSpot webhook", answer

    def written_back(self) -> dict[str, Any]:
        """The deal's write-back properties by name; the Meet URL's first."""
        props = self.emulator.deal_properties(DEAL_ID)
        return {k: props.get(k) or None for k in WRITTEN_BACK}
