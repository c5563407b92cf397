"""An attempt past ``WORKER_ATTEMPT_TIMEOUT_SECONDS`` is taken over, and the deal still has one
Calendar event: real workers, the real adapters over real sockets, SQLite and PostgreSQL.

The stuck attempt is a Google insert that Google carried out but never answered (the emulator
holds the answer) under a call deadline longer than the test: only the attempt maximum can
free the event. Its worker stops renewing the lease; another worker takes the event over,
inserts the same deterministic id (409), reads it and finishes; when the stuck call finally
returns, its outcome is refused."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from middleware.deadlines import Timeouts
from middleware.wiring import pipeline as build_pipeline
from middleware.worker import Worker
from tests.builders import notification, shown
from tests.integration.conftest import REP, Stack

pytestmark = pytest.mark.timeout(90)

#: Calls that wait far longer than the test: only the attempt maximum ends the stuck attempt.
PATIENT = Timeouts(connect=5.0, read=60.0, total=60.0)


def stuck_worker(stack: Stack, attempt_timeout: float) -> tuple[Worker, threading.Thread]:
    worker = Worker(
        stack.store,
        build_pipeline(stack.settings, stack.store, google_timeout=PATIENT),
        concurrency=1,  # its one thread is stuck: it never claims the event again itself
        lease_seconds=1.0,
        attempt_timeout_seconds=attempt_timeout,
        poll_seconds=0.05,
        name="stuck",
    )
    thread = threading.Thread(target=worker.run, name="stuck-worker", daemon=True)
    thread.start()
    return worker, thread


def rescuer(stack: Stack) -> Worker:
    return Worker(
        stack.store,
        build_pipeline(stack.settings, stack.store),
        concurrency=2,
        lease_seconds=30.0,
        poll_seconds=0.05,
        name="rescuer",
    )


def test_a_stuck_attempt_is_taken_over_with_one_calendar_event(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="middleware.worker")
    stack.deal("701")
    [event_id] = stack.deliver(notification(701))["event_ids"]
    hold = stack.google.hold("insert")  # Google makes the event, its answer never comes
    worker, thread = stuck_worker(stack, attempt_timeout=1.0)
    try:
        assert hold.wait_started(15)
        rescuer(stack).run_until_done(30)

        event = shown(stack.store, event_id)
        assert event["status"] == "succeeded" and event["action"] == "booked"
        first, second = event["attempt_history"]
        assert (first["worker"], first["outcome"], first["error_reason"]) == (
            "stuck",
            "abandoned",
            "lease_expired",
        )
        assert (second["worker"], second["outcome"]) == ("rescuer", "succeeded")
        # Renewed until the attempt maximum (1 s), then left to expire (1 s lease).
        waited = _instant(second["started_at"]) - _instant(first["started_at"])
        assert 1.0 <= waited < 6.0, waited
        assert any("over the 1 s maximum" in r.getMessage() for r in caplog.records)
    finally:
        hold.release()
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()

    # The stuck call returned at last and its worker went on: its outcome was refused.
    event = shown(stack.store, event_id)
    assert event["status"] == "succeeded" and len(event["attempt_history"]) == 2
    [live] = stack.google.live_events()
    assert live["id"] == event["calendar_event_id"] and live["organizer"]["email"] == REP
    assert [r["status"] for r in stack.google.requests if r["op"] == "insert"] == [200, 409]
    props = stack.hubspot.deal_properties("701")
    assert props["demo_calendar_event_id"] == live["id"]
    assert props["demo_meet_url"] == event["meet_url"]


def test_within_the_attempt_maximum_the_lease_is_kept(stack: Stack) -> None:
    """The control: the same stuck call under a long attempt maximum is never taken over."""
    stack.deal("702")
    [event_id] = stack.deliver(notification(702))["event_ids"]
    hold = stack.google.hold("insert")
    worker, thread = stuck_worker(stack, attempt_timeout=60.0)
    try:
        assert hold.wait_started(15)
        with pytest.raises(TimeoutError):
            rescuer(stack).run_until_done(3)  # 3 leases of 1 s: renewed all along
        event = shown(stack.store, event_id)
        assert event["status"] == "processing" and len(event["attempt_history"]) == 1
    finally:
        hold.release()
    deadline = time.monotonic() + 30
    while shown(stack.store, event_id)["status"] != "succeeded":
        assert time.monotonic() < deadline, "the stuck worker never finished"
        time.sleep(0.05)
    worker.stop()
    thread.join(30)
    event = shown(stack.store, event_id)
    assert [a["worker"] for a in event["attempt_history"]] == ["stuck"]
    assert len(stack.google.live_events()) == 1


def _instant(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()
