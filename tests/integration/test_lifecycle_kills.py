"""The worker killed between the external writes of every lifecycle transition, over real
sockets (the real CRM and Google adapters against the emulators), for every CRM (``crm``), HubSpot
on PostgreSQL and Pipedrive on SQLite (the store's part of a kill is the same for both CRMs).

A kill is modelled where SIGKILL strikes: right after an external write took effect in Google or
the CRM, before the worker recorded anything more. ``Killed`` is a ``BaseException`` the pipeline
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
from middleware.wiring import pipeline as build_pipeline
from tests.integration.conftest import FAST_RULES, Stack, service_env
from tests.integration.crm_drivers import (
    CANCEL,
    NEW_REP,
    REP,
    TRIGGER,
    CRMDriver,
    one_store_per_crm,
)
from tests.killing import Killed, Killer

pytestmark = [pytest.mark.timeout(120), one_store_per_crm(hubspot="postgresql")]
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
    crm: CRMDriver,
    tmp_path: Path,
    store: Store,
) -> Stack:
    """``crm_stack`` on a clock the test moves (a dead worker's lease runs out at once)."""
    env = service_env(make_env, google, crm, tmp_path, rules=crm.rules(FAST_RULES))
    store.clock = Clock()
    return Stack(load_settings(env), store, google, crm)


def run(stack: Stack, killer: Killer) -> None:
    pipeline = build_pipeline(stack.settings, stack.store)
    pipeline.clock = stack.store.clock
    pipeline.lifecycle.calendar = Dying(pipeline.lifecycle.calendar, killer)
    pipeline.crms[stack.crm.name] = Dying(pipeline.crms[stack.crm.name], killer)
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
    crm = stack.crm
    crm.add_deal(801, start=None if name == "book" else "2030-01-07T15:00:00Z")
    if name == "book":
        return
    stack.deliver(crm.stage_webhook(801, TRIGGER, at=1))
    run(stack, Killer())
    if name.startswith("re-enter"):
        stack.deliver(crm.move(801, CANCEL, at=2))
        run(stack, Killer())
        if name == "re-enter-refused":
            stack.google.restore_refused.update(e["id"] for e in stack.google.all_events())


def transition(stack: Stack, name: str) -> None:
    crm = stack.crm
    if name == "book":
        stack.deliver(crm.set_start(801, "2030-01-07T15:00:00Z", at=10))
    elif name == "reschedule":
        stack.deliver(crm.set_start(801, "2030-02-01T09:00:00Z", at=10))
    elif name == "cancel":
        stack.deliver(crm.move(801, CANCEL, at=10))
    elif name.startswith("re-enter"):
        stack.deliver(crm.move(801, TRIGGER, at=10))
    elif name == "new-owner":
        stack.deliver(crm.reassign(801, NEW_REP, at=10))


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
    written = stack.crm.written(801)
    if name == "cancel":
        assert live == [] and written == (None, None)
    else:
        [event] = live
        assert event["_calendar_owner"] == (NEW_REP if name == "new-owner" else REP)
        start = "2030-02-01T09:00:00" if name == "reschedule" else "2030-01-07T15:00:00"
        assert event["start"]["dateTime"].startswith(start)
        assert written == (event["hangoutLink"], event["id"])
    newest = stack.events()[0]
    assert newest["status"] == "succeeded", newest
    detail = stack.store.get_event(newest["id"])
    assert detail is not None
    assert ("abandoned" in [a.outcome for a in detail.attempt_history]) == killer.killed
