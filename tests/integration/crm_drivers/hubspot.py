"""The HubSpot driver: deals on the HubSpot emulator, v3-signed batches of notifications."""

from __future__ import annotations

from typing import Any

from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import SECRET, body_of, hubspot_headers, notification
from tests.integration.crm_drivers.base import (
    BUYER,
    CANCEL,
    DEFAULT_START,
    EPOCH,
    OTHER,
    REP,
    TRIGGER,
    CRMDriver,
    DealId,
    Request,
    Webhook,
    event_ids,
    replace_once,
)


def _ms(at: int) -> int:
    return (EPOCH + at) * 1000


class HubSpotDriver(CRMDriver):
    name = "hubspot"
    start_name = "demo_start_time"
    stages = {TRIGGER: "demoscheduled", CANCEL: "closedlost", OTHER: "appointmentscheduled"}
    _kinds = {
        "demoscheduled": "stage:trigger",
        "closedlost": "stage:cancel",
        "demo_start_time": "start",
        "hubspot_owner_id": "owner",
        "deleted": "deleted",
    }

    def __init__(self, emulator: HubSpotEmulator) -> None:
        super().__init__()
        self.emulator = emulator
        self._owners[REP] = "101"
        emulator.add_owner("101", REP, "Sam", "Rep")

    def env(self) -> dict[str, str]:
        return {
            "HUBSPOT_ACCESS_TOKEN": self.emulator.access_token,
            "HUBSPOT_API_BASE_URL": self.emulator.base_url,
        }

    def rules(self, text: str) -> str:
        return replace_once(
            text, "cancel_stages = []", f'cancel_stages = ["{self.stages[CANCEL]}"]'
        )

    def secrets(self) -> list[str]:
        return [self.emulator.access_token, SECRET]

    def _owner(self, email: str) -> str:
        if email not in self._owners:
            self._owners[email] = str(101 + len(self._owners))
            self.emulator.add_owner(self._owners[email], email, "Nia", "New")
        return str(self._owners[email])

    def add_deal(
        self,
        deal_id: DealId,
        *,
        start: str | None = DEFAULT_START,
        stage: str = TRIGGER,
        owner: str = REP,
        contacts: tuple[str, ...] = (BUYER,),
        **props: Any,
    ) -> None:
        """Also takes any deal property (``dealstage="closedwon"``), for HubSpot-only tests."""
        contact_ids = []
        for n, email in enumerate(contacts):
            contact_ids.append(f"{deal_id}{n}")
            self.emulator.add_contact(contact_ids[-1], email, "Bo", "Buyer")
        properties = {
            "dealname": f"Acme {deal_id}",
            "dealstage": self.stages[stage],
            "pipeline": "default",
            "hubspot_owner_id": self._owner(owner),
            "demo_start_time": start,
            **props,
        }
        self.emulator.add_deal(str(deal_id), properties, contact_ids)

    def _change(self, deal_id: DealId, name: str, value: str | None, at: int) -> Webhook:
        return notification(
            deal_id,
            propertyName=name,
            propertyValue=value or "",
            occurred_at=_ms(at),
            event_id=next(event_ids),
        )

    def move(self, deal_id: DealId, stage: str, *, at: int) -> Webhook:
        self.emulator.set_deal_properties(str(deal_id), dealstage=self.stages[stage])
        return self.stage_webhook(deal_id, stage, at=at)

    def set_start(self, deal_id: DealId, start: str | None, *, at: int) -> Webhook:
        self.emulator.set_deal_properties(str(deal_id), demo_start_time=start)
        return self._change(deal_id, "demo_start_time", start, at)

    def reassign(self, deal_id: DealId, owner: str, *, at: int) -> Webhook:
        self.emulator.set_deal_properties(str(deal_id), hubspot_owner_id=self._owner(owner))
        return self._change(deal_id, "hubspot_owner_id", self._owner(owner), at)

    def delete(self, deal_id: DealId, *, at: int) -> Webhook:
        self.emulator.delete_deal(str(deal_id))
        return {
            "eventId": next(event_ids),
            "portalId": self.emulator.portal_id,
            "occurredAt": _ms(at),
            "subscriptionType": "deal.deletion",
            "objectId": int(deal_id),
        }

    def stage_webhook(self, deal_id: DealId, stage: str, *, at: int) -> Webhook:
        return self._change(deal_id, "dealstage", self.stages[stage], at)

    def start_webhook(self, deal_id: DealId, *, at: int, stage: str = TRIGGER) -> Webhook:
        start = self.emulator.deal_properties(str(deal_id))["demo_start_time"]
        return self._change(deal_id, "demo_start_time", start, at)

    def unwatched_webhook(self, deal_id: DealId, *, at: int) -> Webhook:
        self.emulator.set_deal_properties(str(deal_id), dealname=f"Acme {deal_id} (renamed)")
        return self._change(deal_id, "dealname", f"Acme {deal_id} (renamed)", at)

    def redelivery(self, webhook: Webhook, attempt: int) -> Webhook:
        return dict(webhook, attemptNumber=attempt)

    def requests(self, webhooks: list[Webhook], *, forged: bool = False) -> list[Request]:
        body = body_of(webhooks)
        uri = "http://localhost/webhooks/hubspot"
        secret = "not-the-client-secret" if forged else SECRET
        return [("/webhooks/hubspot", body, hubspot_headers(body, uri, secret=secret))]

    def written(self, deal_id: DealId) -> tuple[str | None, str | None]:
        props = self.emulator.deal_properties(str(deal_id))
        return props["demo_meet_url"] or None, props["demo_calendar_event_id"] or None

    def writes(self) -> list[tuple[str, str | None, str | None]]:
        return [
            (
                p["deal_id"],
                p["properties"].get("demo_meet_url") or None,
                p["properties"].get("demo_calendar_event_id") or None,
            )
            for p in self.emulator.patches
        ]

    def fail_write(
        self, deal_id: DealId, status: int, *, headers: dict[str, str] | None = None
    ) -> None:
        self.emulator.inject_fault(
            "PATCH", rf"/crm/v3/objects/deals/{deal_id}$", status, headers=headers
        )

    def tag(self, deal_id: DealId) -> str:
        return f"hubspot:{self.emulator.portal_id}:{deal_id}"
