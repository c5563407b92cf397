"""Several web and worker processes (started as the Procfile says) on one store, with a worker
SIGKILLed and restarted while they work: every deal gets exactly one Calendar event and one
write-back, nothing is left unfinished, and every retry is explained (CONTRACT.md guarantees)."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from middleware.database import make_engine, upgrade_schema
from middleware.meetings import calendar_event_id
from middleware.schema import metadata
from middleware.store import EventFilter, Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import SECRET, hubspot_headers, notification, shown, shown_page
from tests.integration.conftest import REP, emulator_env
from tests.procs import Proc, free_port


def _seed(hubspot: HubSpotEmulator, deals: list[int]) -> None:
    for deal in deals:
        hubspot.add_contact(f"c{deal}", f"buyer{deal}@acme.example", "Bo", "Buyer")
        hubspot.add_deal(
            str(deal),
            {
                "dealname": f"Acme {deal}",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": "2030-01-07T15:00:00Z",
            },
            [f"c{deal}"],
        )


def _deliveries(deals: list[int], total: int, rng: random.Random) -> list[dict[str, Any]]:
    """One notification per deal, plus exact redeliveries and new-event-id duplicates up to ``total``."""
    base = [notification(d, event_id=d, occurred_at=1_795_000_000_000 + d) for d in deals]
    extra: list[dict[str, Any]] = []
    while len(base) + len(extra) < total:
        original = rng.choice(base)
        if rng.random() < 0.5:
            extra.append(dict(original, attemptNumber=rng.randint(1, 9)))  # HubSpot redelivery
        else:  # a second stage change for the same deal, its own event
            extra.append(notification(original["objectId"], event_id=rng.randint(10**6, 10**9)))
    items = base + extra
    rng.shuffle(items)
    return items


def _wait_until_holding(engine: Any, pid: int, timeout: float = 60) -> None:
    """Until the worker process ``pid`` holds at least one event (its leases name host:pid)."""
    query = text(
        "SELECT count(*) FROM events WHERE status = 'processing' AND lease_owner LIKE :owner"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query, {"owner": f"%:{pid}/%"}).scalar_one():
                return
        time.sleep(0.02)
    raise AssertionError(f"worker {pid} never held an event")


def _post_batches(webs: list[Proc], items: list[dict[str, Any]], batch: int = 50) -> int:
    stored = 0
    session = requests.Session()
    for n, start in enumerate(range(0, len(items), batch)):
        web = webs[n % len(webs)]
        body = json.dumps(items[start : start + batch]).encode()
        uri = f"{web.url}/webhooks/hubspot"
        response = session.post(
            uri, data=body, headers=hubspot_headers(body, uri, secret=SECRET), timeout=30
        )
        assert response.status_code == 200, response.text
        stored += response.json()["stored"]
    return stored


def _run_scenario(
    database_url: str,
    tmp_path: Path,
    make_env: Any,
    *,
    deals: int,
    events: int,
    webs: int,
    workers: int,
    kills: int,
) -> None:
    rng = random.Random(5)
    deal_ids = list(range(10_000, 10_000 + deals))
    with GoogleEmulator() as google, HubSpotEmulator() as hubspot:
        hubspot.add_owner("101", REP)
        _seed(hubspot, deal_ids)
        # Slow Google down a little so that work is still in flight when a worker is killed.
        google.inject_delay("insert", 0.2, times=deals)
        env = emulator_env(
            make_env,
            google,
            hubspot,
            tmp_path,
            DATABASE_URL=database_url,
            WORKER_LEASE_SECONDS="5",
            WORKER_POLL_SECONDS="0.1",
            WEB_CONCURRENCY="2",
        )
        engine = make_engine(database_url)
        store = Store(engine)
        web_procs = [
            Proc("web", env, cwd=tmp_path, log=tmp_path / f"web{i}.log", port=free_port())
            for i in range(webs)
        ]
        worker_procs: list[Proc] = []
        try:
            for web in web_procs:
                web.wait_ready()
            worker_procs = [
                Proc("worker", env, cwd=tmp_path, log=tmp_path / f"worker{i}.log")
                for i in range(workers)
            ]
            items = _deliveries(deal_ids, events, rng)
            stored = _post_batches(web_procs, items)
            for k in range(kills):
                # Kill worker 0 while it holds events, then restart it.
                _wait_until_holding(engine, worker_procs[0].popen.pid)
                worker_procs[0].kill(signal.SIGKILL)
                worker_procs[0].stop()
                worker_procs[0] = Proc(
                    "worker", env, cwd=tmp_path, log=tmp_path / f"worker0-{k}.log"
                )
            deadline = time.monotonic() + 180
            while store.count_unfinished() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert store.count_unfinished() == 0, store.status_counts()
        finally:
            for proc in worker_procs + web_procs:
                proc.stop()

        counts = store.status_counts()
        assert counts["succeeded"] == stored and counts["failed"] == 0, counts
        # Exactly one Calendar event per deal, with the deterministic id.
        gevents = google.events(REP)
        assert len(gevents) == deals
        expected = {calendar_event_id("hubspot", "62515", str(d)): str(d) for d in deal_ids}
        assert {e["id"] for e in gevents} == set(expected)
        meet = {
            expected[e["id"]]: next(
                p["uri"]
                for p in e["conferenceData"]["entryPoints"]
                if p["entryPointType"] == "video"
            )
            for e in gevents
        }
        # Exactly one PATCH per deal, carrying its final link.
        patched = [p["deal_id"] for p in hubspot.patches]
        assert sorted(patched) == sorted(str(d) for d in deal_ids)
        for p in hubspot.patches:
            assert p["properties"]["demo_meet_url"] == meet[p["deal_id"]]
        # Every attempt but the last of each event says why it was not the last.
        page, cursor = shown_page(store, EventFilter(), limit=500)
        retried = 0
        while True:
            for event in page:
                if event["attempts"] > 1:
                    retried += 1
                    detail = shown(store, event["id"])
                    assert detail is not None
                    history = detail["attempt_history"]
                    assert history[-1]["outcome"] == "succeeded"
                    for attempt in history[:-1]:
                        assert attempt["outcome"] in ("abandoned", "retrying", "released"), attempt
                        assert attempt["error_reason"] or attempt["outcome"] == "released", attempt
            if cursor is None:
                break
            page, cursor = shown_page(store, EventFilter(), limit=500, before_id=cursor)
        if kills:
            assert retried >= 1  # the killed worker's events were taken over, and it shows
        engine.dispose()


@pytest.mark.timeout(600)
def test_many_processes_on_postgresql(pg_database_url: str, tmp_path: Path, make_env: Any) -> None:
    engine = make_engine(pg_database_url)
    upgrade_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"TRUNCATE {', '.join(t.name for t in metadata.sorted_tables)} RESTART IDENTITY CASCADE"
            )
        )
    engine.dispose()
    _run_scenario(
        pg_database_url, tmp_path, make_env, deals=300, events=1000, webs=2, workers=3, kills=3
    )


@pytest.mark.timeout(600)
def test_several_processes_on_sqlite(tmp_path: Path, make_env: Any) -> None:
    _run_scenario(
        f"sqlite:///{tmp_path}/scale.db",
        tmp_path,
        make_env,
        deals=60,
        events=200,
        webs=1,
        workers=2,
        kills=2,
    )
