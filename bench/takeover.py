"""Takeover: how long a SIGKILLed worker's events wait before another worker finishes them.

    python -m bench.takeover                # the 60 s lease of the defaults
    python -m bench.takeover --smoke        # a 12 s lease

Two ``worker`` processes (the Procfile's line) on one SQLite store and the emulators; Google
holds every insert for 2 s, so the first worker is killed (SIGKILL) while it holds events.
Measured: from the kill to the last of its events succeeded by the other worker. Baseline in
the same run: the same, but the dead worker's heartbeat row is deleted at once, as for a
worker that never beats (the lease rule alone: the lease runs out first).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import delete, select

from bench.common import REPO, print_table, ratio, workdir
from middleware.database import make_engine, upgrade_schema
from middleware.schema import attempts, workers
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import body_of, hubspot_headers, notification
from tests.procs import Proc

REP = "rep@seller.example"
SECRET = "bench-client-secret-7d1e"
EVENTS = 8


def _env(tmp: Path, google: GoogleEmulator, crm: HubSpotEmulator, lease: float) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp}/events.db",
        "MIDDLEWARE_CONFIG": str(REPO / "config" / "middleware.toml"),
        "HUBSPOT_CLIENT_SECRET": SECRET,
        "HUBSPOT_ACCESS_TOKEN": crm.access_token,
        "HUBSPOT_API_BASE_URL": crm.base_url,
        "GOOGLE_SERVICE_ACCOUNT_FILE": google.write_key_file(tmp / "sa-key.json"),
        "GOOGLE_API_BASE_URL": google.base_url,
        "WORKER_CONCURRENCY": str(EVENTS),
        "WORKER_LEASE_SECONDS": str(lease),
        "WORKER_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }


def one_case(lease: float, *, forget_the_dead: bool) -> float:
    with workdir("bench-takeover-") as tmp, GoogleEmulator() as google, HubSpotEmulator() as crm:
        from middleware.app import create_app
        from middleware.settings import load_settings

        crm.add_owner("101", REP, "Sam", "Rep")
        for n in range(EVENTS):
            crm.add_deal(
                str(6000 + n),
                {
                    "dealname": f"Acme {n}",
                    "dealstage": "demoscheduled",
                    "hubspot_owner_id": "101",
                    "demo_start_time": "2030-01-07T15:00:00Z",
                },
                [],
            )
        env = _env(tmp, google, crm, lease)
        engine = make_engine(env["DATABASE_URL"])
        upgrade_schema(engine)
        store = Store(engine)
        client = create_app(load_settings(env), store=store).test_client()
        google.inject_delay("insert", 2.0, times=EVENTS)
        first = Proc("worker", env, cwd=tmp, log=tmp / "first.log")
        try:
            time.sleep(1.5)
            body = body_of([notification(6000 + n) for n in range(EVENTS)])
            uri = "http://localhost/webhooks/hubspot"
            client.post(
                "/webhooks/hubspot", data=body, headers=hubspot_headers(body, uri, secret=SECRET)
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len(google.requests) == 0:
                time.sleep(0.05)
            time.sleep(0.3)  # it holds the events, its inserts under way
            first.kill(signal.SIGKILL)
            killed = time.monotonic()
            first.popen.wait(10)
        finally:
            first.stop()
        if forget_the_dead:
            with engine.begin() as conn:
                conn.execute(delete(workers))
        second = Proc("worker", env, cwd=tmp, log=tmp / "second.log")
        try:
            deadline = time.monotonic() + lease * 3 + 30
            while time.monotonic() < deadline and store.count_unfinished() > 0:
                time.sleep(0.1)
            done = time.monotonic()
        finally:
            second.stop()
        with engine.connect() as conn:
            outcomes = [r.outcome for r in conn.execute(select(attempts.c.outcome))]
        engine.dispose()
        if store.count_unfinished() or "abandoned" not in outcomes:
            raise SystemExit(f"bench: the takeover did not happen: {outcomes}")
        return done - killed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a 12 s lease")
    parser.add_argument("--lease", type=float, default=60.0)
    args = parser.parse_args(argv)
    lease = 12.0 if args.smoke else args.lease
    ours = one_case(lease, forget_the_dead=False)
    base = one_case(lease, forget_the_dead=True)
    print_table(
        f"Takeover: {EVENTS} events held by a SIGKILLed worker, WORKER_LEASE_SECONDS={lease:g}",
        ["takeover s (heartbeats)", "baseline s (lease only)", "ratio"],
        [[ours, base, ratio(ours, base)]],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
