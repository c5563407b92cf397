"""Leases and every store time come from the database's clock, not each host's."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from middleware.database import make_engine, upgrade_schema
from middleware.schema import deals, events
from middleware.store import Store
from tests.test_store import new


def database_now(store: Store) -> datetime:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            value: datetime = conn.execute(text("SELECT now()")).scalar_one()
            return value.astimezone(UTC)
        raw = conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)


def test_store_time_is_the_database_time(store: Store) -> None:
    before = database_now(store)
    [event_id] = store.add_events([new("1")]).ids
    [claim] = store.claim("w1", 1, 60)
    after = database_now(store)
    with store.engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.id == event_id)).one()
        lease = conn.execute(select(deals.c.lease_expires_at)).scalar_one()
    assert before <= row.created_at <= after
    assert before + timedelta(seconds=60) <= row.lease_expires_at <= after + timedelta(seconds=60)
    assert lease == row.lease_expires_at
    assert before <= store.clock() <= database_now(store)
    assert store.finish(claim, "succeeded")


#: Host B: a Python whose clock is 61 s ahead (every ``datetime.now`` of the service's code),
#: claiming from the same database. Prints how many events it took.
_SKEWED_HOST = """
import datetime as _dt
import sys

class _Ahead(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return super().now(tz) + _dt.timedelta(seconds=61)

_dt.datetime = _Ahead  # before the service's modules import it

from middleware.database import make_engine
from middleware.store import Store

store = Store(make_engine(sys.argv[1]))
print(len(store.claim("host-b", 1, 60)))
store.engine.dispose()
"""


def claim_on_a_host_61s_ahead(database_url: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _SKEWED_HOST, database_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_hosts_with_skewed_clocks_never_both_hold_an_event(database_url: str) -> None:
    """Host B's clock is 61 s ahead. Before, each host compared leases with its own clock, so B
    saw A's 60 s lease as expired and took the event too. Now both ask the database."""
    host_a = Store(make_engine(database_url))
    upgrade_schema(host_a.engine)
    try:
        [event_id] = host_a.add_events([new("1")]).ids
        [held] = host_a.claim("host-a", 1, lease_seconds=60)
        assert claim_on_a_host_61s_ahead(database_url) == 0
        assert host_a.renew([held], 60) == set()
        assert host_a.finish(held, "retrying", retry_at=database_now(host_a))
        assert claim_on_a_host_61s_ahead(database_url) == 1  # due by the database's clock
        assert (shown_attempts := host_a.get_event(event_id)) is not None
        assert [a.worker for a in shown_attempts.attempt_history] == ["host-a", "host-b"]
    finally:
        host_a.engine.dispose()


def held_until(store: Store, event_id: int) -> datetime:
    with store.engine.connect() as conn:
        value: datetime = conn.execute(
            select(events.c.lease_expires_at).where(events.c.id == event_id)
        ).scalar_one()
    return value


def test_an_injected_clock_stands_in_for_the_database_clock(store: Store) -> None:
    """Tests move time by injecting a clock: then it, not the database, says what "now" is."""
    fixed = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    store.clock = lambda: fixed
    [event_id] = store.add_events([new("1")]).ids
    store.claim("w", 1, 60)
    assert held_until(store, event_id) == fixed + timedelta(seconds=60)
    store.clock = None  # back to the database's clock
    assert abs(store.clock() - datetime.now(UTC)) < timedelta(seconds=5)
