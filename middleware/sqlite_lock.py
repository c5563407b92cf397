"""One writer at a time on the host, for an SQLite store: an OS file lock taken before ``BEGIN
IMMEDIATE``, so a waiting writer wakes the moment the lock is free.

SQLite's own write lock has no queue: a connection that finds it taken sleeps in its busy
handler (1, 2, 5 … up to 100 ms a try) and looks again, so under contention between processes
a commit of 1 ms can cost a waiter tens or hundreds of milliseconds. Every write transaction of
this service therefore first takes, in order:

1. this process's turn (a ``threading.Lock``: one write transaction per process at a time);
2. an exclusive ``flock`` on a file next to the database (``<database>.writelock``), which the
   kernel hands to the next process as soon as the holder lets go.

It is given back when the transaction ends (commit, rollback, or the connection closing), so
``BEGIN IMMEDIATE`` then finds SQLite's lock free and its busy handler never sleeps. The lock
only schedules writers: SQLite's lock still guards the data, so a writer that does not take it
(the ``sqlite3`` shell, another program) is still excluded by SQLite and waited for as before.
A wait for the file lock counts towards the transaction's lock wait (``database.py``); past it
the transaction goes on to ``BEGIN IMMEDIATE`` with what is left, which then fails "database is
locked" (a 503 for a webhook) if the holder still writes. Where the file cannot be opened (a
read-only folder), writers fall back to SQLite's busy handler alone.

``flock`` cannot wait with a deadline, so a helper thread per process waits in it on behalf of
the thread whose turn it is, which waits for the helper with its own deadline.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

#: A helper with nothing to wait for stops after this many seconds (a new one starts on need).
HELPER_IDLE_SECONDS = 5.0
SUFFIX = ".writelock"


class HostWriteLock:
    """This process's share of the host-wide write lock of one SQLite database file."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:  # another user's file: a lock needs no write access
            self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        weakref.finalize(self, os.close, self._fd)
        self._turn = threading.Lock()
        self._state = threading.Condition()
        self._held = False  # this process holds the file lock
        self._wanted = False  # the thread whose turn it is waits for the helper
        self._asked = False  # the helper waits (or is about to wait) in flock
        self._helper: threading.Thread | None = None

    def acquire(self, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds; False when it could not be had in time."""
        deadline = time.monotonic() + timeout
        if not self._turn.acquire(timeout=max(timeout, 0.0)):
            return False
        try:
            if self._take(deadline):
                return True
        except BaseException:
            self._turn.release()
            raise
        self._turn.release()
        return False

    def release(self) -> None:
        with self._state:
            if self._held:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                self._held = False
        self._turn.release()

    def _take(self, deadline: float) -> bool:
        with self._state:
            if not self._asked:  # while the helper waits in flock, only it may touch the lock
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._ask_helper()
                else:
                    self._held = True
                    return True
            self._wanted = True
            try:
                while not self._held:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._state.wait(left)
                return True
            finally:
                self._wanted = False

    def _ask_helper(self) -> None:
        self._asked = True
        if self._helper is None or not self._helper.is_alive():
            self._helper = threading.Thread(
                target=self._help, name="sqlite-write-lock", daemon=True
            )
            self._helper.start()
        self._state.notify_all()

    def _help(self) -> None:
        while True:
            with self._state:
                if not self._asked:
                    self._state.wait(HELPER_IDLE_SECONDS)
                    if not self._asked:
                        self._helper = None
                        return
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # the kernel wakes it at the release
                got = True
            except OSError:
                got = False
            with self._state:
                self._asked = False
                if got and self._wanted:
                    self._held = True
                elif got:  # its waiter gave up meanwhile: let the other processes in
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                self._state.notify_all()


_locks: weakref.WeakValueDictionary[tuple[int, str], HostWriteLock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


def host_lock_for(database: str) -> HostWriteLock | None:
    """The lock of the SQLite file ``database`` (a path or a ``file:`` URI) for this process;
    None for an in-memory database or when the lock file cannot be opened."""
    path = database.removeprefix("file:").split("?", 1)[0]
    if not path or path == ":memory:" or database.startswith("file::memory:"):
        return None
    key = (os.getpid(), os.path.realpath(path))  # a forked child opens its own
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            try:
                lock = HostWriteLock(key[1] + SUFFIX)
            except OSError:
                return None
            _locks[key] = lock
        return lock


class HostLockedConnection(sqlite3.Connection):
    """An ``sqlite3`` connection that gives its :class:`HostWriteLock` back when its write
    transaction ends (``database.py`` takes it before ``BEGIN IMMEDIATE``)."""

    host_lock: HostWriteLock | None = None
    _holding = False

    def take_host_lock(self, timeout: float) -> bool:
        """Take the host lock for the transaction about to begin; False past ``timeout`` (or
        with no lock file), and the transaction then relies on SQLite's own wait."""
        if self.host_lock is None:
            return False
        if not self._holding:
            self._holding = self.host_lock.acquire(timeout)
        return self._holding

    def give_back_host_lock(self) -> None:
        if self._holding and not self.in_transaction:
            self._holding = False
            assert self.host_lock is not None
            self.host_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_host_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_host_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._holding:
                self._holding = False
                assert self.host_lock is not None
                self.host_lock.release()


def connection_factory() -> dict[str, Any]:
    """``connect_args`` that make the SQLite driver open :class:`HostLockedConnection`\\ s."""
    return {"factory": HostLockedConnection}
