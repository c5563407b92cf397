"""Google's paces for an SQLite store: a small file beside the database, shared by the host.

An SQLite store lives on one host, so every process that can pace against it is on that host
and the database's clock is the host's. There the paces need neither the event store's write
lock nor its ``synchronous=FULL`` commit: each Calendar request used to cost one write
transaction of the store (a flush to disk, and a turn of the lock every webhook waits for),
two for a booking. They are kept instead in ``<database>.paces``, an SQLite file of their own
(WAL, ``synchronous=NORMAL``: a crash of the host may forget the last slots taken, which only
lets the next requests go a little early; nothing else is lost), written with the plain
``sqlite3`` module under ``BEGIN IMMEDIATE``. The rule is the store's (``pacing.py``): each
request takes the next free slot of its scopes (``pace_rule.py``), one transaction for all of
them, so it holds across every process of the host as before.

One :class:`HostPaces` per file and process (:func:`host_paces_for`): its threads take turns on
a ``threading.Lock`` (one connection, no busy-handler sleeps between them); processes take turns
on SQLite's lock, which each holds for a few microseconds.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime

from middleware.store.pace_rule import Pace, paced, take_slot

__all__ = ["HostPaces", "host_paces_for"]

SUFFIX = ".paces"
#: How long a process waits for another's turn (a turn lasts microseconds).
BUSY_SECONDS = 5.0

_SCHEMA = "CREATE TABLE IF NOT EXISTS paces (scope TEXT PRIMARY KEY, next_at REAL NOT NULL)"
_MOVE = (
    "INSERT INTO paces (scope, next_at) VALUES (?, ?) "
    "ON CONFLICT (scope) DO UPDATE SET next_at = excluded.next_at"
)


class HostPaces:
    """The paces in one file (``path``); safe to share between threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def take_slots(self, rates: Sequence[Pace | tuple[str, float]], now: datetime) -> float:
        """As :meth:`~middleware.store.pacing.PaceQueries.take_slots`, at ``now`` (the host's
        clock). Raises :class:`sqlite3.Error` (or ``OSError``) when the file cannot be used."""
        paces = paced(rates)
        if not paces:
            return 0.0
        at = now.timestamp()
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                marks = ",".join("?" for _ in paces)
                known = dict(
                    conn.execute(
                        f"SELECT scope, next_at FROM paces WHERE scope IN ({marks})",
                        [pace.scope for pace in paces],
                    ).fetchall()
                )
                wait = 0.0
                moves = []
                for pace in paces:
                    waits, after = take_slot(pace, known.get(pace.scope), at)
                    moves.append((pace.scope, after))
                    wait = max(wait, waits)
                conn.executemany(_MOVE, moves)
                conn.execute("COMMIT")
            except BaseException:
                self._drop(conn)
                raise
        return wait

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop(self, conn: sqlite3.Connection) -> None:
        """After a failure: roll back and start on a fresh connection next time."""
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        self._conn = None


_registry: dict[str, HostPaces] = {}
_registry_lock = threading.Lock()


def host_paces_for(database: str) -> HostPaces:
    """This process's :class:`HostPaces` of the SQLite database file ``database``."""
    path = database + SUFFIX
    with _registry_lock:
        found = _registry.get(path)
        if found is None:
            found = _registry[path] = HostPaces(path)
        return found


def _forget_in_child() -> None:
    """After ``fork()``: a connection must not cross it; the child opens its own."""
    global _registry_lock
    _registry.clear()
    _registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
