"""Waking idle workers when events arrive, instead of letting them sleep out their poll.

* PostgreSQL: intake (and a replay) sends ``NOTIFY middleware_events`` in its transaction, which
  PostgreSQL delivers at commit; each worker keeps one connection that ``LISTEN``\\s and blocks on
  it (no polling: it wakes on news, or every quarter second to see whether it must stop).
* SQLite: there is no server to notify through, but ``PRAGMA data_version`` changes whenever
  another connection commits (https://www.sqlite.org/pragma.html#pragma_data_version), and
  reading it touches only the WAL index in shared memory. The waiter looks at it every
  ``SQLITE_LOOK_SECONDS`` (20 ms): a few hundred microseconds of CPU a second while idle.

Either way ``wait`` returns early on news and otherwise after its timeout: a lost notification
costs at most the worker's ``WORKER_POLL_SECONDS``, never an event. Any failure of the waiter's
own connection is logged and turns it into a plain sleep until it reconnects.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from typing import Any, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection, make_url

log = logging.getLogger(__name__)
CHANNEL = "middleware_events"
SQLITE_LOOK_SECONDS = 0.02
LISTEN_SLICE_SECONDS = 0.25


class Waiter(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until new events may be due (True) or ``timeout`` seconds pass (False)."""

    def close(self) -> None: ...


def notify_new_events(conn: Connection) -> None:
    """Within a write transaction that made events due: wake the workers at its commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def waiter_for(engine: Engine, stopping: threading.Event | None = None) -> Waiter:
    """The waiter for the engine's database."""
    if engine.dialect.name == "postgresql":
        return _Listen(engine.url.render_as_string(hide_password=False), stopping)
    return _DataVersion(engine.url.database or "", stopping)


class _Listen:
    def __init__(self, url: str, stopping: threading.Event | None) -> None:
        self._conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._stopping = stopping or threading.Event()
        self._conn: Any = None

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            if self._conn is None:
                self._conn = self._connect()
            # In slices, so that a stopping worker is not held by a quiet channel.
            while not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                for _ in self._conn.notifies(timeout=min(LISTEN_SLICE_SECONDS, left), stop_after=1):
                    return True
            return False
        except Exception as exc:  # noqa: BLE001 - the waiter is an optimisation: degrade to sleep
            log.warning("wake-ups: LISTEN failed (%s); polling meanwhile", type(exc).__name__)
            self.close()
            self._stopping.wait(max(0.0, deadline - time.monotonic()))
            return False

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._conn.close()
            self._conn = None


class _DataVersion:
    def __init__(self, path: str, stopping: threading.Event | None) -> None:
        self._path = path
        self._stopping = stopping or threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._seen: int | None = None

    def _version(self) -> int:
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, timeout=1, check_same_thread=False)
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            if self._seen is None:
                self._seen = self._version()
            while not self._stopping.is_set():
                version = self._version()
                if version != self._seen:
                    self._seen = version
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._stopping.wait(min(SQLITE_LOOK_SECONDS, left))
        except sqlite3.Error as exc:
            log.warning("wake-ups: cannot read data_version (%s)", type(exc).__name__)
            self.close()
            self._stopping.wait(max(0.0, deadline - time.monotonic()))
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._seen = None
