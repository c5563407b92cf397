"""PostgreSQL connections terminated mid-run (``pg_terminate_backend``, what a failover, a
restarted pooler or an operator's kill does) while ``web`` and ``worker`` processes work: every
accepted event still ends ``succeeded``, with one Calendar event and one write-back per deal,
every retry explained, and no process dies of it."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from middleware.database import make_engine
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.integration.fleet import (
    Fleet,
    audit,
    deliveries,
    empty_postgresql,
    fleet_env,
    post_batches,
    seed_deals,
)

TERMINATE_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def _terminate(engine, store: Store, times: int, every: float, killed: list[int]) -> None:
    """Once work is under way, terminate every other backend of the database ``times`` times,
    ``every`` seconds apart; the number terminated each time goes to ``killed``."""
    while store.status_counts()["succeeded"] == 0:
        time.sleep(0.05)
    for _ in range(times):
        with engine.connect() as conn:
            killed.append(int(conn.execute(TERMINATE_OTHERS).scalar_one()))
        time.sleep(every)


@pytest.mark.timeout(300)
def test_terminated_connections_lose_nothing_and_double_nothing(
    pg_database_url: str, tmp_path: Path
) -> None:
    empty_postgresql(pg_database_url)
    deal_ids = list(range(30_000, 30_100))
    items = deliveries(deal_ids, 400, random.Random(3), redeliveries=20)
    engine = make_engine(pg_database_url)
    store = Store(engine)
    with GoogleEmulator() as google, HubSpotEmulator() as hubspot:
        seed_deals(hubspot, deal_ids)
        # Keep work in flight: each booking takes a little while at Google.
        google.inject_delay("insert", 0.15, times=len(deal_ids))
        env = fleet_env(google, hubspot, tmp_path, pg_database_url)
        killed: list[int] = []
        with Fleet(env, tmp_path, webs=1, workers=2) as fleet:
            terminator = threading.Thread(
                target=_terminate, args=(engine, store, 8, 0.6, killed), daemon=True
            )
            terminator.start()
            # Half at once, half trickled in while connections are terminated (a 503 is sent
            # again, as HubSpot does).
            accepted = post_batches(fleet.webs, items[:200])
            accepted += post_batches(fleet.webs, items[200:], batch=10, pause=0.2)
            fleet.wait_finished(store, 180, also=lambda: not terminator.is_alive())
            alive = [p.popen.poll() is None for p in fleet.workers + fleet.webs]
            logs = "".join(p.output() for p in fleet.workers)
        found = audit(store, google, hubspot, deal_ids, accepted)
    engine.dispose()
    assert len(killed) == 8 and sum(killed) >= 8, killed  # the workers' connections, each time
    assert all(alive), "a process died of a terminated connection"
    assert found.problems() == []
    # Each of the 400 events stored once (a webhook answered 503 after its commit went through
    # is a duplicate when sent again, so the answers may count fewer).
    assert found.stored == 400 and accepted <= 400 and found.duplicates == 0
    # A connection lost mid-attempt is retried as what it is, never as a bug with a traceback.
    assert "internal_error" not in found.retries, found.retries
    assert "unexpected error" not in logs
    # An outcome whose first write met a terminated connection is written on the next one.
    assert "cannot record the outcome yet" in logs
    assert "outcome not recorded (" not in logs  # the worker's words when it gave up
