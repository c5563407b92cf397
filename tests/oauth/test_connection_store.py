"""Connections in the store (SQLite and PostgreSQL): generations, breaking only the generation
that failed, re-sealing, and the replay a connect makes: exactly the rep's waiting events."""

from __future__ import annotations

import pytest

from middleware import operations
from middleware.google.oauth_errors import reconnect_error
from middleware.model import NewEvent
from middleware.store import EventFilter, Store

REP = "a_b@seller.example"  # "_" is a LIKE wildcard: it must match itself only
LOOKALIKE = "axb@seller.example"


def fail(store: Store, deal: str, reason: str, message: str) -> int:
    [event_id] = store.add_events(
        [NewEvent("hubspot", "62515", deal, f"k-{deal}", "demoscheduled", None, {})]
    ).ids
    [claim] = [c for c in store.claim("w", 100, 60) if c.event_id == event_id]
    store.finish(claim, "failed", reason=reason, message=message)
    return event_id


def connect(store: Store, email: str, sealed: str = "sealed") -> int:
    return operations.replay_after_connect(
        store, email=email, sealed_refresh_token=sealed, scopes=["s"], actor="test"
    )


def test_connect_replays_exactly_the_reps_waiting_events(store: Store) -> None:
    link = "https://h.example/connect/google?rep=x&sig=y"
    mine = fail(store, "1", "google_oauth_reconnect", reconnect_error(REP, link, "why").message)
    never = reconnect_error(REP, link, "new", never_connected=True).message
    mine_too = fail(store, "2", "google_oauth_reconnect", never)
    lookalike = fail(
        store, "3", "google_oauth_reconnect", reconnect_error(LOOKALIKE, link, "why").message
    )
    other_reason = fail(store, "4", "google_delegation_denied", f"rep {REP} must be delegated")
    assert connect(store, REP) == 2
    status = {e.id: e.status for e in store.list_events(EventFilter(), limit=10)[0]}
    assert status == {
        mine: "pending",
        mine_too: "pending",
        lookalike: "failed",
        other_reason: "failed",
    }
    [audit, *_] = store.list_audit(limit=1)[0]
    assert (audit.action, audit.count, audit.target["rep"]) == ("google_connect", 2, REP)


def test_generations_and_breaking_only_the_one_that_failed(store: Store) -> None:
    assert store.google_connection(REP) is None
    connect(store, REP, "first")
    first = store.google_connection(REP)
    assert first is not None and (first.state, first.generation) == ("connected", 1)
    assert "first" not in repr(first)
    connect(store, REP, "second")
    assert not store.mark_google_connection_broken(REP, 1, "invalid_grant: stale")
    second = store.google_connection(REP)
    assert second is not None and (second.state, second.generation) == ("connected", 2)
    assert store.mark_google_connection_broken(REP, 2, "invalid_grant: revoked")
    broken = store.google_connection(REP)
    assert broken is not None and broken.state == "broken" and broken.broken_at is not None
    assert broken.broken_reason == "invalid_grant: revoked"
    connect(store, REP, "third")
    again = store.google_connection(REP)
    assert again is not None and (again.state, again.generation) == ("connected", 3)
    assert again.broken_at is None and again.sealed_refresh_token == "third"


def test_reseal_is_all_or_nothing(store: Store) -> None:
    connect(store, REP, "one")
    connect(store, LOOKALIKE, "two")

    def refuse_the_second(email: str, sealed: str) -> str:
        if email == REP:
            raise ValueError("cannot open")
        return sealed + "!"

    with pytest.raises(ValueError):
        operations.reseal_google_tokens(store, refuse_the_second, actor="test")
    assert [c.sealed_refresh_token for c in store.google_connections()] == ["one", "two"]
    count = operations.reseal_google_tokens(store, lambda e, s: s.upper(), actor="test")
    assert count == 2
    assert [c.sealed_refresh_token for c in store.google_connections()] == ["ONE", "TWO"]
