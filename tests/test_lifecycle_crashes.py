"""A worker killed between any two external writes of any lifecycle transition, on SQLite and
PostgreSQL: the next worker takes the event over when the lease expires and the end state is
right, with never more than one live Calendar event for the deal.

The kill is modelled exactly where SIGKILL strikes: right after an external write took effect
(Google or the CRM holds it) and before the worker recorded anything more. ``Killed`` is a
``BaseException``, so nothing in the pipeline catches it: the event stays ``processing`` under a
lease nobody renews, as after a real SIGKILL (tests/integration/test_worker_process.py kills a
real worker process the same way)."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from middleware.model import Deal
from middleware.store import Store
from middleware.testing.memory import FakeCalendar, FakeCRM, make_deal
from tests.killing import Killed, Killer
from tests.test_pipeline import Clock, add, make_pipeline

NEW_REP = "new-rep@seller.example"
LEASE = 60
_keys = itertools.count()


class DyingCalendar(FakeCalendar):
    def __init__(self, killer: Killer) -> None:
        super().__init__()
        self.killer = killer

    def ensure_event(self, **call: Any) -> Any:
        result = super().ensure_event(**call)
        if result.changed:
            self.killer.wrote()
        return result

    def restore_event(self, **call: Any) -> Any:
        result = super().restore_event(**call)
        self.killer.wrote()
        return result

    def cancel_event(self, **call: Any) -> None:
        super().cancel_event(**call)
        self.killer.wrote()


class DyingCRM(FakeCRM):
    def __init__(self, killer: Killer) -> None:
        super().__init__()
        self.killer = killer

    def write_back(self, deal: Deal, **values: str) -> bool:
        wrote = super().write_back(deal, **values)
        if wrote:
            self.killer.wrote()
        return wrote

    def clear_write_back(self, deal: Deal) -> bool:
        wrote = super().clear_write_back(deal)
        if wrote:
            self.killer.wrote()
        return wrote


def run_to_the_end(store: Store, pipeline: Any, clock: Clock) -> None:
    """Claim and run until nothing is due; a killed attempt is taken over after its lease."""
    for _ in range(50):
        claims = store.claim("w", 1, LEASE)
        if not claims:
            if store.count_unfinished() == 0:
                return
            clock.now += timedelta(seconds=LEASE + 1)  # the dead worker's lease runs out
            continue
        with contextlib.suppress(Killed):
            pipeline.run(claims[0])
    raise AssertionError("events never finished")


# Each transition: how to set the deal up before (booked or cancelled), then the change.
def _reschedule(deal: Deal) -> Deal:
    return replace(deal, start_value="2030-02-01T09:00:00Z")


def _cancel(deal: Deal) -> Deal:
    return replace(deal, stage="closedlost", in_trigger_stage=False, in_cancel_stage=True)


def _new_owner(deal: Deal) -> Deal:
    return replace(deal, owner_email=NEW_REP)


TRANSITIONS = {
    "book": (None, lambda d: d),
    "reschedule": ("booked", _reschedule),
    "cancel": ("booked", _cancel),
    "re-enter": ("cancelled", lambda d: d),
    "re-enter-refused": ("cancelled-refused", lambda d: d),
    "new-owner": ("booked", _new_owner),
}


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_killed_after_any_external_write(store: Store, name: str, kill_at: int) -> None:
    clock = Clock()
    store.clock = clock
    killer = Killer()
    calendar, crm = DyingCalendar(killer), DyingCRM(killer)
    pipeline = make_pipeline(store, crm, calendar, clock)
    before, change = TRANSITIONS[name]
    deal = make_deal("1")
    crm.add(deal)
    if before is not None:
        add(store, "1", f"setup-{next(_keys)}")
        run_to_the_end(store, pipeline, clock)
        if before.startswith("cancelled"):
            crm.add(_cancel(crm.deals["1"]))
            add(store, "1", f"setup-{next(_keys)}")
            run_to_the_end(store, pipeline, clock)
            if before == "cancelled-refused":
                calendar.refuse_restore.update(m.event_id for m in calendar.events.values())
            crm.add(
                replace(
                    crm.deals["1"],
                    stage="demoscheduled",
                    in_trigger_stage=True,
                    in_cancel_stage=False,
                )
            )
    crm.add(change(crm.deals["1"]))
    killer.writes, killer.kill_at = 0, kill_at
    event_id = add(store, "1", f"change-{next(_keys)}")
    run_to_the_end(store, pipeline, clock)
    detail = store.get_event(event_id)
    assert detail is not None and detail.status == "succeeded", detail
    outcomes = [a.outcome for a in detail.attempt_history]
    # The kill happened whenever the transition makes that many writes, and it shows.
    assert ("abandoned" in outcomes) == killer.killed

    now = crm.deals["1"]
    live = calendar.live()
    assert len(live) <= 1, f"two live events after a kill at write {kill_at}"
    if now.in_cancel_stage:
        assert live == []
        assert (now.current_meet_url, now.current_event_id) == (None, None)
    else:
        [meeting] = live
        assert meeting.organizer == (NEW_REP if name == "new-owner" else "rep@seller.example")
        assert meeting.spec.start.isoformat().startswith(
            "2030-02-01T09:00" if name == "reschedule" else "2030-01-07T15:00"
        )
        assert (now.current_meet_url, now.current_event_id) == (meeting.meet_url, meeting.event_id)
        record = store.deal_record("hubspot", "62515", "1")
        assert record.calendar_event_id == meeting.event_id and record.live
