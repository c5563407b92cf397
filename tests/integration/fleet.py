"""A fleet of the service's processes on one store, started as the Procfile says, fed signed
HubSpot webhooks, and the audit of what it did against the CONTRACT.md guarantees.

Shared by the scale and fault tests (``test_scale.py``, ``test_load_faults.py``,
``test_pg_terminated.py``) and by ``python -m bench.load_faults``:

* :func:`seed_deals` and :func:`deliveries`: deals in the HubSpot emulator, one "entered Demo
  Scheduled" notification each, more events for random deals and HubSpot's exact redeliveries;
* :class:`Fleet`: ``web`` and ``worker`` processes from the Procfile; SIGKILL and restart a worker;
* :func:`post_batches`: the notifications in signed batches, spread over the ``web`` processes;
* :func:`~tests.integration.fleet_audit.audit` (``fleet_audit.py``): what the store and the
  emulators hold at the end, and every guarantee that does not hold.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine

from middleware.database import make_engine, upgrade_schema
from middleware.schema import metadata
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import SECRET, base_env, hubspot_headers, notification
from tests.integration.conftest import FAST_RULES, REP
from tests.procs import Proc, free_port

PORTAL = "62515"
OWNER = "101"


#: ``FAST_RULES`` with 30 attempts before an event is given up (the shipped 10)
FLEET_RULES = FAST_RULES.replace("max_attempts = 10", "max_attempts = 30")
assert FLEET_RULES != FAST_RULES


def fleet_env(
    google: GoogleEmulator, hubspot: HubSpotEmulator, workdir: Path, database_url: str, **extra: str
) -> dict[str, str]:
    """The environment of every process: the emulators, the store, the shipped rules with fast
    retries (``FAST_RULES``), short leases so that a killed worker's events are taken over
    within seconds, and a retry budget that a run of kills and faults on a loaded machine does
    not exhaust (an event given up as ``worker_lost`` would read as lost to the audit)."""
    return base_env(
        workdir,
        FLEET_RULES,
        DATABASE_URL=database_url,
        GOOGLE_SERVICE_ACCOUNT_FILE=google.write_key_file(workdir / "sa-key.json"),
        GOOGLE_API_BASE_URL=google.base_url,
        HUBSPOT_ACCESS_TOKEN=hubspot.access_token,
        HUBSPOT_API_BASE_URL=hubspot.base_url,
        **{
            "WORKER_LEASE_SECONDS": "5",
            "WORKER_POLL_SECONDS": "0.1",
            # Every deal has one rep: Google's per-rep pace (9 a second by default) would make
            # the run a measure of the pace (bench.pipeline --quota measures that).
            "GOOGLE_REP_REQUESTS_PER_MINUTE": "0",
            "WEB_CONCURRENCY": "2",
            **extra,
        },
    )


def empty_postgresql(url: str) -> None:
    """Bring the schema of ``url`` up to date and empty every table."""
    engine = make_engine(url)
    upgrade_schema(engine)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def seed_deals(hubspot: HubSpotEmulator, deals: Sequence[int]) -> None:
    """Each deal in Demo Scheduled with a start, owned by ``REP``, with one contact."""
    hubspot.add_owner(OWNER, REP)
    for deal in deals:
        hubspot.add_contact(f"c{deal}", f"buyer{deal}@acme.example", "Bo", "Buyer")
        hubspot.add_deal(
            str(deal),
            {
                "dealname": f"Acme {deal}",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": OWNER,
                "demo_start_time": "2030-01-07T15:00:00Z",
            },
            [f"c{deal}"],
        )


def deliveries(
    deals: Sequence[int], events: int, rng: random.Random, *, redeliveries: int = 0
) -> list[dict[str, Any]]:
    """``events`` distinct notifications (one per deal, then more stage changes of random deals,
    each its own event) and ``redeliveries`` exact repeats of random ones (HubSpot's retries,
    stored once), shuffled."""
    base = [notification(d, event_id=d, occurred_at=1_795_000_000_000 + d) for d in deals]
    more = itertools.count(10**6)
    while len(base) < events:
        base.append(notification(rng.choice(deals), event_id=next(more)))
    repeats = [dict(rng.choice(base), attemptNumber=rng.randint(1, 9)) for _ in range(redeliveries)]
    items = base + repeats
    rng.shuffle(items)
    return items


def post_batches(
    webs: Sequence[Proc], items: Sequence[dict[str, Any]], batch: int = 50, *, pause: float = 0
) -> int:
    """Post ``items`` in signed batches of ``batch``, one ``web`` after another, ``pause``
    seconds apart; the events stored. An answer 503 (the store cannot take the write) is sent again after its
    ``Retry-After`` (at most 1 s here), as HubSpot does; any other answer but 200 fails."""
    stored = 0
    session = requests.Session()
    for n, start in enumerate(range(0, len(items), batch)):
        web = webs[n % len(webs)]
        body = json.dumps(list(items[start : start + batch])).encode()
        uri = f"{web.url}/webhooks/hubspot"
        for _ in range(30):
            response = session.post(
                uri, data=body, headers=hubspot_headers(body, uri, secret=SECRET), timeout=30
            )
            if response.status_code != 503:
                break
            time.sleep(min(1.0, float(response.headers.get("Retry-After", 1))))
        assert response.status_code == 200, response.text
        stored += response.json()["stored"]
        time.sleep(pause)
    return stored


def holders(engine: Engine) -> set[int]:
    """The pids of the worker processes holding an event now (a lease names host:pid/token)."""
    query = text("SELECT DISTINCT lease_owner FROM events WHERE status = 'processing'")
    with engine.connect() as conn:
        owners = conn.execute(query).scalars().all()
    return {int(owner.split("/")[0].rsplit(":", 1)[1]) for owner in owners if owner}


def wait_until_holding(engine: Engine, pid: int, timeout: float = 60) -> bool:
    """Until the worker process ``pid`` holds at least one event; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid in holders(engine):
            return True
        time.sleep(0.02)
    return False


