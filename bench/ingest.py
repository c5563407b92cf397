"""Ingest: signed HubSpot webhooks into the ``web`` process, against a raw-insert baseline.

    python -m bench.ingest                 # SQLite, and PostgreSQL when reachable
    python -m bench.ingest --smoke         # a second per case: proves the harness runs

For each store and batch size (1 and 100 notifications a request), wrk (16 connections)
replays pre-signed requests for a few seconds at the ``web`` line of the Procfile, then at
``bench/raw_app.py`` served by the same gunicorn configuration doing the same durable insert
(the same rows into the service's own ``events`` and ``deals`` tables).
Printed: requests/s, events/s, p99 latency, each figure's ratio to the baseline, and the rows
each side stored (requests still in flight when wrk stops count there too). Batch runs last at most 4 s a side (their request files are
large); the single-notification runs ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, select

from bench import raw_app
from bench.common import (
    REPO,
    WrkResult,
    notifications,
    pg_database,
    pg_reachable,
    print_table,
    ratio,
    run_wrk,
    web_process,
    workdir,
    write_requests,
)
from middleware.crm import hubspot
from middleware.rules import load_rules
from middleware.schema import events
from tests.procs import free_port

SECRET = "bench-client-secret-7d1e"
RULES = REPO / "config" / "middleware.toml"
#: Upper bounds on what a side can take, to size its request file (past it requests repeat,
#: as duplicates, and the run says so). Batches of 100 are ~33 kB each: their runs are short.
MAX_REQUESTS_PER_SECOND = {1: 8000, 100: 900}
MAX_BATCH_SECONDS = 4.0


def build_requests(path: Path, uri: str, *, batch: int, count: int, sign: bool) -> None:
    stage = load_rules(str(RULES)).hubspot.trigger_stages[0]
    now = datetime.now(UTC)
    built = []
    for _ in range(count):
        body = json.dumps(notifications(batch, stage)).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers.update(hubspot.signed_headers(SECRET, "POST", uri, body, now))
        built.append((headers, body))
    write_requests(path, built)


def stored_rows(url: str) -> int:
    """Events stored (both sides store into the service's ``events`` table)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
    finally:
        engine.dispose()


def one_side(
    tmp: Path, database_url: str, *, batch: int, seconds: float, raw: bool
) -> tuple[WrkResult, int]:
    if batch > 1:
        seconds = min(seconds, MAX_BATCH_SECONDS)
    port = free_port()
    uri = f"http://127.0.0.1:{port}/webhooks/hubspot"
    requests_file = tmp / f"requests-{'raw' if raw else 'svc'}-{batch}.txt"
    count = int(MAX_REQUESTS_PER_SECOND[batch] * seconds) + 100
    build_requests(requests_file, uri, batch=batch, count=count, sign=not raw)
    env = {
        "DATABASE_URL": database_url,
        "MIDDLEWARE_CONFIG": str(RULES),
        "HUBSPOT_CLIENT_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "BENCH_RAW_URL": database_url,
    }
    command = None
    if raw:
        raw_app.create_table(database_url)
        command = (
            "gunicorn --config python:middleware.gunicorn_conf --bind 127.0.0.1:${PORT} "
            "--access-logfile /dev/null bench.raw_app:app"
        )
    with web_process(env, REPO, logs=tmp, port=port, command=command) as web:
        result = run_wrk(web.url + "/webhooks/hubspot", requests_file, seconds=seconds)
    rows = stored_rows(database_url)
    if result.requests >= count:
        print(
            f"bench: the {'baseline' if raw else 'service'} side (batch {batch}) replayed its whole "
            "request file: raise MAX_REQUESTS_PER_SECOND",
            file=sys.stderr,
        )
    return result, rows


def case(tmp: Path, store: str, database_url: str, baseline_url: str, batch: int, seconds: float):
    base, base_rows = one_side(tmp, baseline_url, batch=batch, seconds=seconds, raw=True)
    ours, our_rows = one_side(tmp, database_url, batch=batch, seconds=seconds, raw=False)
    # Completed requests only: rows also count requests still in flight when wrk stopped.
    ours_events, base_events = ours.per_second * batch, base.per_second * batch
    return [
        store,
        batch,
        ours.per_second,
        base.per_second,
        ratio(ours.per_second, base.per_second),
        ours_events,
        base_events,
        ratio(ours_events, base_events),
        ours.p99_ms,
        base.p99_ms,
        f"{ours.non_2xx + ours.socket_errors}/{base.non_2xx + base.socket_errors}",
        f"{our_rows:,}/{base_rows:,}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk run per side")
    parser.add_argument("--smoke", action="store_true", help="one second per side")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    seconds = 1.0 if args.smoke else args.seconds
    rows = []
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    if "postgresql" in stores and not pg_reachable():
        print("bench: PostgreSQL is not reachable: SQLite only", file=sys.stderr)
        stores.remove("postgresql")
    for batch in (1, 100):
        for store in stores:
            with workdir("bench-ingest-") as tmp:
                if store == "sqlite":
                    rows.append(
                        case(
                            tmp,
                            store,
                            f"sqlite:///{tmp}/events.db",
                            f"sqlite:///{tmp}/raw.db",
                            batch,
                            seconds,
                        )
                    )
                else:
                    with pg_database("bench_ingest") as ours, pg_database("bench_raw") as raw:
                        rows.append(case(tmp, store, ours, raw, batch, seconds))
    print_table(
        f"Ingest: wrk, 16 connections, {seconds:g} s a side",
        [
            "store",
            "batch",
            "req/s",
            "baseline req/s",
            "ratio",
            "events/s",
            "baseline events/s",
            "ratio",
            "p99 ms",
            "baseline p99 ms",
            "errors (ours/base)",
            "rows stored (ours/base)",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
