"""Paces: Google's Calendar quotas, shared by every worker process through the store.

Google allows each user about 600 Calendar requests a minute and each project 10,000 (a burst
past either is a 403/429 ``rateLimitExceeded``). Retrying after the refusal wastes attempts and
delays every other rep; instead each request first takes the next free slot of its rep's pace
and of the project's, and waits for the later one. A pace is a row (``paces``: scope → the
time its next request would go if all went evenly); taking a slot is one short write that
moves it on by one interval (the generic cell rate algorithm, ``pace_rule.py``), so requests
across processes and hosts keep the rate by the database's clock, a pace's ``burst`` of them
at once after a quiet spell (1 for a rep: evenly spaced; a second's worth for the project). On
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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from middleware.schema import paces
from middleware.store.base import StoreBase, utcnow
from middleware.store.host_paces import host_paces_for
from middleware.store.pace_rule import Pace, paced, take_slot

log = logging.getLogger(__name__)


class PaceQueries(StoreBase):
    def take_slots(self, rates: Sequence[Pace | tuple[str, float]]) -> float:
        """Take the next slot of each pace (:class:`~middleware.store.pace_rule.Pace`, or a
        ``(scope, requests per minute)`` tuple: a burst of 1); the seconds to wait before
        sending (0 when every pace is free now). One transaction: on an SQLite file, in the
        paces file beside it (``host_paces.py``: one host, the host's clock); otherwise in the
        store, by the database's clock, one read of every scope's row and one write each.
        Raises SQLAlchemy's, ``sqlite3``'s or the OS's error when the paces cannot be written."""
        database = self.engine.url.database if self._dialect == "sqlite" else None
        if database and database != ":memory:" and not database.startswith("file:"):
            now = self._clock() if self._clock is not None else utcnow()
            return host_paces_for(database).take_slots(rates, now)
        paces = paced(rates)
        if not paces:
            return 0.0
        read, move, create = _pace_statements(self._dialect)
        wait = 0.0
        with self.engine.begin() as conn:
            now = self._now(conn)
            rows = conn.execute(read, {"scopes": [pace.scope for pace in paces]}).all()
            next_at = {row.scope: row.next_at.timestamp() for row in rows}
            for pace in paces:
                known = next_at.get(pace.scope)
                waits, after = take_slot(pace, known, now.timestamp())
                conn.execute(
                    move if known is not None else create,
                    {"b_scope": pace.scope, "b_next": datetime.fromtimestamp(after, UTC)},
                )
                wait = max(wait, waits)
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

    Rates are requests a minute (0 turns a pace off); bursts are how many requests of a pace
    may go at once after a quiet spell (``pace_rule.py``). A store that cannot be written is not a
    reason to stop booking: the request then goes unpaced (and Google's own refusal, if any, is
    retried as ever)."""

    def __init__(
        self,
        store: PaceQueries,
        *,
        rep_per_minute: float,
        project_per_minute: float,
        rep_burst: int = 1,
        project_burst: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.rep_per_minute = rep_per_minute
        self.project_per_minute = project_per_minute
        self.rep_burst = rep_burst
        self.project_burst = project_burst
        self._sleep = sleep

    def __call__(self, organizer: str) -> None:
        rates = [
            Pace(f"google:rep:{organizer.strip().lower()}", self.rep_per_minute, self.rep_burst),
            Pace("google:project", self.project_per_minute, self.project_burst),
        ]
        try:
            wait = self.store.take_slots(rates)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            log.warning("pacing: the store did not answer (%s): unpaced", type(exc).__name__)
            return
        if wait > 0:
            self._sleep(wait)
