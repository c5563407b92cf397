"""The worker killed between the external writes of every lifecycle transition, over real
sockets (the real HubSpot and Google adapters against the emulators), on SQLite and PostgreSQL.

A kill is modelled where SIGKILL strikes: right after an external write took effect in Google or
HubSpot, before the worker recorded anything more. ``Killed`` is a ``BaseException`` the pipeline
does not catch, so the event stays ``processing`` under a lease nobody renews; the next claim
after the lease expires takes it over, as after a real SIGKILL (which
``test_worker_process.py`` and ``test_scale.py`` do to real worker processes)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from middleware.settings import load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.wiring import pipeline as build_pipeline
from tests.integration.conftest import REP, Stack, emulator_env
from tests.integration.test_lifecycle_e2e import LIFECYCLE_RULES, NEW_REP, change, stage
from tests.killing import Killed, Killer

pytestmark = pytest.mark.timeout(120)
LEASE = 60
WRITES = {"ensure_event", "restore_event", "cancel_event", "write_back", "clear_write_back"}


class Dying:
    """Delegates to a real adapter; after each write that changed something, maybe dies."""

    def __init__(self, real: Any, killer: Killer) -> None:
        self._real, self._killer = real, killer

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name not in WRITES:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if result is not False and (name != "ensure_event" or result.changed):
                self._killer.wrote()
            return result

        return call


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def stack(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    store: Store,
) -> Stack:
    env = emulator_env(make_env, google, hubspot, tmp_path)
    env["MIDDLEWARE_CONFIG"] = str(tmp_path / "lifecycle.toml")
    Path(env["MIDDLEWARE_CONFIG"]).write_text(LIFECYCLE_RULES)
    hubspot.add_owner("102", NEW_REP, "Nia", "New")
    store.clock = Clock()
    return Stack(load_settings(env), store, google, hubspot)


def run(stack: Stack, killer: Killer) -> None:
    pipeline = build_pipeline(stack.settings, stack.store)
    pipeline.clock = stack.store.clock
    pipeline.lifecycle.calendar = Dying(pipeline.lifecycle.calendar, killer)
    pipeline.crms["hubspot"] = Dying(pipeline.crms["hubspot"], killer)
    clock = stack.store.clock
    assert isinstance(clock, Clock)
    for _ in range(60):
        claims = stack.store.claim("w", 1, LEASE)
        if not claims:
            if stack.store.count_unfinished() == 0:
                return
            clock.now += timedelta(seconds=LEASE + 1)  # the dead worker's lease runs out
            continue
        with contextlib.suppress(Killed):
            pipeline.run(claims[0])
    raise AssertionError("events never finished")


def setup(stack: Stack, name: str) -> None:
    """Bring deal 801 to where the transition starts."""
    stack.deal("801", start=None if name == "book" else "2030-01-07T15:00:00Z")
    if name == "book":
        return
    stack.deliver(stage(801, "demoscheduled", 1))
    run(stack, Killer())
    if name.startswith("re-enter"):
        stack.hubspot.set_deal_properties("801", dealstage="closedlost")
        stack.deliver(stage(801, "closedlost", 2))
        run(stack, Killer())
        if name == "re-enter-refused":
            stack.google.restore_refused.update(e["id"] for e in stack.google.all_events())


def transition(stack: Stack, name: str) -> None:
    if name == "book":
        stack.hubspot.set_deal_properties("801", demo_start_time="2030-01-07T15:00:00Z")
        stack.deliver(change(801, "demo_start_time", "2030-01-07T15:00:00Z", 10))
    elif name == "reschedule":
        stack.hubspot.set_deal_properties("801", demo_start_time="2030-02-01T09:00:00Z")
        stack.deliver(change(801, "demo_start_time", "2030-02-01T09:00:00Z", 10))
    elif name == "cancel":
        stack.hubspot.set_deal_properties("801", dealstage="closedlost")
        stack.deliver(stage(801, "closedlost", 10))
    elif name.startswith("re-enter"):
        stack.hubspot.set_deal_properties("801", dealstage="demoscheduled")
        stack.deliver(stage(801, "demoscheduled", 10))
    elif name == "new-owner":
        stack.hubspot.set_deal_properties("801", hubspot_owner_id="102")
        stack.deliver(change(801, "hubspot_owner_id", "102", 10))


NAMES = ["book", "reschedule", "cancel", "re-enter", "re-enter-refused", "new-owner"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_killed_after_any_external_write(stack: Stack, name: str, kill_at: int) -> None:
    setup(stack, name)
    transition(stack, name)
    killer = Killer()
    killer.kill_at = kill_at
    run(stack, killer)

    live = stack.google.live_events()
    assert len(live) <= 1, f"two live events after a kill at write {kill_at}"
    props = stack.hubspot.deal_properties("801")
    if name == "cancel":
        assert live == []
        assert (props["demo_meet_url"] or None, props["demo_calendar_event_id"] or None) == (
            None,
            None,
        )
    else:
        [event] = live
        assert event["_calendar_owner"] == (NEW_REP if name == "new-owner" else REP)
        start = "2030-02-01T09:00:00" if name == "reschedule" else "2030-01-07T15:00:00"
        assert event["start"]["dateTime"].startswith(start)
        assert (props["demo_meet_url"], props["demo_calendar_event_id"]) == (
            event["hangoutLink"],
            event["id"],
        )
    newest = stack.events()[0]
    assert newest["status"] == "succeeded", newest
    detail = stack.store.get_event(newest["id"])
    assert detail is not None
    assert ("abandoned" in [a.outcome for a in detail.attempt_history]) == killer.killed
