"""Paces: Google's Calendar quotas, shared by every worker process through the store.

Google allows each user about 600 Calendar requests a minute and each project 10,000 (a burst
past either is a 403/429 ``rateLimitExceeded``). Retrying after the refusal wastes attempts and
delays every other rep; instead each request first takes the next free slot of its rep's pace
and of the project's, and waits for the later one. A pace is a row (``paces``: scope → the
time its next request may go); taking a slot is one short write that moves it on by one
interval, ``max(next_at, now) + interval`` (the generic cell rate algorithm without a burst),
so requests across processes and hosts are spaced evenly by the database's clock. On
PostgreSQL the row is in the store; an SQLite store is one host's, so its paces are kept in a
file of their own beside it (``host_paces.py``), off the store's write lock and its flush to
disk, under the same rule and the host's (the database's) clock.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from middleware.schema import paces
from middleware.store.base import StoreBase, utcnow
from middleware.store.host_paces import host_paces_for

log = logging.getLogger(__name__)


class PaceQueries(StoreBase):
    def take_slots(self, rates: Sequence[tuple[str, float]]) -> float:
        """Take the next slot of each ``(scope, requests per minute)``; the seconds to wait
        before sending (0 when every pace is free now). One transaction: on an SQLite file, in
        the paces file beside it (``host_paces.py``: one host, the host's clock); otherwise in
        the store, by the database's clock, one read of every scope's row and one write each.
        Raises SQLAlchemy's, ``sqlite3``'s or the OS's error when the paces cannot be written."""
        paced = [(scope, per_minute) for scope, per_minute in rates if per_minute > 0]
        if not paced:
            return 0.0
        database = self.engine.url.database if self._dialect == "sqlite" else None
        if database and database != ":memory:" and not database.startswith("file:"):
            now = self._clock() if self._clock is not None else utcnow()
            return host_paces_for(database).take_slots(paced, now)
        read, move, create = _pace_statements(self._dialect)
        wait = 0.0
        with self.engine.begin() as conn:
            now = self._now(conn)
            rows = conn.execute(read, {"scopes": [scope for scope, _ in paced]}).all()
            next_at = {row.scope: row.next_at for row in rows}
            for scope, per_minute in paced:
                known = next_at.get(scope)
                slot = now if known is None or known < now else known
                after = slot + timedelta(seconds=60.0 / per_minute)
                conn.execute(
                    move if known is not None else create, {"b_scope": scope, "b_next": after}
                )
                wait = max(wait, (slot - now).total_seconds())
        return wait


@functools.cache
def _pace_statements(dialect: str) -> tuple[Any, Any, Any]:
    """The read (locked on PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes), the move
    and the first write of a pace, built once (SQLAlchemy then reuses their compiled form)."""
    read = (
        select(paces.c.scope, paces.c.next_at)
        .where(paces.c.scope.in_(bindparam("scopes", expanding=True)))
        .order_by(paces.c.scope)  # one lock order for every transaction (PostgreSQL)
    )
    if dialect == "postgresql":
        read = read.with_for_update()
    next_at = bindparam("b_next", type_=paces.c.next_at.type)
    move = update(paces).where(paces.c.scope == bindparam("b_scope")).values(next_at=next_at)
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(paces)
    create = insert.values(scope=bindparam("b_scope"), next_at=next_at).on_conflict_do_update(
        index_elements=["scope"], set_={"next_at": insert.excluded.next_at}
    )
    return read, move, create


class Pacer:
    """``pacer(organizer)``: wait for the rep's and the project's next Calendar slot.

    Rates are requests a minute (0 turns a pace off). A store that cannot be written is not a
    reason to stop booking: the request then goes unpaced (and Google's own refusal, if any, is
    retried as ever)."""

    def __init__(
        self,
        store: PaceQueries,
        *,
        rep_per_minute: float,
        project_per_minute: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.rep_per_minute = rep_per_minute
        self.project_per_minute = project_per_minute
        self._sleep = sleep

    def __call__(self, organizer: str) -> None:
        rates = [
            (f"google:rep:{organizer.strip().lower()}", self.rep_per_minute),
            ("google:project", self.project_per_minute),
        ]
        try:
            wait = self.store.take_slots(rates)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            log.warning("pacing: the store did not answer (%s): unpaced", type(exc).__name__)
            return
        if wait > 0:
            self._sleep(wait)
