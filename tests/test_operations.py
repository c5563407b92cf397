"""Operator changes on SQLite and PostgreSQL: replay, bulk replay, prune, each audited."""

from __future__ import annotations

import pytest

from middleware import operations
from middleware.operations import EventNotFound, ReplayRefused
from middleware.store import EventFilter, Store
from tests.test_store import Clock, new

ACTOR = "test:ops"


@pytest.fixture
def clock(store: Store) -> Clock:
    c = Clock()
    store.clock = c
    return c


def _actions(store: Store) -> list[tuple[str, int]]:
    items, _ = store.list_audit(limit=50)
    return [(a.action, a.count) for a in reversed(items)]


def test_replay_rules(store: Store, clock: Clock) -> None:
    ids = store.add_events([new("1"), new("2")]).ids
    claims = store.claim("w", 2, 60)
    by_id = {c.event_id: c for c in claims}
    with pytest.raises(ReplayRefused, match="being processed"):
        operations.replay_event(store, ids[0], actor=ACTOR)
    store.finish(by_id[ids[0]], "succeeded")
    store.finish(by_id[ids[1]], "failed", reason="r", message="m")
    with pytest.raises(ReplayRefused, match="force=true"):
        operations.replay_event(store, ids[0], actor=ACTOR)
    assert operations.replay_event(store, ids[0], actor=ACTOR, force=True).status == "pending"
    replayed = operations.replay_event(store, ids[1], actor=ACTOR)
    assert replayed.status == "pending" and replayed.last_error is None
    with pytest.raises(EventNotFound, match="event 999 not found"):
        operations.replay_event(store, 999, actor=ACTOR)
    again = {c.event_id: c for c in store.claim("w", 5, 60)}
    assert again[ids[0]].force is True and again[ids[1]].force is False
    assert again[ids[1]].attempts_since_replay == 1
    # Only the replays that happened are in the audit log.
    assert _actions(store) == [("replay", 1), ("replay", 1)]


def test_bulk_replay_dry_run_changes_nothing(store: Store, clock: Clock) -> None:
    store.add_events([new(str(i)) for i in range(4)])
    for claim in store.claim("w", 4, 60):
        store.finish(
            claim, "failed" if int(claim.deal_id) % 2 else "succeeded", reason="r", message="m"
        )
    flt = EventFilter(statuses=("failed",))
    dry = operations.replay_matching(store, flt, actor=ACTOR, dry_run=True)
    assert dry.count == 2 and {e.deal_id for e in dry.sample} == {"1", "3"}
    assert store.count_events(flt) == 2
    assert _actions(store) == []
    assert operations.replay_matching(store, flt, actor=ACTOR).count == 2
    assert store.count_events(EventFilter(statuses=("pending",))) == 2
    succeeded = EventFilter(statuses=("succeeded",))
    assert operations.replay_matching(store, succeeded, actor=ACTOR).count == 0
    assert operations.replay_matching(store, succeeded, actor=ACTOR, force=True).count == 2
    assert _actions(store) == [("bulk_replay", 2), ("bulk_replay", 0), ("bulk_replay", 2)]
    items, _ = store.list_audit()
    assert items[0].target == {"force": True, "status": ["succeeded"]}
    assert items[0].actor == ACTOR


def test_prune_keeps_failed_unless_asked(store: Store, clock: Clock) -> None:
    store.add_events([new(str(i)) for i in range(3)])
    outcomes = {"0": "succeeded", "1": "skipped", "2": "failed"}
    for claim in store.claim("w", 3, 60):
        store.finish(claim, outcomes[claim.deal_id], reason="r", message="m")
    clock.advance(86400 * 31)
    assert operations.prune(store, 30, actor=ACTOR, dry_run=True) == 2
    assert operations.prune(store, 30, actor=ACTOR) == 2
    assert store.count_events(EventFilter()) == 1
    assert operations.prune(store, 30, actor=ACTOR, include_failed=True) == 1
    assert _actions(store) == [("prune", 2), ("prune", 1)]
