"""Pipeline: the ``worker`` process booking demos against emulators with real-world latencies.

    python -m bench.pipeline                 # concurrency 1, 8 and 32
    python -m bench.pipeline --smoke         # a few events, short latencies

The Google emulator answers an events.insert after 300 ms and the HubSpot emulator every CRM
call after 100 ms (``--google-ms``, ``--crm-ms``). For each concurrency the Procfile's
``worker`` line (``WORKER_CONCURRENCY=c``) books one demo per deal, fed by signed webhooks.

The deals belong to 40 reps (a team), so Google's per-rep pace (``GOOGLE_REP_REQUESTS_PER_MINUTE``)
is not what is measured; ``--quota`` measures it, with one rep.

Printed per concurrency: events/s (first attempt started → last finished, from the attempts
table), the bound ``c ÷ critical path`` where the critical path is the sum of the injected
latencies of one event's calls (as if made one after another), their ratio, one event's wall
time at concurrency 1 (in the title), the worker's CPU ms per event and peak RSS, and the
calls per event each emulator saw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bench.common import REPO, notifications, print_table, ratio, workdir
from middleware.app import create_app
from middleware.crm import hubspot as hubspot_crm
from middleware.database import make_engine, upgrade_schema
from middleware.schema import attempts, workers
from middleware.settings import load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.procs import Proc

REP = "rep@seller.example"
REPS = 40
SECRET = "bench-client-secret-7d1e"
RULES = REPO / "config" / "middleware.toml"
FULL_COUNTS = {1: 30, 8: 240, 32: 1000}
SMOKE_COUNTS = {1: 4, 8: 16, 32: 32}
FOREVER = 10**9


@dataclass(frozen=True)
class Run:
    concurrency: int
    events: int
    seconds: float
    cpu_ms_per_event: float
    peak_rss_mib: float
    crm_calls: float
    google_calls: float
    token_fetches: int
    #: One event's latency if its delayed calls ran one after another (the issue's critical path).
    nominal_path: float
    #: Google's rate-limit refusals (the quota case)
    refusals: int = 0

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _has_beaten(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(workers)).scalar_one() > 0


def _wait(predicate: Callable[[], bool], timeout: float, what: str, proc: Proc) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.popen.poll() is not None:
            raise SystemExit(f"bench: the worker exited: {proc.output()[-2000:]}")
        time.sleep(0.1)
    raise SystemExit(f"bench: timed out waiting for {what}: {proc.output()[-2000:]}")


def one_run(
    concurrency: int,
    count: int,
    *,
    google_ms: float,
    crm_ms: float,
    quota_per_minute: int | None = None,
) -> Run:
    with (
        workdir("bench-pipeline-") as tmp,
        GoogleEmulator() as google,
        HubSpotEmulator() as crm,
    ):
        # Many reps, as a sales team has: one rep's requests are paced at its Google quota
        # (the --quota case measures that); one rep for everything would measure only the pace.
        reps = (
            [REP]
            if quota_per_minute is not None
            else [f"rep{n}@seller.example" for n in range(REPS)]
        )
        for n, rep in enumerate(reps):
            crm.add_owner(str(101 + n), rep, "Sam", f"Rep{n}")
        deals = list(range(5000, 5000 + count))
        for deal in deals:
            crm.add_contact(f"c{deal}", f"buyer{deal}@acme.example", "Bo", "Buyer")
            crm.add_deal(
                str(deal),
                {
                    "dealname": f"Acme {deal}",
                    "dealstage": "demoscheduled",
                    "pipeline": "default",
                    "hubspot_owner_id": str(101 + deal % len(reps)),
                    "demo_start_time": "2030-01-07T15:00:00Z",
                },
                [f"c{deal}"],
            )
        google.keep_alive = True  # Google's front ends keep connections alive (HTTP/1.1)
        google.inject_delay("insert", google_ms / 1000, times=FOREVER)
        if quota_per_minute is not None:
            # Counted over 10 s (Google: a minute), so the run takes seconds; over 1 s the
            # scheduling jitter of a loaded machine alone bunches paced requests past it.
            google.limit_rate(quota_per_minute, window_seconds=10.0)
        crm.inject_delay("*", r"^/crm/", crm_ms / 1000, times=FOREVER)
        url = f"sqlite:///{tmp}/events.db"
        env = {
            "DATABASE_URL": url,
            "MIDDLEWARE_CONFIG": str(RULES),
            "HUBSPOT_CLIENT_SECRET": SECRET,
            "HUBSPOT_ACCESS_TOKEN": crm.access_token,
            "HUBSPOT_API_BASE_URL": crm.base_url,
            "GOOGLE_SERVICE_ACCOUNT_FILE": google.write_key_file(tmp / "sa-key.json"),
            "GOOGLE_API_BASE_URL": google.base_url,
            "WORKER_CONCURRENCY": str(concurrency),
            **(
                {"GOOGLE_REP_REQUESTS_PER_MINUTE": str(quota_per_minute * 0.9)}
                if quota_per_minute is not None
                else {}
            ),
            "LOG_LEVEL": "WARNING",
        }
        engine = make_engine(url)
        upgrade_schema(engine)
        store = Store(engine)
        client = create_app(load_settings(env), store=store).test_client()
        worker = Proc("worker", env, cwd=tmp, log=tmp / "worker.log")
        try:
            # Imports, migration and wiring are not part of the figures: the worker writes its
            # first heartbeat just before its first claim.
            _wait(lambda: _has_beaten(engine), 60, "the worker to start", worker)
            cpu_before = _proc_cpu_seconds(worker.popen.pid)
            stage = "demoscheduled"
            for start in range(0, count, 100):
                chunk = deals[start : start + 100]
                body = json.dumps(notifications(len(chunk), stage, deals=chunk)).encode()
                uri = "http://localhost/webhooks/hubspot"
                headers = hubspot_crm.signed_headers(SECRET, "POST", uri, body, datetime.now(UTC))
                answer = client.post("/webhooks/hubspot", data=body, headers=headers)
                assert answer.status_code == 200, answer.json
            _wait(lambda: store.count_unfinished() == 0, 600, "the events", worker)
            cpu = _proc_cpu_seconds(worker.popen.pid) - cpu_before
            rss = _peak_rss_mib(worker.popen.pid)
        finally:
            worker.stop()
        with engine.connect() as conn:
            first, last = conn.execute(
                select(func.min(attempts.c.started_at), func.max(attempts.c.finished_at))
            ).one()
        engine.dispose()
        return Run(
            concurrency=concurrency,
            events=count,
            seconds=(last - first).total_seconds(),
            cpu_ms_per_event=cpu * 1000 / count,
            peak_rss_mib=rss,
            crm_calls=len(crm.requests) / count,
            google_calls=len(google.requests) / count,
            token_fetches=len(google.token_requests),
            refusals=google.rate_refusals,
            nominal_path=(
                sum(r["path"].startswith("/crm/") for r in crm.requests) * crm_ms
                + sum(r.get("op") == "insert" for r in google.requests) * google_ms
            )
            / 1000
            / count,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few events, 30/10 ms latencies")
    parser.add_argument("--google-ms", type=float, default=300.0)
    parser.add_argument("--crm-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    parser.add_argument(
        "--quota",
        action="store_true",
        help="instead: 300 events for one rep against a per-rep quota the emulator enforces",
    )
    args = parser.parse_args(argv)
    google_ms, crm_ms = (30.0, 10.0) if args.smoke else (args.google_ms, args.crm_ms)
    if args.quota:
        return quota_case(20 if args.smoke else 300, google_ms=google_ms, crm_ms=crm_ms)
    counts = SMOKE_COUNTS if args.smoke else FULL_COUNTS
    levels = sorted(set(args.concurrency) | {1})
    runs = {
        c: one_run(c, counts.get(c, 30 * c), google_ms=google_ms, crm_ms=crm_ms) for c in levels
    }
    measured = runs[1].seconds / runs[1].events  # one event's wall time at concurrency 1
    path = runs[max(runs)].nominal_path
    rows = []
    for c, run in runs.items():
        bound = c / path
        rows.append(
            [
                c,
                run.events,
                run.per_second,
                bound,
                ratio(run.per_second, bound),
                run.nominal_path,
                run.cpu_ms_per_event,
                run.peak_rss_mib,
                run.crm_calls,
                run.google_calls,
                run.token_fetches,
            ]
        )
    print_table(
        f"Pipeline: worker process, Google insert {google_ms:g} ms, CRM calls {crm_ms:g} ms; "
        f"critical path {path:.3f} s an event (its calls in sequence); one event alone took "
        f"{measured:.3f} s",
        [
            "concurrency",
            "events",
            "events/s",
            "bound (c ÷ path)",
            "ratio",
            "critical path s",
            "CPU ms/event",
            "peak RSS MiB",
            "CRM calls/event",
            "Google calls/event",
            "token fetches",
        ],
        rows,
    )
    return 0


#: The quota case's per-rep quota (requests a minute, counted over 10 s by the emulator)
#: and the service's pace, 90 % of it.
QUOTA_PER_MINUTE = 3000


def quota_case(count: int, *, google_ms: float, crm_ms: float) -> int:
    run = one_run(32, count, google_ms=google_ms, crm_ms=crm_ms, quota_per_minute=QUOTA_PER_MINUTE)
    pace = QUOTA_PER_MINUTE * 0.9 / 60  # requests a second
    expected = pace / run.google_calls  # events a second at the pace
    print_table(
        f"Quota: {count} events for one rep, Google allowing {QUOTA_PER_MINUTE} requests a "
        f"minute per user (enforced), the service pacing at 90 %",
        [
            "events",
            "events/s",
            "pace-bound events/s",
            "ratio",
            "Google calls/event",
            "rate-limit refusals",
        ],
        [
            [
                run.events,
                run.per_second,
                expected,
                ratio(run.per_second, expected),
                run.google_calls,
                run.refusals,
            ]
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
