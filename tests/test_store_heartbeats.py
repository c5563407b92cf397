"""Worker heartbeats: a silent worker's leases are free in seconds; a beating one keeps them."""

from __future__ import annotations

from middleware.store import Store
from middleware.store.queue import DEAD_AFTER_SECONDS
from tests.builders import shown
from tests.test_store import Clock, clock, new  # noqa: F401 - the clock fixture

__all__ = ["clock"]


def test_a_silent_workers_events_are_taken_over_long_before_the_lease_ends(
    store: Store, clock: Clock
) -> None:
    store.beat("host-a:1")
    [event_id] = store.add_events([new("1")]).ids
    [held] = store.claim("host-a:1", 1, lease_seconds=60)
    clock.advance(DEAD_AFTER_SECONDS - 1)
    assert store.claim("host-b:2", 1, lease_seconds=60) == []  # still alive by its last beat
    clock.advance(2)  # silent for longer than DEAD_AFTER_SECONDS, 49 s of lease left
    [taken] = store.claim("host-b:2", 1, lease_seconds=60)
    assert taken.event_id == event_id and taken.attempt == 2
    assert not store.finish(held, "succeeded")  # the dead worker's outcome is refused
    history = shown(store, event_id)["attempt_history"]
    assert [a["outcome"] for a in history] == ["abandoned", "processing"]


def test_a_beating_worker_keeps_its_leases_however_slow(store: Store, clock: Clock) -> None:
    store.beat("host-a:1")
    store.add_events([new("1")])
    store.claim("host-a:1", 1, lease_seconds=60)
    for _ in range(5):
        clock.advance(DEAD_AFTER_SECONDS - 1)
        store.beat("host-a:1")
        assert store.claim("host-b:2", 1, lease_seconds=60) == []


def test_a_worker_that_never_beats_keeps_the_lease_rule(store: Store, clock: Clock) -> None:
    store.add_events([new("1")])
    store.claim("old-version:1", 1, lease_seconds=60)
    clock.advance(59)
    assert store.claim("host-b:2", 1, lease_seconds=60) == []
    clock.advance(2)
    assert len(store.claim("host-b:2", 1, lease_seconds=60)) == 1


def test_a_name_that_prefixes_another_is_not_mistaken_for_it(store: Store, clock: Clock) -> None:
    store.beat("host:1")  # silent from now on: dead after DEAD_AFTER_SECONDS
    store.beat("host:12")
    store.add_events([new("1")])
    store.claim("host:12", 1, lease_seconds=60)
    clock.advance(DEAD_AFTER_SECONDS + 1)
    store.beat("host:12")
    assert store.claim("other:3", 1, lease_seconds=60) == []


def test_a_clean_stop_forgets_the_worker(store: Store, clock: Clock) -> None:
    store.beat("host-a:1")
    store.forget_worker("host-a:1")
    store.add_events([new("1")])
    store.claim("host-a:1", 1, lease_seconds=60)
    clock.advance(DEAD_AFTER_SECONDS + 1)
    # no row any more: the lease rule again (its releases already freed what it held)
    assert store.claim("host-b:2", 1, lease_seconds=60) == []
