"""Parks in the store (SQLite and PostgreSQL): park a scope, read it, finish an event parked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from middleware.store import Store
from tests.builders import shown
from tests.test_store import Clock, new

__all__ = ["Clock"]


@pytest.fixture
def clock(store: Store) -> Clock:
    c = Clock()
    store.clock = c
    return c


def test_park_is_active_until_its_end(store: Store, clock: Clock) -> None:
    until = clock.now + timedelta(hours=2)
    park = store.park("google:a@x.example", until, reason="google_quota_exceeded", message="m")
    assert (park.scope, park.until, park.reason, park.message) == (
        "google:a@x.example",
        until,
        "google_quota_exceeded",
        "m",
    )
    assert store.active_park("google:a@x.example") == park
    assert store.active_park("google:b@x.example") is None  # other scopes are not parked
    assert store.active_park("google:a@x.example", now=until - timedelta(seconds=1)) == park
    assert store.active_park("google:a@x.example", now=until) is None  # over at its end
    assert store.active_park() is None


def test_a_later_park_wins_and_an_earlier_one_changes_nothing(store: Store, clock: Clock) -> None:
    scope = "hubspot:62515"
    long = clock.now + timedelta(hours=20)
    store.park(scope, long, reason="crm_daily_limit", message="daily")
    kept = store.park(scope, clock.now + timedelta(minutes=5), reason="crm_migrating", message="x")
    assert (kept.until, kept.reason, kept.message) == (long, "crm_daily_limit", "daily")
    longer = long + timedelta(hours=4)
    moved = store.park(scope, longer, reason="crm_migrating", message="477")
    assert (moved.until, moved.reason, moved.message) == (longer, "crm_migrating", "477")
    # An expired park is replaced by a new one.
    clock.advance(30 * 3600)
    again = store.park(scope, clock.now + timedelta(minutes=1), reason="r", message="new")
    assert again.until == clock.now + timedelta(minutes=1)


def test_active_park_of_several_scopes_is_the_one_ending_last(store: Store, clock: Clock) -> None:
    store.park("google:a@x.example", clock.now + timedelta(hours=1), reason="q", message="rep")
    store.park("google", clock.now + timedelta(hours=3), reason="q", message="project")
    park = store.active_park("google:a@x.example", "google")
    assert park is not None and park.message == "project"
    clock.advance(3 * 3600)
    assert store.active_park("google:a@x.example", "google") is None


def test_finish_parked_spends_no_attempt(store: Store, clock: Clock) -> None:
    [event_id] = store.add_events([new("1")]).ids
    until = clock.now + timedelta(hours=6)
    for _ in range(15):  # far more than any retry budget
        [claim] = store.claim("w1", 1, 60, max_attempts=3)
        assert claim.attempts_since_replay == 1
        assert store.finish(
            claim,
            "retrying",
            reason="google_quota_exceeded",
            message="Calendar usage limits exceeded",
            retry_at=until,
            park=True,
        )
        assert store.claim("w1", 1, 60) == []  # parked until its end
        clock.now = until
        until = clock.now + timedelta(hours=6)
    event = shown(store, event_id)
    assert event is not None
    assert event["status"] == "retrying" and event["attempts"] == 15
    assert event["next_attempt_at"] == "2026-11-29T06:00:00Z"
    assert event["last_error"] == (
        "parked until 2026-11-29T06:00:00Z: Calendar usage limits exceeded"
    )
    assert event["last_error_reason"] == "google_quota_exceeded"
    history = event["attempt_history"]
    assert {a["outcome"] for a in history} == {"parked"}
    assert history[-1]["retry_at"] == "2026-11-29T06:00:00Z"
    assert history[-1]["error"] == event["last_error"]


def test_an_ordinary_retry_after_parks_still_counts(store: Store, clock: Clock) -> None:
    store.add_events([new("1")])
    [claim] = store.claim("w1", 1, 60)
    store.finish(claim, "retrying", reason="r", message="m", retry_at=clock.now, park=True)
    [claim] = store.claim("w1", 1, 60)
    store.finish(claim, "retrying", reason="r", message="m", retry_at=clock.now)
    [claim] = store.claim("w1", 1, 60)
    assert (claim.attempt, claim.attempts_since_replay) == (3, 2)


def test_park_needs_retrying_and_its_end(store: Store, clock: Clock) -> None:
    store.add_events([new("1")])
    [claim] = store.claim("w1", 1, 60)
    with pytest.raises(ValueError):
        store.finish(claim, "failed", reason="r", message="m", park=True)
    with pytest.raises(ValueError):
        store.finish(claim, "retrying", reason="r", message="m", park=True)
