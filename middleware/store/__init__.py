"""The durable event store over SQLAlchemy (SQLite or PostgreSQL).

One :class:`Store` per process, shared by its threads; every method is one short transaction.
Its parts: ``queue.py`` (intake and the lease protocol, its hot statements built once in
``lease_statements.py``), ``pacing.py`` (Google's paces; beside an SQLite file in
``host_paces.py``), ``deals.py`` (what was booked for
each deal), ``parks.py`` (account- and rep-wide waits), ``queries.py`` (operator reads returning
``records.py`` types), ``readiness.py`` (``/readyz``'s probe), ``connections.py`` (reps' sealed
Google OAuth refresh tokens), ``faults.py`` (which database errors mean "cannot take a write
now"), ``meetings.py`` and ``api_keys.py`` (the meetings API's meetings, idempotency keys and API
keys). Times come from the database's clock (``base.py``).
Reads run on ``reader`` (never waiting for a writer), webhook writes on ``intake`` (giving up
early), everything else on ``engine``. What operators
*change* (replay, prune) is in ``middleware/operations.py``.
"""

from __future__ import annotations

from middleware.store.activity import Activity, ActivityQueries, HourActivity
from middleware.store.api_keys import ApiKeyRecord, ApiKeyStore
from middleware.store.base import utcnow
from middleware.store.connections import ConnectionQueries, ConnectionRecord
from middleware.store.gauges import GaugeQueries, StoreGauges
from middleware.store.meetings import MeetingRecord, MeetingStore
from middleware.store.pacing import PaceQueries
from middleware.store.parks import Park, ParkQueries
from middleware.store.queries import OperatorQueries
from middleware.store.queue import EventQueue
from middleware.store.readiness import StoreReadiness
from middleware.store.records import (
    AddResult,
    AttemptRecord,
    AuditRecord,
    Claim,
    DealMeeting,
    DealRecord,
    DealTrail,
    ErrorRecord,
    EventDetail,
    EventFilter,
    EventRecord,
    TrailEvent,
)

__all__ = [
    "Activity",
    "HourActivity",
    "AddResult",
    "ApiKeyRecord",
    "AttemptRecord",
    "AuditRecord",
    "Claim",
    "ConnectionRecord",
    "DealMeeting",
    "DealRecord",
    "DealTrail",
    "ErrorRecord",
    "EventDetail",
    "EventFilter",
    "EventRecord",
    "MeetingRecord",
    "Park",
    "Store",
    "StoreGauges",
    "TrailEvent",
    "utcnow",
]


class Store(
    EventQueue,
    ParkQueries,
    OperatorQueries,
    StoreReadiness,
    ActivityQueries,
    GaugeQueries,
    ConnectionQueries,
    MeetingStore,
    ApiKeyStore,
    PaceQueries,
):
    """The whole store over one engine: the queue, the deal ledger, parks, operator reads,
    readiness, the dashboard's hourly activity (``activity.py``), the gauges ``/metrics``
    reads, reps' Google OAuth connections (``connections.py``), the meetings API's meetings
    and keys, and the Google paces (``pacing.py``)."""
