"""The durable event store over SQLAlchemy (SQLite or PostgreSQL).

One :class:`Store` per process, shared by its threads; every method is one short transaction.
Its parts: ``queue.py`` (intake and the lease protocol), ``deals.py`` (what was booked for
each deal), ``parks.py`` (account- and rep-wide waits), ``queries.py`` (operator reads returning ``records.py`` types). What operators
*change* (replay, prune) is in ``middleware/operations.py``.
"""

from __future__ import annotations

from middleware.store.base import utcnow
from middleware.store.gauges import GaugeQueries, StoreGauges
from middleware.store.parks import Park, ParkQueries
from middleware.store.queries import OperatorQueries
from middleware.store.queue import EventQueue
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
    "AddResult",
    "AttemptRecord",
    "AuditRecord",
    "Claim",
    "DealMeeting",
    "DealRecord",
    "DealTrail",
    "ErrorRecord",
    "EventDetail",
    "EventFilter",
    "EventRecord",
    "Park",
    "Store",
    "StoreGauges",
    "TrailEvent",
    "utcnow",
]


class Store(EventQueue, ParkQueries, OperatorQueries, GaugeQueries):
    """The whole store over one engine: the queue, the deal ledger, parks, operator reads, the
    gauges ``/metrics`` reads."""
