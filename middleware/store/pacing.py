"""Paces: Google's Calendar quotas, shared by every worker process through the store.

Google allows each user about 600 Calendar requests a minute and each project 10,000 (a burst
past either is a 403/429 ``rateLimitExceeded``). Retrying after the refusal wastes attempts and
delays every other rep; instead each request first takes the next free slot of its rep's pace
and of the project's, and waits for the later one. A pace is a row (``paces``: scope → the
time its next request may go); taking a slot is one short write that moves it on by one
interval, ``max(next_at, now) + interval`` (the generic cell rate algorithm without a burst),
so requests across processes and hosts are spaced evenly by the database's clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from middleware.schema import paces
from middleware.store.base import StoreBase

log = logging.getLogger(__name__)


class PaceQueries(StoreBase):
    def take_slots(self, rates: Sequence[tuple[str, float]]) -> float:
        """Take the next slot of each ``(scope, requests per minute)``; the seconds to wait
        before sending (0 when every pace is free now). One transaction."""
        wait = 0.0
        with self.engine.begin() as conn:
            now = self._now(conn)
            for scope, per_minute in rates:
                if per_minute <= 0:
                    continue
                interval = timedelta(seconds=60.0 / per_minute)
                query = select(paces.c.next_at).where(paces.c.scope == scope)
                if self._dialect == "postgresql":  # SQLite's BEGIN IMMEDIATE already excludes
                    query = query.with_for_update()
                row = conn.execute(query).first()
                slot = now if row is None or row.next_at < now else row.next_at
                if row is None:
                    conn.execute(
                        self._insert(paces)
                        .values(scope=scope, next_at=slot + interval)
                        .on_conflict_do_update(
                            index_elements=["scope"], set_={"next_at": slot + interval}
                        )
                    )
                else:
                    conn.execute(
                        update(paces).where(paces.c.scope == scope).values(next_at=slot + interval)
                    )
                wait = max(wait, (slot - now).total_seconds())
        return wait


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
        except SQLAlchemyError as exc:
            log.warning("pacing: the store did not answer (%s): unpaced", type(exc).__name__)
            return
        if wait > 0:
            self._sleep(wait)
