"""Pickup: how long a stored event waits before a worker starts it.

    python -m bench.pickup                  # SQLite, and PostgreSQL when reachable
    python -m bench.pickup --smoke

An idle worker (the service's ``Worker``, its default 0.5 s poll) and a stream of single events
stored one at a time, 20 to 100 ms apart. The pipeline only notes when it starts each event,
so the figure is the pickup alone. Baseline in the same run: the same worker with its
wake-ups off (polling only). Printed: p50 and p99 of both, and the ratio of the p99s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from typing import Any

from bench.common import pg_database, pg_reachable, print_table, ratio, workdir
from middleware.database import make_engine, upgrade_schema
from middleware.model import NewEvent
from middleware.store import Claim, Store
from middleware.worker import Worker

POLL_SECONDS = 0.5  # WORKER_POLL_SECONDS' default


class _Starts:
    """A pipeline that notes when it starts each event, then finishes it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.started: dict[int, float] = {}

    def run(self, claim: Claim) -> None:
        self.started[claim.event_id] = time.monotonic()
        self.store.finish(claim, "succeeded", action="booked")


def measure(url: str, count: int, *, wakeups: bool) -> list[float]:
    engine = make_engine(url)
    upgrade_schema(engine)
    store = Store(engine)
    pipeline = _Starts(store)
    worker = Worker(store, pipeline, concurrency=8, poll_seconds=POLL_SECONDS, wakeups=wakeups)  # type: ignore[arg-type]
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    stored: dict[int, float] = {}
    rng = random.Random(7)
    try:
        time.sleep(0.3)
        for n in range(count):
            key = f"pickup-{wakeups}-{n}"
            [event_id] = store.add_events(
                [NewEvent("hubspot", "62515", str(n), key, "demoscheduled", None, {})]
            ).ids
            stored[event_id] = time.monotonic()
            time.sleep(rng.uniform(0.02, 0.1))
        deadline = time.monotonic() + 30
        while len(pipeline.started) < count and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(10)
        engine.dispose()
    return sorted((pipeline.started[i] - stored[i]) * 1000 for i in stored if i in pipeline.started)


def _p(samples: list[float], q: float) -> float:
    return samples[max(0, int(len(samples) * q) - 1)] if samples else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="20 events")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    count = 20 if args.smoke else args.events
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    if "postgresql" in stores and not pg_reachable():
        print("bench: PostgreSQL is not reachable: SQLite only", file=sys.stderr)
        stores.remove("postgresql")
    rows: list[list[Any]] = []
    for store in stores:
        figures = {}
        for wakeups in (True, False):
            with workdir("bench-pickup-") as tmp:
                if store == "sqlite":
                    figures[wakeups] = measure(f"sqlite:///{tmp}/e.db", count, wakeups=wakeups)
                else:
                    with pg_database("bench_pickup") as url:
                        figures[wakeups] = measure(url, count, wakeups=wakeups)
        ours, base = figures[True], figures[False]
        rows.append(
            [
                store,
                len(ours),
                statistics.median(ours) if ours else 0.0,
                _p(ours, 0.99),
                statistics.median(base) if base else 0.0,
                _p(base, 0.99),
                ratio(_p(ours, 0.99), _p(base, 0.99)),
            ]
        )
    print_table(
        f"Pickup: stored → started, {count} events 20–100 ms apart; baseline: polling every "
        f"{POLL_SECONDS:g} s without wake-ups",
        ["store", "events", "p50 ms", "p99 ms", "baseline p50 ms", "baseline p99 ms", "p99 ratio"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
