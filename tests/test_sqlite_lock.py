"""The host's write lock on SQLite (``middleware/sqlite_lock.py``): every write transaction
holds it, gives it back however it ends, and a waiting writer goes on once it is free."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from middleware.database import make_engine, upgrade_schema
from middleware.errors import Reason, StoreUnavailable
from middleware.sqlite_lock import SUFFIX, host_lock_for
from middleware.store import EventFilter, Store
from tests.test_store import new
from tests.test_store_pressure import sqlite_path


def lock_path(store: Store) -> str:
    return sqlite_path(store) + SUFFIX


def free(path: str) -> bool:
    """Whether another process could take the lock now (a file description of our own)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops a lock taken here
    return True


@pytest.fixture
def other_writer(sqlite_store: Store) -> Iterator[tuple[int, sqlite3.Connection]]:
    """Another process's writer, ready: its own hold of the host lock and its own connection."""
    fd = os.open(lock_path(sqlite_store), os.O_RDWR | os.O_CREAT)
    conn = sqlite3.connect(sqlite_path(sqlite_store), isolation_level=None)
    yield fd, conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()
    os.close(fd)


def test_a_write_transaction_holds_the_lock_until_it_ends(sqlite_store: Store) -> None:
    sqlite_store.add_events([new("1")])  # the lock file exists once a writer ran
    path = lock_path(sqlite_store)
    assert free(path)
    with sqlite_store.engine.begin() as conn:
        conn.execute(text("SELECT 1"))
        assert not free(path)
    assert free(path)  # commit
    with pytest.raises(ZeroDivisionError), sqlite_store.engine.begin() as conn:
        assert not free(path)
        _ = 1 / 0
    assert free(path)  # rollback
    with sqlite_store.reader.begin() as conn:  # reads never take it
        conn.execute(text("SELECT count(*) FROM events"))
        assert free(path)


def test_a_failed_begin_gives_the_lock_back(
    sqlite_store: Store, other_writer: tuple[int, sqlite3.Connection]
) -> None:
    """Another program (not this service) holds SQLite's own lock: the intake waits for it as
    before, answers busy, and does not keep the host lock."""
    _, conn = other_writer
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreUnavailable) as refused:
        sqlite_store.add_events([new("1")])
    assert refused.value.reason is Reason.STORE_BUSY
    assert free(lock_path(sqlite_store))
    conn.execute("ROLLBACK")
    assert sqlite_store.add_events([new("1")]).stored == 1


def test_intake_answers_busy_when_another_process_writes_past_its_wait(
    sqlite_store: Store, other_writer: tuple[int, sqlite3.Connection]
) -> None:
    fd, conn = other_writer
    fcntl.flock(fd, fcntl.LOCK_EX)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreUnavailable) as refused:
        sqlite_store.add_events([new("1")])
    assert refused.value.reason is Reason.STORE_BUSY
    conn.execute("ROLLBACK")
    fcntl.flock(fd, fcntl.LOCK_UN)
    assert sqlite_store.add_events([new("1")]).stored == 1


def test_a_waiting_writer_goes_on_when_the_other_process_lets_go(
    sqlite_store: Store, other_writer: tuple[int, sqlite3.Connection]
) -> None:
    """The worker's writes wait (30 s) for the host lock, then claim as usual."""
    sqlite_store.add_events([new("1")])
    fd, conn = other_writer
    fcntl.flock(fd, fcntl.LOCK_EX)
    conn.execute("BEGIN IMMEDIATE")
    claims: list[object] = []
    claimer = threading.Thread(target=lambda: claims.extend(sqlite_store.claim("w1", 5, 60)))
    claimer.start()
    time.sleep(0.3)  # the claim is waiting for the host lock now
    assert claimer.is_alive() and not claims
    conn.execute("ROLLBACK")
    fcntl.flock(fd, fcntl.LOCK_UN)
    claimer.join(10)
    assert len(claims) == 1


def test_a_waiter_that_gave_up_leaves_the_lock_to_others(sqlite_store: Store) -> None:
    """The helper thread that waited in flock for a writer who gave up lets the lock go."""
    sqlite_store.add_events([new("1")])
    lock = host_lock_for(sqlite_path(sqlite_store))
    assert lock is not None
    fd = os.open(lock_path(sqlite_store), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    assert lock.acquire(0.2) is False
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    deadline = time.monotonic() + 10
    while not free(lock_path(sqlite_store)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert free(lock_path(sqlite_store))
    assert lock.acquire(1)  # and this process can have it again
    lock.release()


def test_threads_of_one_process_take_turns(sqlite_store: Store) -> None:
    results: list[int] = []

    def send(n: int) -> None:
        results.append(sqlite_store.add_events([new(str(n))]).stored)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(1, 21)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [1] * 20
    assert sqlite_store.count_events(EventFilter()) == 20


_WRITER = """
import sys, threading
from middleware.database import make_engine
from middleware.store import Store
from tests.test_store import new

store = Store(make_engine(sys.argv[1], pool_size=4))
name = sys.argv[2]
failures = []

def send(t):
    for n in range(50):
        try:
            store.add_events([new(str(1000 + n), key=f"{name}-{t}-{n}")])
        except Exception as exc:
            failures.append(repr(exc))

threads = [threading.Thread(target=send, args=(t,)) for t in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(failures), failures[:1])
"""


def test_processes_writing_at_once_all_get_through(sqlite_store: Store, tmp_path: Path) -> None:
    """Three processes of four threads each, writing as fast as they can: none is refused
    (the host lock queues them; no one sleeps out SQLite's busy handler past its wait)."""
    url = str(sqlite_store.engine.url)
    repo = Path(__file__).resolve().parent.parent
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, url, f"p{n}"],
            cwd=repo,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["0 []"] * 3
    assert sqlite_store.count_events(EventFilter()) == 3 * 4 * 50


def test_a_forked_child_does_not_share_the_parents_hold(sqlite_store: Store) -> None:
    sqlite_store.add_events([new("1")])
    lock = host_lock_for(sqlite_path(sqlite_store))
    assert lock is not None and lock.acquire(1)
    try:
        pid = os.fork()
        if pid == 0:  # the child: its own lock, which the parent's hold excludes
            child = host_lock_for(sqlite_path(sqlite_store))
            os._exit(0 if child is not None and child is not lock and not child.acquire(0.2) else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        lock.release()
    assert os.waitstatus_to_exitcode(status) == 0


def test_without_a_lock_file_writes_rely_on_sqlites_wait(tmp_path: Path) -> None:
    """Where the lock file cannot be made (here a folder stands in its way), writes still
    work, serialised by SQLite alone."""
    database = tmp_path / "store.db"
    (tmp_path / f"store.db{SUFFIX}").mkdir()
    assert host_lock_for(str(database)) is None
    store = Store(make_engine(f"sqlite:///{database}"))
    try:
        upgrade_schema(store.engine)
        assert store.add_events([new("1"), new("2")]).stored == 2
        assert len(store.claim("w1", 5, 60)) == 2
    finally:
        store.engine.dispose()
