"""``GET /metrics``: Prometheus text, the web process's counters plus gauges read from the store.

Under gunicorn (multiprocess mode, see ``middleware/metrics.py``) the answer adds up the files of
every worker process, so whichever worker answers the scrape, the counts are the whole
process's. The store's gauges are read at scrape time (``store/gauges.py``); a store that does
not answer makes ``middleware_store_up`` 0 instead of failing the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import SQLAlchemyError

from middleware.metrics_export import multiprocess_dir
from middleware.services import services
from middleware.store import Store

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)


class StoreCollector:
    """The store's gauges, read when Prometheus scrapes (one connection, indexed counts)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("middleware_store_up", "1 when the event store answered the scrape")
        try:
            now = self.store.clock()  # the database's clock: a store that is down raises here
            gauges = self.store.gauges(now)
        except SQLAlchemyError as exc:
            log.warning("metrics: the store did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily(
            "middleware_events",
            "Stored events in a status an operator acts on (pending, processing, retrying, failed)",
            labels=["status"],
        )
        for status, count in gauges.statuses.items():
            by_status.add_metric([status], count)
        yield by_status
        age = 0.0
        if gauges.oldest_due_at is not None:
            age = max(0.0, (now - gauges.oldest_due_at).total_seconds())
        yield GaugeMetricFamily(
            "middleware_backlog_oldest_due_seconds",
            "How long the oldest due event (pending or retrying, its time come) has waited for "
            "a worker; 0 when none is due",
            value=age,
        )
        yield GaugeMetricFamily(
            "middleware_backlog_due_events", "Events due now, not yet claimed", value=gauges.due
        )
        yield GaugeMetricFamily(
            "middleware_events_parked",
            "Retrying events waiting for an account- or rep-wide park to end",
            value=gauges.parked,
        )
        parks = GaugeMetricFamily(
            "middleware_parks_active",
            "Parks in force (HubSpot daily limit or migration, Google quota), by kind",
            labels=["kind"],
        )
        for kind, count in sorted(gauges.parks.items()):
            parks.add_metric([kind], count)
        yield parks


class _ThisProcess:
    """The default registry of a single process (tests, ``flask run``), as one collector."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape(store: Store) -> bytes:
    """The text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector(store))
    return generate_latest(registry)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition format (no secrets; see README *Metrics*)."""
    return Response(scrape(services(current_app).store), content_type=CONTENT_TYPE_LATEST)
