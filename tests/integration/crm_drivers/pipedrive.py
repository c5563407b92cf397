"""The Pipedrive driver: deals on the Pipedrive emulator (date + time start fields), one v2
webhook per request with HTTP basic auth."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

from middleware.testing.pipedrive import PipedriveEmulator
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

#: the custom fields' 40-hex keys (the rules name them)
MEET, EVENT, DAY, TIME = ("a" * 40, "e" * 40, "b" * 40, "c" * 40)
USER, PASSWORD = "pd-hook", "hook-password"


class PipedriveDriver(CRMDriver):
    name = "pipedrive"
    auth_challenge = "Basic"
    start_name = f"custom field {DAY} + {TIME}"
    #: "Demo Scheduled", "Lost", "Contact Made" of the emulator's pipeline
    stages = {TRIGGER: 3, CANCEL: 5, OTHER: 2}
    EARLIER_STAGE = 1  # "Qualified": where a deal comes from
    _kinds = {
        "stage:3": "stage:trigger",
        "stage:5": "stage:cancel",
        DAY: "start",
        TIME: "start",
        "owner_id": "owner",
        "deleted": "deleted",
    }

    def __init__(self, emulator: PipedriveEmulator) -> None:
        super().__init__()
        self.emulator = emulator
        for key, kind in ((MEET, "varchar"), (EVENT, "varchar"), (DAY, "date"), (TIME, "time")):
            emulator.define_field(key, kind)
        self._owner(REP)

    def env(self) -> dict[str, str]:
        return {
            "PIPEDRIVE_WEBHOOK_USER": USER,
            "PIPEDRIVE_WEBHOOK_PASSWORD": PASSWORD,
            "PIPEDRIVE_API_TOKEN": self.emulator.api_token,
            "PIPEDRIVE_API_BASE_URL": self.emulator.base_url,
        }

    def rules(self, text: str) -> str:
        text = replace_once(
            text, "cancel_stage_ids = []", f"cancel_stage_ids = [{self.stages[CANCEL]}]"
        )
        for key, value in (
            ("start_field", DAY),
            ("start_time_field", TIME),
            ("meet_url_field", MEET),
            ("event_id_field", EVENT),
        ):
            text = replace_once(text, f'{key} = ""', f'{key} = "{value}"')
        return text

    def secrets(self) -> list[str]:
        return [self.emulator.api_token, PASSWORD, self._basic_auth(PASSWORD)]

    def _owner(self, email: str) -> int:
        if email not in self._owners:
            self._owners[email] = 7 + len(self._owners)
            self.emulator.add_user(self._owners[email], email)
        return int(self._owners[email])

    @staticmethod
    def start_fields(start: str | None) -> dict[str, Any]:
        """A start as the date and time fields hold it: UTC (``Z``) as the time's zone, a
        start without offset as a bare time (the rep's zone applies)."""
        if start is None:
            return {DAY: None, TIME: None}
        day, _, clock = start.partition("T")
        if clock.endswith("Z"):
            return {DAY: day, TIME: {"value": clock[:-1], "timezone_name": "UTC"}}
        if "+" in clock or "-" in clock:
            raise ValueError(f"give the start in UTC (Z) or without offset, not {start!r}")
        return {DAY: day, TIME: clock}

    def add_deal(
        self,
        deal_id: DealId,
        *,
        start: str | None = DEFAULT_START,
        stage: str = TRIGGER,
        owner: str = REP,
        contacts: tuple[str, ...] = (BUYER,),
    ) -> None:
        people = [int(deal_id) * 10 + n for n in range(len(contacts))]
        for person, email in zip(people, contacts, strict=True):
            self.emulator.add_person(person, email)
        self.emulator.add_deal(
            int(deal_id),
            stage_id=self.stages[stage],
            owner_id=self._owner(owner),
            person_id=people[0] if people else None,
            participants=tuple(people[1:]),
            title=f"Acme {deal_id}",
            **self.start_fields(start),
        )

    def webhook(
        self,
        deal_id: DealId,
        previous: dict[str, Any],
        *,
        at: int,
        stage: int | None = None,
        action: str = "change",
    ) -> Webhook:
        """A v2 webhook of the deal (reference §2.2, §2.4): ``data`` has the deal's id and
        ``stage`` (its current stage when None), ``previous`` the changed fields' old values."""
        if stage is None:
            stage = self.emulator.deals[int(deal_id)].stage_id
        return {
            "meta": {
                "action": action,
                "entity": "deal",
                "entity_id": str(deal_id),
                "company_id": str(self.emulator.company_id),
                "id": f"evt-{next(event_ids)}",
                "timestamp": datetime.fromtimestamp(EPOCH + at, UTC).isoformat(),
                "version": "2.0",
            },
            "data": None if action == "delete" else {"id": int(deal_id), "stage_id": stage},
            "previous": previous,
        }

    def move(self, deal_id: DealId, stage: str, *, at: int) -> Webhook:
        before = self.emulator.deals[int(deal_id)].stage_id
        self.emulator.move(int(deal_id), stage_id=self.stages[stage])
        return self.webhook(deal_id, {"stage_id": before}, at=at)

    def set_start(self, deal_id: DealId, start: str | None, *, at: int) -> Webhook:
        before = self.emulator.fields(int(deal_id))
        after = self.start_fields(start)
        self.emulator.set_fields(int(deal_id), **after)
        changed = {k: before.get(k) for k, v in after.items() if before.get(k) != v}
        return self.webhook(deal_id, {"custom_fields": changed}, at=at)

    def reassign(self, deal_id: DealId, owner: str, *, at: int) -> Webhook:
        before = self.emulator.deals[int(deal_id)].owner_id
        self.emulator.move(int(deal_id), owner_id=self._owner(owner))
        return self.webhook(deal_id, {"owner_id": before}, at=at)

    def delete(self, deal_id: DealId, *, at: int) -> Webhook:
        stage = self.emulator.deals[int(deal_id)].stage_id
        self.emulator.delete_deal(int(deal_id))
        previous = {"id": int(deal_id), "stage_id": stage}
        return self.webhook(deal_id, previous, at=at, action="delete")

    def stage_webhook(self, deal_id: DealId, stage: str, *, at: int) -> Webhook:
        previous = {"stage_id": self.EARLIER_STAGE}
        return self.webhook(deal_id, previous, at=at, stage=self.stages[stage])

    def start_webhook(self, deal_id: DealId, *, at: int, stage: str = TRIGGER) -> Webhook:
        previous = {"custom_fields": {TIME: None}}
        return self.webhook(deal_id, previous, at=at, stage=self.stages[stage])

    def unwatched_webhook(self, deal_id: DealId, *, at: int) -> Webhook:
        # The emulator has no rename: the webhook alone says the title changed, and the
        # service never reads the deal for it.
        return self.webhook(deal_id, {"title": f"Acme {deal_id} (old name)"}, at=at)

    def redelivery(self, webhook: Webhook, attempt: int) -> Webhook:
        again = copy.deepcopy(webhook)
        again["meta"]["attempt"] = attempt + 1
        return again

    @staticmethod
    def _basic_auth(password: str) -> str:
        return base64.b64encode(f"{USER}:{password}".encode()).decode()

    def requests(self, webhooks: list[Webhook], *, forged: bool = False) -> list[Request]:
        auth = self._basic_auth("not-the-password" if forged else PASSWORD)
        headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
        return [("/webhooks/pipedrive", json.dumps(w).encode(), headers) for w in webhooks]

    def written(self, deal_id: DealId) -> tuple[str | None, str | None]:
        fields = self.emulator.fields(int(deal_id))
        return fields.get(MEET) or None, fields.get(EVENT) or None

    def writes(self) -> list[tuple[str, str | None, str | None]]:
        return [
            (str(d), f.get(MEET) or None, f.get(EVENT) or None) for d, f in self.emulator.patches
        ]

    def fail_write(
        self, deal_id: DealId, status: int, *, headers: dict[str, str] | None = None
    ) -> None:
        self.emulator.fail_next(
            status, headers=headers, path=f"/api/v2/deals/{deal_id}", method="PATCH"
        )

    def tag(self, deal_id: DealId) -> str:
        return f"pipedrive:{self.emulator.company_id}:{deal_id}"
