"""The demo's whole life for a Pipedrive deal over real sockets, on SQLite and PostgreSQL: the
web app stores basic-auth v2 webhooks at ``/webhooks/pipedrive``, the worker runs the real
Pipedrive and Google adapters against the emulators. Only the CRM module is new: the pipeline
and lifecycle are the ones HubSpot deals go through."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from middleware.app import create_app
from middleware.settings import Settings, load_settings
from middleware.store import EventFilter, Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.pipedrive import PipedriveEmulator
from middleware.wiring import pipeline as build_pipeline
from middleware.worker import Worker
from tests.builders import shown_page
from tests.integration.conftest import FAST_RULES, REP

pytestmark = pytest.mark.timeout(120)

NEW_REP = "new-rep@seller.example"
MEET, EVENT, DAY, TIME = ("a" * 40, "e" * 40, "b" * 40, "c" * 40)
TRIGGER, OTHER, LOST = 3, 2, 5
USER, PASSWORD = "pd-hook", "hook-password"
RULES = FAST_RULES.replace("cancel_stage_ids = []", f"cancel_stage_ids = [{LOST}]")
for _key, _value in (
    ("start_field", DAY),
    ("start_time_field", TIME),
    ("meet_url_field", MEET),
    ("event_id_field", EVENT),
):
    RULES = RULES.replace(f'{_key} = ""', f'{_key} = "{_value}"')
_ids = itertools.count(1)


@pytest.fixture
def pipedrive() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator() as emu:
        for key, kind in ((MEET, "varchar"), (EVENT, "varchar"), (DAY, "date"), (TIME, "time")):
            emu.define_field(key, kind)
        emu.add_user(7, REP)
        emu.add_user(8, NEW_REP)
        yield emu


class PipedriveStack:
    """The web app (Flask test client) and an in-process worker on one store."""

    def __init__(self, settings: Settings, store: Store, google, pipedrive) -> None:
        self.settings, self.store, self.google, self.pd = settings, store, google, pipedrive
        self.client = create_app(settings, store=store).test_client()

    def deal(self, deal_id: int, *, time: Any = None, stage: int = TRIGGER) -> None:
        self.pd.add_person(deal_id * 10, f"buyer{deal_id}@acme.example")
        time = time or {"value": "15:00:00", "timezone_name": "Europe/Berlin"}
        self.pd.add_deal(
            deal_id,
            stage_id=stage,
            owner_id=7,
            person_id=deal_id * 10,
            **{DAY: "2030-01-07", TIME: time},
        )

    def deliver(self, deal_id: int, previous: dict[str, Any] | None, action: str = "change") -> Any:
        deal = self.pd.deals[deal_id]
        data = None if action == "delete" else {"id": deal_id, "stage_id": deal.stage_id}
        body = {
            "meta": {
                "action": action,
                "entity": "deal",
                "entity_id": str(deal_id),
                "company_id": "8087566",
                "id": f"evt-{next(_ids)}",
                "timestamp": "2026-12-01T10:00:00.000Z",
                "version": "2.0",
            },
            "data": data,
            "previous": previous,
        }
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        response = self.client.post(
            "/webhooks/pipedrive",
            data=json.dumps(body),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.json
        return response.json

    def work(self) -> None:
        Worker(
            self.store,
            build_pipeline(self.settings, self.store),
            concurrency=4,
            poll_seconds=0.05,
            lease_seconds=30,
            max_attempts=self.settings.rules.retry.max_attempts,
        ).run_until_done(60)

    def live(self) -> list[dict[str, Any]]:
        return self.google.live_events()

    def written(self, deal_id: int) -> tuple[str | None, str | None]:
        fields = self.pd.fields(deal_id)
        return fields.get(MEET), fields.get(EVENT)

    def actions(self) -> list[tuple[str, str | None, str | None]]:
        page, _ = shown_page(self.store, EventFilter(), limit=500)
        return [
            (e["trigger"], e["last_error_reason"] or e["status"], e["action"])
            for e in reversed(page)
        ]


@pytest.fixture
def life(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    pipedrive: PipedriveEmulator,
    tmp_path: Path,
    store: Store,
) -> PipedriveStack:
    assert RULES.count(DAY) == 1 and f"[{LOST}]" in RULES
    env = make_env(
        rules=RULES,
        GOOGLE_SERVICE_ACCOUNT_FILE=google.write_key_file(tmp_path / "sa-key.json"),
        GOOGLE_API_BASE_URL=google.base_url,
        PIPEDRIVE_WEBHOOK_USER=USER,
        PIPEDRIVE_WEBHOOK_PASSWORD=PASSWORD,
        PIPEDRIVE_API_TOKEN=pipedrive.api_token,
        PIPEDRIVE_API_BASE_URL=pipedrive.base_url,
        WORKER_POLL_SECONDS="0.05",
    )
    return PipedriveStack(load_settings(env), store, google, pipedrive)


def test_wrong_credentials_are_401_with_a_challenge_and_store_nothing(life: PipedriveStack) -> None:
    response = life.client.post(
        "/webhooks/pipedrive", data=b"{}", headers={"Authorization": "Basic eDp5"}
    )
    assert response.status_code == 401 and "error" in response.json
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert life.actions() == []


def test_booked_at_the_time_fields_zone_with_write_back(life: PipedriveStack) -> None:
    life.deal(801)
    assert life.deliver(801, {"stage_id": OTHER})["stored"] == 1
    life.work()
    [event] = life.live()
    assert event["organizer"]["email"] == REP
    assert event["start"]["dateTime"].startswith("2030-01-07T15:00:00+01:00") or event["start"][
        "dateTime"
    ].startswith("2030-01-07T14:00:00Z")
    assert life.written(801) == (event["hangoutLink"], event["id"])
    assert life.deliver(801, {"stage_id": OTHER})["stored"] == 1  # another event id: stored


def test_waiting_for_start_then_the_time_books_and_a_new_time_moves(life: PipedriveStack) -> None:
    life.deal(802)
    life.pd.set_fields(802, **{TIME: None})
    life.deliver(802, {"stage_id": OTHER})
    life.work()
    assert life.live() == [] and life.actions()[-1][1] == "waiting_for_start"
    life.pd.set_fields(802, **{TIME: {"value": "09:30:00", "timezone_name": "UTC"}})
    life.deliver(802, {"custom_fields": {TIME: None}})
    life.work()
    [booked] = life.live()
    life.pd.set_fields(802, **{TIME: {"value": "11:00:00", "timezone_name": "UTC"}})
    life.deliver(802, {"custom_fields": {TIME: {"value": "09:30:00"}}})
    life.work()
    [moved] = life.live()
    assert moved["id"] == booked["id"] and moved["hangoutLink"] == booked["hangoutLink"]
    assert [a for _, _, a in life.actions()] == [None, "booked", "moved"]


def test_cancel_stage_then_reentry_restores_the_same_event(life: PipedriveStack) -> None:
    life.deal(803)
    life.deliver(803, {"stage_id": OTHER})
    life.work()
    [booked] = life.live()
    life.pd.move(803, stage_id=LOST)
    life.deliver(803, {"stage_id": TRIGGER})
    life.work()
    assert life.live() == [] and life.written(803) == (None, None)
    assert life.google.event(REP, booked["id"])["status"] == "cancelled"
    life.pd.move(803, stage_id=TRIGGER)
    life.deliver(803, {"stage_id": LOST})
    life.work()
    [restored] = life.live()
    assert restored["id"] == booked["id"]
    assert life.written(803) == (restored["hangoutLink"], restored["id"])
    assert [a for _, _, a in life.actions()] == ["booked", "cancelled", "restored"]


def test_a_new_owner_moves_the_meeting_to_their_calendar(life: PipedriveStack) -> None:
    life.deal(804)
    life.deliver(804, {"stage_id": OTHER})
    life.work()
    [old] = life.live()
    life.pd.move(804, owner_id=8)
    life.deliver(804, {"owner_id": 7})
    life.work()
    [new] = life.live()
    assert new["organizer"]["email"] == NEW_REP
    assert life.google.event(REP, old["id"])["status"] == "cancelled"
    assert life.written(804) == (new["hangoutLink"], new["id"])
    assert life.actions()[-1][2] == "reassigned"


@pytest.mark.parametrize("mode", ["not_found", "flagged"])
def test_a_deleted_deal_cancels_its_meeting(life: PipedriveStack, mode: str) -> None:
    life.pd.deleted_reads = mode
    life.deal(805)
    life.deliver(805, {"stage_id": OTHER})
    life.work()
    assert len(life.live()) == 1
    life.pd.delete_deal(805)
    life.deliver(805, {"id": 805, "stage_id": TRIGGER}, action="delete")
    life.work()
    assert life.live() == []
    assert life.actions()[-1] == ("deleted", "succeeded", "cancelled")


def test_a_rename_or_another_stage_is_acknowledged_and_not_stored(life: PipedriveStack) -> None:
    life.deal(806, stage=OTHER)
    answer = life.deliver(806, {"stage_id": 1})
    assert (answer["stored"], answer["ignored"]) == (0, 1)
    assert life.actions() == []
