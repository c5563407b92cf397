"""Idle workers are woken by new events (wakeup.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

from middleware.model import NewEvent
from middleware.operations import replay_event
from middleware.store import Store


def new(key: str) -> NewEvent:
    return NewEvent("hubspot", "62515", "1", key, "demoscheduled", None, {})


def test_nothing_new_waits_out_the_timeout(store: Store) -> None:
    waiter = store.waiter()
    try:
        waiter.wait(0.05)  # the first look learns where the store is
        started = time.monotonic()
        assert waiter.wait(0.3) is False
        assert time.monotonic() - started >= 0.25
    finally:
        waiter.close()


def test_a_stored_event_wakes_the_waiter_long_before_its_timeout(store: Store) -> None:
    waiter = store.waiter()
    woke: list[float] = []
    try:
        waiter.wait(0.05)

        def wait() -> None:
            started = time.monotonic()
            if waiter.wait(10):
                woke.append(time.monotonic() - started)

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.2)
        store.add_events([new("a")])
        thread.join(12)
        assert woke and woke[0] < 5  # woken, not timed out
    finally:
        waiter.close()


def test_a_replay_wakes_the_waiter_too(store: Store) -> None:
    [event_id] = store.add_events([new("b")]).ids
    [claim] = store.claim("w", 1, 60)
    store.finish(claim, "failed", reason="google_delegation_denied", message="refused")
    waiter = store.waiter()
    try:
        waiter.wait(0.05)
        replay_event(store, event_id, actor="test")
        assert waiter.wait(10) is True
    finally:
        waiter.close()


def test_a_stopped_waiter_returns_at_once(store: Store) -> None:
    stopping = threading.Event()
    waiter = store.waiter(stopping)
    try:
        waiter.wait(0.05)
        stopping.set()
        started = time.monotonic()
        waiter.wait(5)
        assert time.monotonic() - started < 1
    finally:
        waiter.close()


class _Finisher:
    """A pipeline that only records when it started each event and finishes it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.started: dict[int, float] = {}

    def run(self, claim: object) -> None:
        self.started[claim.event_id] = time.monotonic()  # type: ignore[attr-defined]
        self.store.finish(claim, "succeeded", action="booked")  # type: ignore[arg-type]


def test_an_idle_worker_starts_a_new_event_without_waiting_out_its_poll(store: Store) -> None:
    from middleware.worker import Worker

    pipeline = _Finisher(store)
    worker = Worker(store, pipeline, concurrency=2, poll_seconds=30)  # type: ignore[arg-type]
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # idle: its first claim found nothing, it waits (up to 30 s)
        stored_at = time.monotonic()
        [event_id] = store.add_events([new("c")]).ids
        deadline = stored_at + 10
        while event_id not in pipeline.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert event_id in pipeline.started  # long before the 30 s poll would have come
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()  # stop() ends the wait at once
