"""Several web and worker processes (started as the Procfile says) on one store, with a worker
SIGKILLed and restarted while they work: every deal gets exactly one Calendar event and one
write-back, nothing is left unfinished, and every retry is explained (CONTRACT.md guarantees)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from middleware.database import make_engine
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.integration.fleet import (
    Fleet,
    deliveries,
    empty_postgresql,
    fleet_env,
    post_batches,
    seed_deals,
    wait_until_holding,
)
from tests.integration.fleet_audit import audit


def _run_scenario(
    database_url: str,
    tmp_path: Path,
    *,
    deals: int,
    events: int,
    redeliveries: int,
    webs: int,
    workers: int,
    kills: int,
) -> None:
    rng = random.Random(5)
    deal_ids = list(range(10_000, 10_000 + deals))
    with GoogleEmulator() as google, HubSpotEmulator() as hubspot:
        seed_deals(hubspot, deal_ids)
        # Slow Google down a little so that work is still in flight when a worker is killed.
        google.inject_delay("insert", 0.2, times=deals)
        engine = make_engine(database_url)
        store = Store(engine)
        env = fleet_env(google, hubspot, tmp_path, database_url)
        with Fleet(env, tmp_path, webs=webs, workers=workers) as fleet:
            items = deliveries(deal_ids, events, rng, redeliveries=redeliveries)
            accepted = post_batches(fleet.webs, items)
            for _ in range(kills):
                # Kill worker 0 while it holds events; a new one starts in its place.
                assert wait_until_holding(engine, fleet.workers[0].popen.pid), "never held"
                fleet.kill_worker(0)
            fleet.wait_finished(store, 180)
        found = audit(store, google, hubspot, deal_ids, accepted)
        assert found.problems() == []
        assert accepted == events and found.duplicates == 0
        if kills:  # the killed worker's events were taken over, and it shows
            assert found.retries["lease_expired"] >= 1, found.retries
        engine.dispose()


@pytest.mark.timeout(600)
def test_many_processes_on_postgresql(pg_database_url: str, tmp_path: Path) -> None:
    empty_postgresql(pg_database_url)
    _run_scenario(
        pg_database_url,
        tmp_path,
        deals=300,
        events=650,
        redeliveries=350,
        webs=2,
        workers=3,
        kills=3,
    )


@pytest.mark.timeout(600)
def test_several_processes_on_sqlite(tmp_path: Path) -> None:
    _run_scenario(
        f"sqlite:///{tmp_path}/scale.db",
        tmp_path,
        deals=60,
        events=130,
        redeliveries=70,
        webs=1,
        workers=2,
        kills=2,
    )
