"""What ``/metrics`` reads from the store at scrape time: a few indexed counts, one connection.

Every query is a range over an index (``ix_events_due`` on status and due time, the small
``parks`` table), so a scrape stays cheap with millions of finished events stored: finished
``succeeded`` and ``skipped`` events are not counted here (they only grow; the worker's
``middleware_events_processed_total`` counts them as they happen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from middleware.model import FAILED, PENDING, PROCESSING, RETRYING
from middleware.schema import events, parks
from middleware.store.base import StoreBase
from middleware.store.parks import PARKED_PREFIX

#: The statuses ``middleware_events`` reports (the ones an operator acts on).
GAUGED_STATUSES = (PENDING, PROCESSING, RETRYING, FAILED)


@dataclass(frozen=True)
class StoreGauges:
    #: events per status in :data:`GAUGED_STATUSES`
    statuses: dict[str, int]
    #: ``pending``/``retrying`` events whose time has come, and the oldest one's due time
    due: int
    oldest_due_at: datetime | None
    #: ``retrying`` events waiting for a park to end (no attempt spent)
    parked: int
    #: parks in force by kind (the scope before ``:``: ``hubspot``, ``google``, ``pipedrive``)
    parks: dict[str, int] = field(default_factory=dict)


class GaugeQueries(StoreBase):
    def gauges(self, now: datetime | None = None) -> StoreGauges:
        """The store's gauges at ``now`` (default: the store's clock)."""
        at = now or self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.status, func.count())
                .where(events.c.status.in_(GAUGED_STATUSES))
                .group_by(events.c.status)
            ).all()
            due = conn.execute(
                select(func.count(), func.min(events.c.next_attempt_at)).where(
                    events.c.status.in_((PENDING, RETRYING)), events.c.next_attempt_at <= at
                )
            ).one()
            parked = conn.execute(
                select(func.count()).where(
                    events.c.status == RETRYING,
                    events.c.next_attempt_at > at,
                    events.c.last_error.startswith(PARKED_PREFIX, autoescape=True),
                )
            ).scalar_one()
            scopes = conn.execute(select(parks.c.scope).where(parks.c.until > at)).scalars()
            kinds: dict[str, int] = {}
            for scope in scopes:
                kind = scope.split(":", 1)[0]
                kinds[kind] = kinds.get(kind, 0) + 1
        statuses = dict.fromkeys(GAUGED_STATUSES, 0)
        statuses.update({status: int(n) for status, n in rows})
        # min() over a TypeDecorator column comes back raw on SQLite: make it aware UTC.
        oldest = due[1]
        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return StoreGauges(
            statuses=statuses,
            due=int(due[0]),
            oldest_due_at=oldest,
            parked=int(parked),
            parks=kinds,
        )
