"""The whole service against local emulators of Google and HubSpot, over real sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from middleware.app import create_app
from middleware.settings import Settings, load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.wiring import pipeline as build_pipeline
from middleware.worker import Worker
from tests.builders import SHIPPED_RULES, body_of, hubspot_headers, notification, shown_page

REP = "rep@seller.example"
# Fast backoff so retry scenarios finish in seconds.
FAST_RULES = SHIPPED_RULES.replace("base_seconds = 2.0", "base_seconds = 0.05").replace(
    "max_seconds = 600.0", "max_seconds = 1.0"
)


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emu:
        yield emu


@pytest.fixture
def hubspot() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as emu:
        emu.add_owner("101", REP, "Sam", "Rep")
        yield emu


def emulator_env(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    **extra: str,
) -> dict[str, str]:
    """Environment of a fully configured service pointed at the emulators."""
    return make_env(
        rules=FAST_RULES,
        GOOGLE_SERVICE_ACCOUNT_FILE=google.write_key_file(tmp_path / "sa-key.json"),
        GOOGLE_API_BASE_URL=google.base_url,
        HUBSPOT_ACCESS_TOKEN=hubspot.access_token,
        HUBSPOT_API_BASE_URL=hubspot.base_url,
        **{"WORKER_POLL_SECONDS": "0.05", **extra},
    )


@pytest.fixture
def stack_env(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
) -> dict[str, str]:
    return emulator_env(make_env, google, hubspot, tmp_path)


@pytest.fixture
def stack_settings(stack_env: dict[str, str]) -> Settings:
    return load_settings(stack_env)


class Stack:
    """The web app (in-process, Flask test client) and an in-process worker on one store."""

    def __init__(
        self, settings: Settings, store: Store, google: GoogleEmulator, hubspot: HubSpotEmulator
    ) -> None:
        self.settings = settings
        self.store = store
        self.google = google
        self.hubspot = hubspot
        self.client = create_app(settings, store=store).test_client()

    def deal(
        self,
        deal_id: str,
        *,
        start: str = "2030-01-07T15:00:00Z",
        contacts: tuple[str, ...] = ("buyer@acme.example",),
        **props: Any,
    ) -> None:
        contact_ids = []
        for n, email in enumerate(contacts):
            cid = f"{deal_id}{n}"
            self.hubspot.add_contact(cid, email, "Bo", "Buyer")
            contact_ids.append(cid)
        properties = {
            "dealname": f"Acme {deal_id}",
            "dealstage": "demoscheduled",
            "pipeline": "default",
            "hubspot_owner_id": "101",
            "demo_start_time": start,
            **props,
        }
        self.hubspot.add_deal(deal_id, properties, contact_ids)

    def deliver(self, *notifications: dict[str, Any]) -> Any:
        body = body_of(list(notifications))
        response = self.client.post(
            "/webhooks/hubspot",
            data=body,
            headers=hubspot_headers(body, "http://localhost/webhooks/hubspot"),
        )
        assert response.status_code == 200, response.json
        return response.json

    def work(self, timeout: float = 60) -> None:
        pipeline = build_pipeline(self.settings, self.store)
        Worker(
            self.store,
            pipeline,
            concurrency=8,
            poll_seconds=0.05,
            lease_seconds=30,
            max_attempts=self.settings.rules.retry.max_attempts,
        ).run_until_done(timeout)

    def events(self) -> list[dict[str, Any]]:
        from middleware.store import EventFilter

        page, _ = shown_page(self.store, EventFilter(), limit=500)
        return page


@pytest.fixture
def stack(
    stack_settings: Settings, store: Store, google: GoogleEmulator, hubspot: HubSpotEmulator
) -> Stack:
    return Stack(stack_settings, store, google, hubspot)


__all__ = ["REP", "Stack", "notification"]
