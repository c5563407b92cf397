"""The store under pressure, on real SQLite files and the real PostgreSQL: a writer holding the
lock, a full database, a read-only one, an unreachable server; reads that never wait; leases on
the database's clock."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from middleware.database import INTAKE_LOCK_WAIT_SECONDS, make_engine, upgrade_schema
from middleware.errors import Reason, StoreUnavailable
from middleware.schema import events
from middleware.store import EventFilter, Store
from tests.conftest import PG_SERVER_URL
from tests.procs import free_port
from tests.test_store import new


def sqlite_path(store: Store) -> str:
    database = store.engine.url.database
    assert database
    return database


@pytest.fixture
def held_sqlite_lock(sqlite_store: Store) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding SQLite's write lock."""
    other = sqlite3.connect(sqlite_path(sqlite_store), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def fill_up(store: Store) -> None:
    """Every new connection of the store may not grow the database past its current size
    (``PRAGMA max_page_count``): a real "database or disk is full" without filling a disk."""

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    store.engine.dispose()  # pooled connections were opened before the cap


def timed(call: Any) -> tuple[float, Any]:
    start = time.monotonic()
    try:
        result = call()
    except StoreUnavailable as exc:
        result = exc
    return time.monotonic() - start, result


# --- SQLite: another writer holds the lock ---------------------------------------------------


def test_intake_gives_up_on_a_held_lock_then_stores_once_it_goes(
    sqlite_store: Store, held_sqlite_lock: sqlite3.Connection
) -> None:
    took, result = timed(lambda: sqlite_store.add_events([new("1")]))
    assert isinstance(result, StoreUnavailable)
    assert result.reason is Reason.STORE_BUSY and result.retry_after
    assert INTAKE_LOCK_WAIT_SECONDS - 0.2 <= took < 3.0
    held_sqlite_lock.execute("ROLLBACK")
    assert sqlite_store.add_events([new("1")]).stored == 1
    assert sqlite_store.count_events(EventFilter()) == 1


def test_reads_never_wait_for_a_held_lock(sqlite_store: Store) -> None:
    [event_id] = sqlite_store.add_events([new("1")]).ids
    other = sqlite3.connect(sqlite_path(sqlite_store), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE events SET trigger = 'uncommitted'")
    try:
        took, _ = timed(
            lambda: (
                sqlite_store.list_events(EventFilter()),
                sqlite_store.get_event(event_id),
                sqlite_store.status_counts(),
                sqlite_store.deal_record("hubspot", "62515", "1"),
                sqlite_store.active_park("google"),
                sqlite_store.schema_current(),
                sqlite_store.ping(),
            )
        )
        assert took < 0.5
        detail = sqlite_store.get_event(event_id)
        assert detail is not None and detail.trigger == "demoscheduled"  # committed data only
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_the_worker_still_waits_for_the_lock_and_then_claims(sqlite_store: Store) -> None:
    """Claims keep ``BEGIN IMMEDIATE`` and the long wait: the read of candidates and the lease
    writes happen under one lock, whoever else is writing."""
    [event_id] = sqlite_store.add_events([new("1")]).ids
    other = sqlite3.connect(
        sqlite_path(sqlite_store), isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.0, lambda: other.execute("ROLLBACK"))
    release.start()
    try:
        took, claims = timed(lambda: sqlite_store.claim("w", 5, 60))
    finally:
        release.join()
        other.close()
    assert 0.8 <= took < 10
    assert [c.event_id for c in claims] == [event_id]


def test_probe_is_not_ready_fast_while_the_lock_is_held(
    sqlite_store: Store, held_sqlite_lock: sqlite3.Connection
) -> None:
    took, result = timed(sqlite_store.probe_write)
    assert isinstance(result, StoreUnavailable) and result.reason is Reason.STORE_BUSY
    assert took < 1.0
    held_sqlite_lock.execute("ROLLBACK")
    sqlite_store.probe_write()  # ready again, and the probe left nothing behind
    with sqlite_store.engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert "middleware_ready_probe" not in set(tables.scalars())


# --- SQLite: full, read-only ------------------------------------------------------------------


def test_a_full_database_refuses_intake_and_is_not_ready(sqlite_store: Store) -> None:
    sqlite_store.add_events([new("1")])
    sqlite_store.probe_write()
    fill_up(sqlite_store)
    with pytest.raises(StoreUnavailable) as refused:
        sqlite_store.add_events([new(str(i)) for i in range(2, 400)])
    assert refused.value.reason is Reason.STORE_FULL
    assert "SQLITE_FULL" in refused.value.detail or "full" in refused.value.detail
    with pytest.raises(StoreUnavailable) as probed:
        sqlite_store.probe_write()
    assert probed.value.reason is Reason.STORE_FULL
    assert sqlite_store.count_events(EventFilter()) == 1  # reads go on


def test_too_little_free_disk_is_not_ready(sqlite_store: Store) -> None:
    sqlite_store.min_free_bytes = 1 << 62  # more than any file system has
    with pytest.raises(StoreUnavailable) as probed:
        sqlite_store.probe_write()
    assert probed.value.reason is Reason.STORE_FULL and "bytes free" in probed.value.detail


def test_a_read_only_database_refuses_intake_and_is_not_ready(sqlite_store: Store) -> None:
    sqlite_store.add_events([new("1")])
    read_only = Store(make_engine(f"sqlite:///file:{sqlite_path(sqlite_store)}?mode=ro&uri=true"))
    try:
        with pytest.raises(StoreUnavailable) as refused:
            read_only.add_events([new("2")])
        assert refused.value.reason is Reason.STORE_READ_ONLY
        with pytest.raises(StoreUnavailable) as probed:
            read_only.probe_write()
        assert probed.value.reason is Reason.STORE_READ_ONLY
        assert read_only.count_events(EventFilter()) == 1
    finally:
        read_only.engine.dispose()


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_store(pg_database_url: str) -> Iterator[Store]:
    engine = make_engine(pg_database_url, pool_size=4)
    upgrade_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE events, deals, attempts RESTART IDENTITY CASCADE"))
    store = Store(engine)
    yield store
    engine.dispose()


def test_postgresql_table_lock_answers_busy_fast_and_reads_go_on(pg_store: Store) -> None:
    pg_store.add_events([new("1")])
    with pg_store.engine.connect() as other:
        other.execute(text("LOCK TABLE events IN SHARE MODE"))  # blocks INSERT, not SELECT
        took, result = timed(lambda: pg_store.add_events([new("2")]))
        assert isinstance(result, StoreUnavailable) and result.reason is Reason.STORE_BUSY
        assert INTAKE_LOCK_WAIT_SECONDS - 0.2 <= took < 3.0
        took, probed = timed(pg_store.probe_write)
        assert isinstance(probed, StoreUnavailable) and probed.reason is Reason.STORE_BUSY
        assert took < 1.0
        took, _ = timed(lambda: (pg_store.list_events(EventFilter()), pg_store.schema_current()))
        assert took < 0.5
        other.rollback()
    assert pg_store.add_events([new("2")]).stored == 1
    pg_store.probe_write()


def test_postgresql_row_lock_answers_busy_fast(pg_store: Store) -> None:
    """Another transaction inserted the same notification and has not committed: the intake
    would wait for it; it gives up after the intake's lock wait instead."""
    with pg_store.engine.connect() as other:
        other.execute(
            events.insert().values(
                provider="hubspot",
                account_id="62515",
                deal_id="1",
                dedupe_key="k-1",
                trigger="demoscheduled",
                payload="{}",
                status="pending",
                attempts=0,
                attempts_at_replay=0,
                force=False,
                next_attempt_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
        took, result = timed(lambda: pg_store.add_events([new("1")]))
        assert isinstance(result, StoreUnavailable) and result.reason is Reason.STORE_BUSY
        assert took < 3.0
        other.rollback()
    assert pg_store.add_events([new("1")]).stored == 1


def test_postgresql_read_only_refuses_intake_and_is_not_ready(pg_database_url: str) -> None:
    url = make_url(pg_database_url).update_query_dict(
        {"options": "-c default_transaction_read_only=on"}
    )
    store = Store(make_engine(url.render_as_string(hide_password=False)))
    try:
        with pytest.raises(StoreUnavailable) as refused:
            store.add_events([new("1")])
        assert refused.value.reason is Reason.STORE_READ_ONLY
        with pytest.raises(StoreUnavailable) as probed:
            store.probe_write()
        assert probed.value.reason is Reason.STORE_READ_ONLY
    finally:
        store.engine.dispose()


def test_postgresql_down_is_unreachable_fast() -> None:
    url = make_url(PG_SERVER_URL).set(port=free_port())  # nothing listens there
    store = Store(make_engine(url.render_as_string(hide_password=False)))
    try:
        took, result = timed(lambda: store.add_events([new("1")]))
        assert isinstance(result, StoreUnavailable)
        assert result.reason is Reason.STORE_UNREACHABLE and took < 3.0
        assert str(url.port) not in result.message  # the answer names no host or port
        with pytest.raises(StoreUnavailable) as probed:
            store.schema_current()
        assert probed.value.reason is Reason.STORE_UNREACHABLE
    finally:
        store.engine.dispose()


def test_the_intake_wait_is_per_transaction(store: Store) -> None:
    """The intake's short wait does not stick to a pooled connection the worker uses next."""
    if store.engine.dialect.name == "sqlite":
        setting, default, intake = "PRAGMA busy_timeout", 30000, 2000
    else:
        setting, default, intake = "SHOW lock_timeout", "0", "2s"
    store.add_events([new("1")])
    for engine, expected in ((store.engine, default), (store.intake, intake)) * 2:
        with engine.connect() as conn:
            assert conn.exec_driver_sql(setting).scalar_one() == expected
