"""The dashboard's hourly activity on SQLite and PostgreSQL: what arrived, what became of it,
and how many were still unfinished at each hour's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from middleware.store import Store
from tests.test_store import Clock, new


def test_received_by_outcome_and_backlog_per_hour(store: Store) -> None:
    clock = Clock()
    store.clock = clock
    clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    store.add_events([new("4")])  # before the window, still pending at the end
    clock.now = datetime(2026, 11, 25, 9, 10, tzinfo=UTC)
    store.add_events([new("1"), new("2")])
    clock.now = datetime(2026, 11, 25, 9, 20, tzinfo=UTC)
    claims = {c.deal_id: c for c in store.claim("w", 10, 7200)}
    assert store.finish(claims["1"], "succeeded")
    store.release(claims["4"])
    clock.now = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    assert store.finish(claims["2"], "failed", reason="google_delegation_denied", message="no")
    clock.now = datetime(2026, 11, 25, 11, 5, tzinfo=UTC)
    store.add_events([new("3")])
    clock.now = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)

    activity = store.hourly_activity(hours=4)

    assert activity.now == clock.now
    assert [h.start.hour for h in activity.hours] == [9, 10, 11, 12]
    assert [h.start + timedelta(hours=1) for h in activity.hours][-1] > clock.now
    assert [{k: v for k, v in h.received.items() if v} for h in activity.hours] == [
        {"succeeded": 1, "failed": 1},
        {},
        {"unfinished": 1},
        {},
    ]
    assert [h.total for h in activity.hours] == [2, 0, 1, 0]
    # 10:00: deal 2 (failed at 10:30) and 4; 11:00: only 4; 12:00 and now: 4 and 3.
    assert [h.backlog for h in activity.hours] == [2, 1, 2, 2]


def test_an_empty_store_has_24_empty_hours(store: Store) -> None:
    activity = store.hourly_activity()
    assert len(activity.hours) == 24
    assert all(h.total == 0 and h.backlog == 0 for h in activity.hours)
