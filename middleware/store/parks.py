"""Parks in the store: a long account- or rep-wide wait, shared by every event of its scope.

A park says "until ``until``, do not call this remote side for this scope" (HubSpot's ``DAILY``
429 or 477 migration for ``hubspot:<portal>``, Google's ``quotaExceeded`` for
``google:<rep>``, ``dailyLimitExceeded`` for ``google``). The pipeline records one when a remote
call answers so, and reads it before calling the remote side for any other event of the scope.
The events themselves wait as ``retrying`` without spending an attempt (``Store.finish`` with
``park=True``).

:class:`ParkQueries` is one part of :class:`~middleware.store.Store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select

from middleware.schema import parks
from middleware.store.base import StoreBase


@dataclass(frozen=True)
class Park:
    scope: str
    until: datetime
    reason: str
    message: str


#: How ``last_error`` of a parked event begins (``/metrics`` counts parked events by it).
PARKED_PREFIX = "parked until "


def park_message(until: datetime, message: str) -> str:
    """``last_error`` of a parked event: ``parked until <ISO time>: <message>``."""
    when = until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{PARKED_PREFIX}{when}: {message}"


#: Read before every remote call: built once (SQLAlchemy then reuses its compiled form).
_ACTIVE_PARK = (
    select(parks)
    .where(
        parks.c.scope.in_(bindparam("scopes", expanding=True)),
        parks.c.until > bindparam("at", type_=parks.c.until.type),
    )
    .order_by(parks.c.until.desc())
    .limit(1)
)


class ParkQueries(StoreBase):
    """Park a scope and read its active park."""

    def park(self, scope: str, until: datetime, *, reason: str, message: str) -> Park:
        """Park ``scope`` until ``until``; a scope already parked longer keeps its later park.

        One statement (``INSERT … ON CONFLICT DO UPDATE … WHERE``), so concurrent workers
        parking one scope never shorten each other's park. Returns the park now in force.
        """
        with self.engine.begin() as conn:
            stmt = self._insert(parks).values(
                scope=scope, until=until, reason=reason, message=message, updated_at=self._now(conn)
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["scope"],
                set_={
                    "until": stmt.excluded.until,
                    "reason": stmt.excluded.reason,
                    "message": stmt.excluded.message,
                    "updated_at": stmt.excluded.updated_at,
                },
                where=parks.c.until < stmt.excluded.until,
            )
            conn.execute(stmt)
            row = conn.execute(select(parks).where(parks.c.scope == scope)).one()
        return Park(row.scope, row.until, row.reason, row.message)

    def active_park(self, *scopes: str, now: datetime | None = None) -> Park | None:
        """The park in force at ``now`` (default: the store's clock) for any of ``scopes``;
        the one that ends last when several are. None when none is."""
        if not scopes:
            return None
        with self.reader.connect() as conn:
            at = now or self._now(conn)
            row = conn.execute(_ACTIVE_PARK, {"scopes": list(scopes), "at": at}).first()
        return Park(row.scope, row.until, row.reason, row.message) if row else None
