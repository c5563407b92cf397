"""The whole service against local emulators of Google and the CRMs, over real sockets.

``stack`` is the service on HubSpot's emulator; ``crm_stack`` runs a test once per CRM
(``crm_drivers.CRMS``), each CRM's rules section set up for the whole lifecycle (a cancel
stage). A test that concerns one CRM only narrows it:
``@pytest.mark.parametrize("crm", ["pipedrive"], indirect=True)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from middleware.app import create_app
from middleware.pipeline import Pipeline
from middleware.settings import Settings, load_settings
from middleware.store import EventFilter, Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.testing.pipedrive import PipedriveEmulator
from middleware.wiring import pipeline as build_pipeline
from middleware.worker import Worker
from tests.builders import SHIPPED_RULES, notification, shown_page
from tests.integration.crm_drivers import (
    CRMS,
    DRIVERS,
    NEW_REP,
    REP,
    CRMDriver,
    HubSpotDriver,
    Webhook,
)
from tests.oauth.support import Browser, link_for, oauth_env

# Fast backoff so retry scenarios finish in seconds.
FAST_RULES = SHIPPED_RULES.replace("base_seconds = 2.0", "base_seconds = 0.05").replace(
    "max_seconds = 600.0", "max_seconds = 1.0"
)
#: how often the in-process worker looks for work (fast: the tests wait on it)
POLL_SECONDS = 0.01


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emu:
        yield emu


@pytest.fixture
def hubspot() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as emu:
        emu.add_owner("101", REP, "Sam", "Rep")
        yield emu


@pytest.fixture
def pipedrive() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator() as emu:
        yield emu


@pytest.fixture(params=CRMS)
def crm(request: pytest.FixtureRequest) -> CRMDriver:
    """A driver of each CRM's emulator in turn (see ``crm_drivers``)."""
    emulator = request.getfixturevalue(request.param)  # the fixture named like the CRM
    return DRIVERS[request.param](emulator)


def service_env(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    crm: CRMDriver,
    tmp_path: Path,
    *,
    rules: str = FAST_RULES,
    **extra: str,
) -> dict[str, str]:
    """Environment of a fully configured service pointed at the emulators."""
    return make_env(
        rules=rules,
        GOOGLE_SERVICE_ACCOUNT_FILE=google.write_key_file(tmp_path / "sa-key.json"),
        GOOGLE_API_BASE_URL=google.base_url,
        **{**crm.env(), "WORKER_POLL_SECONDS": "0.05", **extra},
    )


def emulator_env(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    **extra: str,
) -> dict[str, str]:
    """:func:`service_env` for HubSpot with the shipped rules (fast retries)."""
    return service_env(make_env, google, HubSpotDriver(hubspot), tmp_path, **extra)


class Stack:
    """The web app (in-process, Flask test client) and an in-process worker on one store, for
    the deals of one CRM (``crm``)."""

    def __init__(
        self, settings: Settings, store: Store, google: GoogleEmulator, crm: CRMDriver
    ) -> None:
        self.settings = settings
        self.store = store
        self.google = google
        self.crm = crm
        self.client = create_app(settings, store=store).test_client()
        self._pipeline: Pipeline | None = None

    @property
    def hubspot(self) -> HubSpotEmulator:
        """The HubSpot emulator, for HubSpot-only tests."""
        assert isinstance(self.crm, HubSpotDriver), "a HubSpot-only test"
        return self.crm.emulator

    def deal(self, deal_id: int | str, **kwargs: Any) -> None:
        """A deal in the CRM (see ``CRMDriver.add_deal``), in a trigger stage by default."""
        self.crm.add_deal(deal_id, **kwargs)

    def deliver(self, *webhooks: Webhook) -> dict[str, Any]:
        """Deliver ``webhooks`` as the CRM does (HubSpot: one signed batch; Pipedrive: a request
        each); each answer must be 200. Returns the answers' counts added up, and every
        ``event_ids`` in order."""
        total: Counter[str] = Counter()
        ids: list[int] = []
        for path, body, headers in self.crm.requests(list(webhooks)):
            response = self.client.post(path, data=body, headers=headers)
            answer = response.json
            assert response.status_code == 200 and answer is not None, answer
            total.update({k: v for k, v in answer.items() if isinstance(v, int)})
            ids.extend(answer.get("event_ids", []))
        return {**total, "event_ids": ids}

    def work(self, timeout: float = 60) -> None:
        """Run a worker until no event is left to do. The pipeline is built once, as a worker
        process builds it (its Google tokens and rep zones are kept between runs)."""
        if self._pipeline is None:
            self._pipeline = build_pipeline(self.settings, self.store)
        Worker(
            self.store,
            self._pipeline,
            concurrency=8,
            poll_seconds=POLL_SECONDS,
            lease_seconds=30,
            max_attempts=self.settings.rules.retry.max_attempts,
        ).run_until_done(timeout)

    def events(self) -> list[dict[str, Any]]:
        """Every stored event as the admin API shows it, newest first."""
        page, _ = shown_page(self.store, EventFilter(), limit=500)
        return page

    def live(self) -> list[dict[str, Any]]:
        """The Calendar events that are not cancelled, in every rep's calendar."""
        return self.google.live_events()

    def actions(self) -> list[tuple[str, str | None, str | None]]:
        """(trigger kind, status or reason, action) of every event, oldest first."""
        return [
            (self.crm.kind(e["trigger"]), e["last_error_reason"] or e["status"], e["action"])
            for e in reversed(self.events())
        ]


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


@pytest.fixture
def stack(
    stack_settings: Settings, store: Store, google: GoogleEmulator, hubspot: HubSpotEmulator
) -> Stack:
    """The service on HubSpot's emulator, with the shipped rules."""
    return Stack(stack_settings, store, google, HubSpotDriver(hubspot))


@pytest.fixture
def auth_mode(request: pytest.FixtureRequest) -> str:
    """Where reps' Google credentials come from in ``crm_stack``: ``delegation`` unless a test
    asks for both (:data:`AUTH_MODES`)."""
    return str(getattr(request, "param", "delegation"))


#: Run a scenario in both auth modes: the service account (delegation), and each rep's own
#: OAuth connection made through the real connect flow (no service account at all).
AUTH_MODES = pytest.mark.parametrize("auth_mode", ["delegation", "oauth"], indirect=True)


@pytest.fixture
def crm_stack(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    crm: CRMDriver,
    tmp_path: Path,
    store: Store,
    auth_mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stack]:
    """The service on each CRM's emulator in turn; its rules have a cancel stage. In
    ``oauth`` mode both reps connect their calendars first, and no service account exists."""
    env = service_env(make_env, google, crm, tmp_path, rules=crm.rules(FAST_RULES))
    if auth_mode == "oauth":
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator is plain http
        del env["GOOGLE_SERVICE_ACCOUNT_FILE"]
        env.update(oauth_env(google))
    stack = Stack(load_settings(env), store, google, crm)
    if auth_mode == "oauth":
        for rep in (REP, NEW_REP):
            assert Browser(stack.client).connect(link_for(stack.settings, rep)).status_code == 200
    yield stack
    if auth_mode == "oauth":  # every token came from a rep's refresh token, none from a key
        grants = {t["grant_type"] for t in google.token_requests}
        assert grants <= {"authorization_code", "refresh_token"}, grants


__all__ = ["AUTH_MODES", "REP", "Stack", "notification"]
