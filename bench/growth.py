"""Growth: intake and claim latency as the store fills (10^4, 10^5, 10^6 stored events).

    python -m bench.growth                   # SQLite, and PostgreSQL when reachable
    python -m bench.growth --smoke           # 10^3 and 10^4

For each size the store is seeded in SQL with that many finished events (one attempt each, a
deal row for every three), then ``Store.add_events`` of one new event and ``Store.claim`` of one
due event (finished at once) are timed 200 times each. Printed: p50 and p99 of each, and their
ratio to the same figures at the smallest size in the same run: flat is ≈ 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.common import pg_database, pg_reachable, print_table, ratio, workdir
from middleware.database import make_engine, upgrade_schema
from middleware.model import NewEvent
from middleware.store import Store

SAMPLES = 200
_SERIES = {
    "sqlite": "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) ",
    "postgresql": "WITH s(x) AS (SELECT generate_series(1, :n)) ",
}
_OLD = "'2026-01-01 00:00:00'"


def seed(engine: Engine, size: int) -> None:
    """``size`` succeeded events, an attempt each, and ``size // 3`` deals, in three statements."""
    series = _SERIES[engine.dialect.name]
    old = _OLD if engine.dialect.name == "sqlite" else f"TIMESTAMP {_OLD}"
    with engine.begin() as conn:
        conn.execute(
            text(
                series + "INSERT INTO events (provider, account_id, deal_id, dedupe_key, trigger, "
                "occurred_at, payload, status, attempts, attempts_at_replay, force, action, "
                "next_attempt_at, created_at, updated_at) "
                f"SELECT 'hubspot', '62515', CAST(x % :deals AS TEXT), 'seed:' || x, "
                f"'demoscheduled', {old}, '{{}}', 'succeeded', 1, 0, false, 'booked', "
                f"{old}, {old}, {old} FROM s"
            ),
            {"n": size, "deals": max(1, size // 3)},
        )
        conn.execute(
            text(
                "INSERT INTO attempts (event_id, number, worker, started_at, finished_at, outcome) "
                f"SELECT id, 1, 'seed', {old}, {old}, 'succeeded' FROM events"
            )
        )
        conn.execute(
            text(
                series + "INSERT INTO deals (provider, account_id, deal_id, meeting_state, "
                "event_series, updated_at) "
                f"SELECT 'hubspot', '62515', CAST(x - 1 AS TEXT), 'live', 0, {old} FROM s"
            ),
            {"n": max(1, size // 3)},
        )


def _timed(action: Callable[[int], object]) -> tuple[float, float]:
    samples = []
    for i in range(SAMPLES):
        started = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def measure(url: str, size: int) -> tuple[float, float, float, float]:
    engine = make_engine(url)
    upgrade_schema(engine)
    seed(engine, size)
    store = Store(engine)
    intake = _timed(
        lambda i: store.add_events(
            [NewEvent("hubspot", "62515", str(900_000 + i), f"new:{i}", "demoscheduled", None, {})]
        )
    )

    def claim_one(_: int) -> None:
        [claim] = store.claim("bench", 1, 60)
        store.finish(claim, "succeeded", action="booked")

    claim = _timed(claim_one)
    engine.dispose()
    return intake + claim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="10^3 and 10^4 events")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    sizes = [10**3, 10**4] if args.smoke else [10**4, 10**5, 10**6]
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    if "postgresql" in stores and not pg_reachable():
        print("bench: PostgreSQL is not reachable: SQLite only", file=sys.stderr)
        stores.remove("postgresql")
    rows = []
    for store in stores:
        first: tuple[float, float, float, float] | None = None
        for size in sizes:
            with workdir("bench-growth-") as tmp:
                if store == "sqlite":
                    figures = measure(f"sqlite:///{tmp}/events.db", size)
                else:
                    with pg_database("bench_growth") as url:
                        figures = measure(url, size)
            first = first or figures
            rows.append(
                [
                    store,
                    size,
                    *figures[:2],
                    ratio(figures[1], first[1]),
                    *figures[2:],
                    ratio(figures[3], first[3]),
                ]
            )
    print_table(
        f"Growth: {SAMPLES} intakes and claims at each size; ratios against the smallest size",
        [
            "store",
            "stored events",
            "intake p50 ms",
            "intake p99 ms",
            "p99 ratio",
            "claim p50 ms",
            "claim p99 ms",
            "p99 ratio",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
