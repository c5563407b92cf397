"""The last hours at a glance: events received per hour by what became of them, and the backlog.

Two queries whatever the window (one ``SUM(CASE …)`` column per hour), portable between SQLite
and PostgreSQL. The dashboard draws them (``web/dashboard/chart.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from middleware.model import FAILED, PENDING, PROCESSING, RETRYING, SKIPPED, SUCCEEDED
from middleware.schema import events
from middleware.store.base import StoreBase

UNFINISHED = (PENDING, PROCESSING, RETRYING)
#: How the chart groups an event's current status.
OUTCOMES = (SUCCEEDED, SKIPPED, FAILED, "unfinished")


@dataclass(frozen=True)
class HourActivity:
    """One hour: ``[start, start + 1 h)``."""

    start: datetime
    #: events received in the hour, by what they are now: succeeded, skipped, failed, unfinished
    received: dict[str, int]
    #: events not finished at the hour's end (or now, for the current hour)
    backlog: int

    @property
    def total(self) -> int:
        return sum(self.received.values())


@dataclass(frozen=True)
class Activity:
    now: datetime
    hours: tuple[HourActivity, ...]


def _outcome(status: str) -> str:
    return status if status in (SUCCEEDED, SKIPPED, FAILED) else "unfinished"


class ActivityQueries(StoreBase):
    """Reads for the dashboard's chart."""

    def hourly_activity(self, now: datetime | None = None, *, hours: int = 24) -> Activity:
        """The last ``hours`` whole hours up to the current one, oldest first.

        The backlog at a past moment is rebuilt from the events as they are now: an event counts
        as unfinished from its arrival until its last update, or until now while it is
        ``pending``, ``processing`` or ``retrying`` (a replayed event counts from its arrival).
        """
        now = now or self.clock()
        current = now.replace(minute=0, second=0, microsecond=0)
        starts = [current - timedelta(hours=hours - 1 - i) for i in range(hours)]
        ends = [*starts[1:], now]
        created = events.c.created_at

        def per_hour(condition: Any) -> list[Any]:
            return [func.sum(case((condition(i), 1), else_=0)).label(f"h{i}") for i in range(hours)]

        received = select(
            events.c.status,
            *per_hour(
                lambda i: and_(created >= starts[i], created < starts[i] + timedelta(hours=1))
            ),
        ).where(created >= starts[0])
        unfinished_at = per_hour(
            lambda i: and_(
                created < ends[i],
                or_(events.c.status.in_(UNFINISHED), events.c.updated_at > ends[i]),
            )
        )
        backlog = select(*unfinished_at).where(
            or_(events.c.status.in_(UNFINISHED), events.c.updated_at > starts[0])
        )
        counts = [dict.fromkeys(OUTCOMES, 0) for _ in range(hours)]
        with self.engine.connect() as conn:
            for row in conn.execute(received.group_by(events.c.status)):
                for i in range(hours):
                    counts[i][_outcome(row.status)] += int(row[i + 1] or 0)
            left = conn.execute(backlog).one()
        return Activity(
            now=now,
            hours=tuple(
                HourActivity(start=starts[i], received=counts[i], backlog=int(left[i] or 0))
                for i in range(hours)
            ),
        )
