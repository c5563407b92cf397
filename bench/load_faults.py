"""Load with faults: many events through several ``web`` and ``worker`` processes on PostgreSQL
while Google fails a share of its calls at random and a worker is SIGKILLed every few seconds.

    python -m bench.load_faults                              # 10,000 events over 1,000 deals
    python -m bench.load_faults --events 600 --deals 100     # the size CI runs

The processes are started as the Procfile says (2 ``web``, 3 ``worker``, ``WORKER_LEASE_SECONDS``
5 so that a killed worker's events are taken over within the run, fast retries) on a
throwaway PostgreSQL database. The Google emulator answers 20 % of its calls (token endpoint
included) 500, 503 or 429 at random, a quarter of the 5xx ones after carrying the call out
(its answer lost); signed HubSpot webhooks bring one event per deal first, then more events
for random deals and 5 % exact redeliveries, while every ``--kill-every`` seconds the next
worker holding events is SIGKILLed and a new one started in its place.

At the end it checks every guarantee (``tests.integration.fleet.audit``): every accepted event
``succeeded``, one Calendar event per deal (cancelled ones counted) with its deterministic id,
one write-back per deal with that event's link and id, every attempt that was not the last
explained in the attempts table. It prints a Markdown table of the figures and exits 1 when a
guarantee does not hold, naming it.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bench.common import pg_database, pg_reachable, print_table, workdir
from middleware.database import make_engine
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.integration.fleet import (
    Fleet,
    deliveries,
    fleet_env,
    holders,
    post_batches,
    seed_deals,
)
from tests.integration.fleet_audit import Audit, audit

FIRST_DEAL = 20_000


@dataclass(frozen=True)
class Report:
    events: int
    notifications: int
    deals: int
    webs: int
    workers: int
    seconds: float
    kills: int
    google_calls: int
    faults: Counter[int]
    audit: Audit

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def rows(self) -> list[tuple[str, object]]:
        retries = ", ".join(f"{r} {n:,}" for r, n in self.audit.retries.most_common()) or "none"
        faults = ", ".join(f"{s}: {n:,}" for s, n in sorted(self.faults.items())) or "none"
        return [
            ("events (stored, each processed)", self.events),
            ("webhook notifications sent (with redeliveries)", self.notifications),
            ("deals", self.deals),
            ("processes", f"{self.webs} web, {self.workers} worker"),
            ("duration (first webhook → last event finished), s", round(self.seconds, 1)),
            ("events/s", round(self.per_second, 1)),
            ("workers SIGKILLed (and restarted)", self.kills),
            ("Google calls", self.google_calls),
            ("Google faults injected", f"{sum(self.faults.values()):,} ({faults})"),
            ("retries by reason (attempts that were not the last)", retries),
            ("events not succeeded (lost)", self.audit.lost),
            ("duplicates (extra Calendar events or write-backs)", self.audit.duplicates),
            ("guarantees broken", len(self.audit.problems())),
        ]


def run(
    database_url: str,
    tmp: Path,
    *,
    events: int,
    deals: int,
    webs: int = 2,
    workers: int = 3,
    kill_every: float = 3.0,
    fault_rate: float = 0.2,
    seed: int = 1,
    timeout: float = 900.0,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the scenario (see the module docstring) on ``database_url`` (an empty store) with
    the processes' files in ``tmp``; its figures and audit. Raises AssertionError when events
    are still unfinished after ``timeout`` seconds or a webhook is refused."""
    rng = random.Random(seed)
    deal_ids = list(range(FIRST_DEAL, FIRST_DEAL + deals))
    items = deliveries(deal_ids, events, rng, redeliveries=events // 20)
    with GoogleEmulator() as google, HubSpotEmulator() as hubspot:
        seed_deals(hubspot, deal_ids)
        google.fail_randomly(fault_rate, statuses=(500, 503, 429), seed=seed, after_processing=0.25)
        engine = make_engine(database_url)
        store = Store(engine)
        env = fleet_env(google, hubspot, tmp, database_url)
        with Fleet(env, tmp, webs=webs, workers=workers) as fleet:
            posted: dict[str, object] = {}

            def post() -> None:
                try:
                    posted["accepted"] = post_batches(fleet.webs, items)
                except BaseException as exc:  # reported by the main thread
                    posted["error"] = exc

            started = time.monotonic()
            poster = threading.Thread(target=post, name="webhooks", daemon=True)
            poster.start()
            next_kill, deadline = started + kill_every, started + timeout
            while poster.is_alive() or store.count_unfinished():
                now = time.monotonic()
                if now > deadline:
                    raise AssertionError(
                        f"unfinished after {timeout:.0f} s: {store.status_counts()}"
                    )
                if now >= next_kill:
                    victim = _holding_worker(fleet, engine)
                    if victim is None:  # nobody holds an event this instant: look again soon
                        next_kill = now + 0.2
                    else:
                        fleet.kill_worker(victim)
                        next_kill = now + kill_every
                        if progress:
                            progress(f"{now - started:5.1f} s  {store.status_counts()}")
                time.sleep(0.1)
            seconds = time.monotonic() - started
            if "error" in posted:
                raise AssertionError(f"a webhook was refused: {posted['error']}")
            kills = fleet.kills
        accepted = int(posted["accepted"])  # type: ignore[call-overload]
        found = audit(store, google, hubspot, deal_ids, accepted)
        report = Report(
            events=found.stored,
            notifications=len(items),
            deals=deals,
            webs=webs,
            workers=workers,
            seconds=seconds,
            kills=kills,
            google_calls=len(google.requests) + len(google.token_requests),
            faults=google.random_faults_injected,
            audit=found,
        )
        engine.dispose()
    return report


def _holding_worker(fleet: Fleet, engine: Engine) -> int | None:
    """The next worker in turn that holds events now (so that its kill leaves them to be
    taken over), or None."""
    holding = holders(engine)
    count = len(fleet.workers)
    for step in range(count):
        index = (fleet.kills + step) % count
        if fleet.workers[index].popen.pid in holding:
            return index
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_faults", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--events", type=int, default=10_000, help="distinct events (default 10,000)"
    )
    parser.add_argument(
        "--deals", type=int, default=1_000, help="deals they are spread over (default 1,000)"
    )
    parser.add_argument("--webs", type=int, default=2, help="web processes (default 2)")
    parser.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument(
        "--kill-every", type=float, default=3.0, help="seconds between SIGKILLs (default 3)"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.2,
        help="share of Google calls that fail (default 0.2)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.events < args.deals or args.deals < 1:
        parser.error("--events must be at least --deals, and --deals at least 1")
    if not pg_reachable():
        print("bench: PostgreSQL is not reachable (MIDDLEWARE_TEST_PG_URL)", file=sys.stderr)
        return 2
    with workdir("bench-load-faults-") as tmp, pg_database("bench_load_faults") as url:
        report = run(
            url,
            tmp,
            events=args.events,
            deals=args.deals,
            webs=args.webs,
            workers=args.workers,
            kill_every=args.kill_every,
            fault_rate=args.fault_rate,
            seed=args.seed,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    print_table(
        f"Load with faults: {report.events:,} events, {report.deals:,} deals, PostgreSQL",
        ["figure", "value"],
        report.rows(),
    )
    problems = report.audit.problems()
    for problem in problems:
        print(f"guarantee broken: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