class Fleet:
    """``webs`` ``web`` and ``workers`` ``worker`` processes from the Procfile, in ``workdir``
    (their logs too). A context manager: the webs are ready when it is entered, and every
    process is stopped when it is left."""

    def __init__(self, env: dict[str, str], workdir: Path, *, webs: int, workers: int) -> None:
        self.env = env
        self.workdir = workdir
        self.workers_wanted = workers
        self.webs = [self._start("web", f"web{i}", port=free_port()) for i in range(webs)]
        self.workers: list[Proc] = []
        #: workers SIGKILLed by :meth:`kill_worker`
        self.kills = 0

    def _start(self, kind: str, name: str, port: int | None = None) -> Proc:
        return Proc(kind, self.env, cwd=self.workdir, log=self.workdir / f"{name}.log", port=port)

    def __enter__(self) -> Fleet:
        try:
            for web in self.webs:
                web.wait_ready(timeout=60)
            self.workers = [self._start("worker", f"worker{i}") for i in range(self.workers_wanted)]
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker ``index`` (its whole process group, no goodbye) and start a new one."""
        proc = self.workers[index]
        proc.kill(signal.SIGKILL)
        proc.stop()
        self.kills += 1
        self.workers[index] = self._start("worker", f"worker{index}-{self.kills}")

    def stop(self) -> None:
        for proc in self.workers + self.webs:
            proc.stop()

    def wait_finished(
        self, store: Store, timeout: float, *, also: Callable[[], bool] | None = None
    ) -> None:
        """Until no event is left pending, retrying or processing (and ``also()``, if given, is
        true); AssertionError after ``timeout`` with the store's counts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (also is None or also()) and store.count_unfinished() == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"unfinished after {timeout:.0f} s: {store.status_counts()}")
