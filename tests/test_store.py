"""The event store on SQLite and PostgreSQL: intake, claims, leases, outcomes, replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from middleware.model import NewEvent
from middleware.store import EventFilter, Store
from tests.builders import shown, shown_page


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(store: Store) -> Clock:
    c = Clock()
    store.clock = c
    return c


def new(deal: str, key: str | None = None, provider: str = "hubspot") -> NewEvent:
    return NewEvent(
        provider=provider,
        account_id="62515",
        deal_id=deal,
        dedupe_key=key or f"k-{deal}",
        trigger="demoscheduled",
        occurred_at=datetime(2026, 11, 25, 11, 0, tzinfo=UTC),
        payload={"objectId": int(deal)},
    )


def test_add_events_dedupes_on_key(store: Store, clock: Clock) -> None:
    first = store.add_events([new("1"), new("2")])
    again = store.add_events([new("1"), new("3")])
    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates) == (1, 1)
    assert store.count_events(EventFilter()) == 3
    event = shown(store, first.ids[0])
    assert event is not None
    assert event["status"] == "pending" and event["attempts"] == 0
    assert event["created_at"] == "2026-11-25T12:00:00Z"


def test_claim_takes_each_event_once(store: Store, clock: Clock) -> None:
    store.add_events([new(str(i)) for i in range(5)])
    a = store.claim("w1", 3, 60)
    b = store.claim("w2", 10, 60)
    assert len(a) == 3 and len(b) == 2
    assert {c.event_id for c in a}.isdisjoint({c.event_id for c in b})
    assert store.claim("w3", 10, 60) == []
    assert all(c.attempt == 1 for c in a + b)


def test_one_deal_is_never_worked_on_twice_at_once(store: Store, clock: Clock) -> None:
    store.add_events([new("7", "a"), new("7", "b"), new("8", "c")])
    first = store.claim("w1", 10, 60)
    assert sorted(c.deal_id for c in first) == ["7", "8"]
    assert store.claim("w2", 10, 60) == []  # deal 7's second event waits
    held = next(c for c in first if c.deal_id == "7")
    assert store.finish(held, "succeeded")
    [second] = store.claim("w2", 10, 60)
    assert second.deal_id == "7" and second.event_id != held.event_id


def test_expired_lease_is_taken_over_and_explained(store: Store, clock: Clock) -> None:
    [event_id] = store.add_events([new("1")]).ids
    [dead] = store.claim("w1", 1, 60)
    clock.advance(30)
    assert store.claim("w2", 1, 60) == []  # lease still valid
    clock.advance(31)
    [taken] = store.claim("w2", 1, 60)
    assert taken.event_id == event_id and taken.attempt == 2
    # the dead worker's late result is refused: the lease is not its any more
    assert store.finish(dead, "failed", reason="x", message="late") is False
    assert store.finish(taken, "succeeded") is True
    event = shown(store, event_id)
    assert event is not None
    assert event["status"] == "succeeded"
    outcomes = [(a["number"], a["outcome"], a["error_reason"]) for a in event["attempt_history"]]
    assert outcomes == [(1, "abandoned", "lease_expired"), (2, "succeeded", None)]


def test_renew_keeps_the_lease(store: Store, clock: Clock) -> None:
    store.add_events([new("1")])
    [claim] = store.claim("w1", 1, 60)
    for _ in range(4):
        clock.advance(40)
        assert store.renew([claim], 60) == set()
    assert store.claim("w2", 1, 60) == []
    clock.advance(61)
    assert len(store.claim("w2", 1, 60)) == 1
    assert store.renew([claim], 60) == {claim.event_id}


def test_a_claim_finished_before_its_renewal_is_not_lost(store: Store) -> None:
    """The heartbeat may renew an attempt that has just finished: nothing to renew, and no
    "lease lost to another worker" for it."""
    store.add_events([new("1"), new("2")])
    done, running = store.claim("w1", 2, 60)
    assert store.finish(done, "succeeded") is True
    assert store.renew([done, running], 60) == set()


def test_retrying_waits_until_due(store: Store, clock: Clock) -> None:
    [event_id] = store.add_events([new("1")]).ids
    [claim] = store.claim("w1", 1, 60)
    store.finish(
        claim,
        "retrying",
        reason="google_unavailable",
        message="503",
        retry_at=clock.now + timedelta(seconds=10),
    )
    assert store.claim("w1", 1, 60) == []
    clock.advance(10)
    [again] = store.claim("w1", 1, 60)
    assert again.attempt == 2 and again.attempts_since_replay == 2
    event = shown(store, event_id)
    assert event is not None and event["status"] == "processing"
    assert event["errors"] == [
        {"attempt": 1, "at": "2026-11-25T12:00:00Z", "reason": "google_unavailable", "error": "503"}
    ]


def test_release_gives_the_event_back(store: Store, clock: Clock) -> None:
    [event_id] = store.add_events([new("1")]).ids
    [claim] = store.claim("w1", 1, 60)
    assert store.release(claim)
    event = shown(store, event_id)
    assert event is not None and event["status"] == "pending"
    assert len(store.claim("w2", 1, 60)) == 1


def test_worker_that_keeps_dying_ends_failed(store: Store, clock: Clock) -> None:
    [event_id] = store.add_events([new("1")]).ids
    for _ in range(3):
        assert len(store.claim("w", 1, 60, max_attempts=3)) == 1
        clock.advance(61)
    assert store.claim("w", 1, 60, max_attempts=3) == []
    event = shown(store, event_id)
    assert event is not None
    assert event["status"] == "failed" and event["last_error_reason"] == "worker_lost"


def test_record_meeting_and_deal_record(store: Store, clock: Clock) -> None:
    [event_id] = store.add_events([new("1")]).ids
    [claim] = store.claim("w1", 1, 60)
    store.record_meeting(
        claim,
        calendar_id="primary",
        calendar_event_id="abc123",
        organizer="rep@x.com",
        meet_url="https://meet.google.com/abc-defg-hij",
        spec_fingerprint="f1",
    )
    record = store.deal_record("hubspot", "62515", "1")
    assert (record.calendar_event_id, record.meet_url) == (
        "abc123",
        "https://meet.google.com/abc-defg-hij",
    )
    with pytest.raises(ValueError):
        store.record_meeting(
            claim,
            calendar_id="p",
            calendar_event_id="x",
            organizer="o",
            meet_url="",
            spec_fingerprint="f",
        )
    event = shown(store, event_id)
    assert event is not None and event["calendar_event_id"] == "abc123"


def test_list_pages_newest_first(store: Store, clock: Clock) -> None:
    store.add_events([new(str(i)) for i in range(7)])
    page, cursor = shown_page(store, EventFilter(), limit=3)
    assert [e["deal_id"] for e in page] == ["6", "5", "4"]
    store.add_events([new("99")])  # arrives while paging
    page2, cursor2 = shown_page(store, EventFilter(), limit=3, before_id=cursor)
    page3, cursor3 = shown_page(store, EventFilter(), limit=3, before_id=cursor2)
    assert [e["deal_id"] for e in page2 + page3] == ["3", "2", "1", "0"]
    assert cursor3 is None
