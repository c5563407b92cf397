"""The demo's Pipedrive side: the Pipedrive emulator with a sample deal whose start is a date
field plus a time field (with its own zone), and the v2 webhook with basic auth Pipedrive would
send when the deal moves into the "Demo Scheduled" stage."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from middleware.crm.pipedrive import basic_auth_headers
from middleware.demo.emulated import EmulatedCRM
from middleware.testing.pipedrive import PipedriveEmulator

DEAL_ID = "4242"
TRIGGER_STAGE, PREVIOUS_STAGE, OWNER_ID, PERSON_ID = 3, 2, 7, 901
#: (rules key, field name, field type); the keys are 40-hex hashes, as Pipedrive's are
FIELDS = (
    ("start_field", "Demo day", "date"),
    ("start_time_field", "Demo time", "time"),
    ("meet_url_field", "Demo Meet URL", "varchar"),
    ("event_id_field", "Demo Calendar event id", "varchar"),
)
KEYS = {
    role: hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest() for role, name, _ in FIELDS
}
#: the time field's own zone wins over the rep's (CONTRACT.md, rules [pipedrive])
TIME_ZONE = "Europe/Berlin"


class PipedriveDemo(EmulatedCRM):
    """Pipedrive in the demo: ``with`` it to run its emulator."""

    name = "Pipedrive"
    deal_id = DEAL_ID

    def __init__(self) -> None:
        self.emulator = PipedriveEmulator()
        self._user, self._password = "pd-demo", secrets.token_hex(16)

    def seed(self, rep: str, start: datetime) -> None:
        crm = self.emulator
        for role, name, kind in FIELDS:
            crm.define_field(KEYS[role], kind, name)
        crm.add_user(OWNER_ID, rep, "Alex Rep")
        crm.add_person(PERSON_ID, "jordan.buyer@prospect.example", "Jordan Buyer")
        start_fields: dict[str, Any] = {
            KEYS["start_field"]: start.date().isoformat(),
            KEYS["start_time_field"]: {
                "value": start.strftime("%H:%M:%S"),
                "timezone_name": TIME_ZONE,
            },
        }
        crm.add_deal(
            int(DEAL_ID),
            stage_id=TRIGGER_STAGE,
            owner_id=OWNER_ID,
            person_id=PERSON_ID,
            title="Prospect Inc. platform rollout",
            **start_fields,
        )

    def env(self, workdir: Path) -> dict[str, str]:
        """The emulator's settings, and rules naming its stage and field keys (a company's
        keys are its own, so the shipped rules file cannot name them)."""
        rules = workdir / "middleware.toml"
        keys = "".join(f'{role} = "{key}"\n' for role, key in KEYS.items())
        rules.write_text(
            '[meeting]\ntitle = "Demo: {deal_name}"\n\n'
            f"[pipedrive]\ntrigger_stage_ids = [{TRIGGER_STAGE}]\n{keys}"
        )
        return {
            "MIDDLEWARE_CONFIG": str(rules),
            "PIPEDRIVE_API_TOKEN": self.emulator.api_token,
            "PIPEDRIVE_API_BASE_URL": self.emulator.base_url,
            "PIPEDRIVE_WEBHOOK_USER": self._user,
            "PIPEDRIVE_WEBHOOK_PASSWORD": self._password,
        }

    def send_webhook(self, base: str, now: datetime) -> tuple[str, requests.Response]:
        """POST the v2 "deal changed stage" webhook with basic auth; (what was sent, answer)."""
        body = {
            "meta": {
                "action": "change",
                "entity": "deal",
                "entity_id": DEAL_ID,
                "company_id": str(self.emulator.company_id),
                "id": str(uuid.uuid4()),
                "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "user_id": str(OWNER_ID),
                "version": "2.0",
                "attempt": 1,
            },
            "data": {
                "id": int(DEAL_ID),
                "title": "Prospect Inc. platform rollout",
                "stage_id": TRIGGER_STAGE,
                "owner_id": OWNER_ID,
                "person_id": PERSON_ID,
                "status": "open",
            },
            "previous": {"stage_id": PREVIOUS_STAGE},
        }
        answer = requests.post(
            base + "/webhooks/pipedrive",
            data=json.dumps(body).encode(),
            headers=basic_auth_headers(self._user, self._password),
            timeout=10,
        )
        return "a Pipedrive v2 webhook with basic auth", answer

    def written_back(self) -> dict[str, Any]:
        """The deal's write-back custom fields by name; the Meet URL's first."""
        fields = self.emulator.fields(int(DEAL_ID))
        return {
            name: fields.get(KEYS[role]) or None
            for role, name, _ in FIELDS
            if role in ("meet_url_field", "event_id_field")
        }
