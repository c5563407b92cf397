"""What every benchmark shares: processes, the PostgreSQL probe, wrk, and the printed table.

Benchmarks print figures *with a baseline measured in the same run* and their ratio: absolute
numbers drift on a shared machine, ratios much less. Nothing here asserts a time.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.procs import Proc, free_port

REPO = Path(__file__).resolve().parent.parent
PG_SERVER_URL = os.environ.get(
    "MIDDLEWARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WRK_SCRIPT = Path(__file__).with_name("wrk_requests.lua")
_event_ids = itertools.count(1)


def pg_reachable() -> bool:
    url = make_url(PG_SERVER_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def pg_database(name: str) -> Iterator[str]:
    """A throwaway PostgreSQL database on the test server; its URL."""
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def web_process(
    env: dict[str, str],
    cwd: Path,
    *,
    logs: Path,
    port: int | None = None,
    command: str | None = None,
    ready: str = "/healthz",
) -> Iterator[Proc]:
    """The Procfile's ``web`` line (or ``command``, run the same way) on ``port`` or a free one,
    started in ``cwd``, its output in the folder ``logs`` (the run's temporary one)."""
    log = logs / f"web-{port}.log"
    proc = Proc("web", env, cwd=cwd, log=log, port=port or free_port(), command=command)
    try:
        proc.wait_ready(ready, timeout=60)
        yield proc
    finally:
        proc.stop()


def require_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: wrk is not installed: apt-get install wrk")
    return found


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def write_requests(path: Path, requests: Sequence[tuple[dict[str, str], bytes]]) -> None:
    """The request file ``wrk_requests.lua`` replays: headers, two tabs, the body; a line each."""
    with path.open("w") as f:
        for headers, body in requests:
            head = "\t".join(f"{k}: {v}" for k, v in headers.items())
            f.write(f"{head}\t\t{body.decode()}\n")


def run_wrk(
    url: str, requests_file: Path, *, seconds: float, connections: int = 16, threads: int = 2
) -> WrkResult:
    """Drive ``url`` with wrk replaying ``requests_file``; the figures of the run."""
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_PATH": "/" + url.split("/", 3)[3],
        "BENCH_THREADS": str(threads),
    }
    done = subprocess.run(
        [
            require_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(ln for ln in reversed(done.stdout.splitlines()) if ln.startswith("{"))
    data: dict[str, Any] = json.loads(line)
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table (so BENCHMARKS.md can take it as printed)."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(_cell(v) for v in row) + " |")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else 0.0


def notifications(
    count: int, stage: str, *, deals: Sequence[int] | None = None
) -> list[dict[str, object]]:
    """HubSpot "deal entered ``stage``" notifications with fresh event ids (deal ids cycle)."""
    out = []
    for _ in range(count):
        event_id = next(_event_ids)
        out.append(
            {
                "eventId": event_id,
                "subscriptionId": 25,
                "portalId": 62515,
                "appId": 1160452,
                "occurredAt": 1_795_000_000_000 + event_id,
                "subscriptionType": "deal.propertyChange",
                "attemptNumber": 0,
                "objectId": deals[event_id % len(deals)] if deals else 10_000 + event_id % 50_000,
                "propertyName": "dealstage",
                "propertyValue": stage,
                "changeSource": "CRM_UI",
                "sourceId": "userId:45678",
            }
        )
    return out
