"""Can the store take a webhook now? ``/readyz``'s question, answered within about a second.

Two parts, each waiting at most ``PROBE_LOCK_WAIT_SECONDS`` for a lock:

* the read part: the schema is at the newest revision (a deferred read: never waits for a
  writer);
* the write probe, which does what an intake write needs without keeping anything. SQLite:
  ``BEGIN IMMEDIATE`` (the write lock: "locked" when another writer holds it past the wait), a
  scratch table made and filled with two pages, then rolled back ("full" when the database may
  not grow, "read-only" when it may not be written); and the free space of the database's file
  system (a full disk shows only at commit, which the probe never does). PostgreSQL: the
  transaction is not read-only (a standby, ``default_transaction_read_only``) and the lock an
  ``INSERT`` takes on ``events`` and ``deals`` is granted (a ``LOCK TABLE`` or a migration holds
  it otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from middleware.database import PROBE_LOCK_WAIT_SECONDS, reader, schema_is_current, writer
from middleware.errors import Reason, StoreUnavailable
from middleware.store.base import StoreBase
from middleware.store.faults import raising_store_faults, unavailable

#: SQLite: with less free space than this on the database's file system the store is not ready
#: (commits start failing with "database or disk is full" around there).
MIN_FREE_BYTES = 1024 * 1024


class StoreReadiness(StoreBase):
    """The readiness checks of ``/readyz``. Both raise :class:`StoreUnavailable` for a store
    that cannot take a write (reason and message say why), and let other database errors
    through."""

    min_free_bytes = MIN_FREE_BYTES

    def schema_current(self) -> bool:
        """True when the schema is at the newest Alembic revision (a read, never waits for a
        writer)."""
        with raising_store_faults():
            return schema_is_current(reader(self.engine, lock_wait=PROBE_LOCK_WAIT_SECONDS))

    def probe_write(self) -> None:
        """Make what an intake write needs and roll it back (see the module docstring)."""
        self._check_free_space()
        probe = writer(self.engine, lock_wait=PROBE_LOCK_WAIT_SECONDS)
        with raising_store_faults(), probe.connect() as conn:  # begins IMMEDIATE on SQLite
            if self._dialect == "postgresql":
                _probe_postgresql(conn)
            else:
                _probe_sqlite(conn)
            conn.rollback()

    def _check_free_space(self) -> None:
        if self._dialect != "sqlite":
            return
        database = self.engine.url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        try:
            stats = os.statvfs(Path(database).resolve().parent)
        except OSError as exc:
            raise unavailable(Reason.STORE_UNREACHABLE, f"{type(exc).__name__}") from exc
        free = stats.f_bavail * stats.f_frsize
        if free < self.min_free_bytes:
            raise unavailable(Reason.STORE_FULL, f"{free} bytes free, below {self.min_free_bytes}")


def _probe_sqlite(conn: Connection) -> None:
    page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    conn.exec_driver_sql("CREATE TABLE middleware_ready_probe (filler BLOB)")
    conn.execute(
        text("INSERT INTO middleware_ready_probe VALUES (zeroblob(:size))"),
        {"size": 2 * page_size},
    )


def _probe_postgresql(conn: Connection) -> None:
    if conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on":
        raise unavailable(Reason.STORE_READ_ONLY, "transaction_read_only is on")
    # ROW EXCLUSIVE is what INSERT and UPDATE take: granted unless something holds a
    # conflicting table lock (https://www.postgresql.org/docs/current/explicit-locking.html)
    conn.exec_driver_sql("LOCK TABLE events, deals IN ROW EXCLUSIVE MODE")


__all__ = ["StoreReadiness", "StoreUnavailable"]
