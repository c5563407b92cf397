"""What every part of the store shares: the engine, the clock, dialect helpers.

**Time comes from the database.** Leases decide which worker holds an event; if each host used
its own clock, two hosts a minute apart would both think they hold one event (the later host
sees the earlier host's lease as expired). So every time the store writes or compares (a
lease's expiry, an event's due time, ``created_at``…) is the database's ``now`` (PostgreSQL's
``now()``, SQLite's own clock, which is its one host's), read inside the transaction that uses
it. Tests inject a ``clock`` instead, which then stands in for the database's clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from middleware.database import INTAKE_LOCK_WAIT_SECONDS, reader, writer
from middleware.schema import deals
from middleware.store.wakeup import Waiter, waiter_for

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """This host's clock (for what is not the store's: signatures' time windows, backoff)."""
    return datetime.now(UTC)


_POSTGRESQL_NOW = text("SELECT now()")
# https://www.sqlite.org/lang_datefunc.html: 'now' is UTC, %f gives milliseconds
_SQLITE_NOW = text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")


def database_time(conn: Connection) -> datetime:
    """The database's current time, aware UTC."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(_POSTGRESQL_NOW).scalar_one()
        return value.astimezone(UTC)
    raw = conn.execute(_SQLITE_NOW).scalar_one()
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


#: A deal's row by the bind parameters of :func:`deal_params`, for statements built once
#: (SQLAlchemy then reuses their compiled form instead of building and hashing a new one).
DEAL_BY_KEY = and_(
    deals.c.provider == bindparam("b_provider"),
    deals.c.account_id == bindparam("b_account"),
    deals.c.deal_id == bindparam("b_deal"),
)


def deal_params(provider: str, account_id: str, deal_id: str) -> dict[str, str]:
    return {"b_provider": provider, "b_account": account_id, "b_deal": deal_id}


class StoreBase:
    """One engine (SQLite or PostgreSQL), its read and intake views, and the store's clock.

    ``self.engine``: write transactions that wait for the lock (the worker, operators);
    ``self.reader``: transactions that only read (never wait for a writer on SQLite);
    ``self.intake``: webhook writes, which give up after ``INTAKE_LOCK_WAIT_SECONDS``.
    """

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.reader = reader(engine)
        self.intake = writer(engine, lock_wait=INTAKE_LOCK_WAIT_SECONDS)
        self._clock = clock
        self._dialect = engine.dialect.name

    @property
    def clock(self) -> Clock:
        """ "Now" as the store sees it: the database's clock, or the clock a test injected."""
        return self._clock or self.database_now

    @clock.setter
    def clock(self, value: Clock | None) -> None:
        self._clock = value

    def waiter(self, stopping: threading.Event | None = None) -> Waiter:
        """A waiter for news of new events (``wakeup.py``), for one worker's loop."""
        return waiter_for(self.engine, stopping)

    def database_now(self) -> datetime:
        """The database's current time (one short read)."""
        with self.reader.connect() as conn:
            return self._now(conn)

    def _now(self, conn: Connection) -> datetime:
        """ "Now" inside the transaction on ``conn`` (see the module docstring)."""
        return self._clock() if self._clock is not None else database_time(conn)

    def _insert(self, table: Any) -> Any:
        """``INSERT … ON CONFLICT`` capable insert for this dialect."""
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(table)

    @staticmethod
    def _deal_key(provider: Any, account_id: Any, deal_id: Any) -> Any:
        return and_(
            deals.c.provider == provider,
            deals.c.account_id == account_id,
            deals.c.deal_id == deal_id,
        )
