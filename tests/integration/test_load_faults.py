"""Load with faults, the CI size of ``python -m bench.load_faults``: 600 events over 100 deals
through 2 ``web`` and 3 ``worker`` processes on PostgreSQL, while Google fails 20 % of its
calls at random and a worker holding events is SIGKILLed every 3 s: every event succeeds, no
deal has a second Calendar event or write-back, and every retry is explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load_faults import run
from tests.integration.fleet import empty_postgresql


@pytest.mark.timeout(300)
def test_load_with_google_faults_and_killed_workers(pg_database_url: str, tmp_path: Path) -> None:
    empty_postgresql(pg_database_url)
    report = run(pg_database_url, tmp_path, events=600, deals=100, kill_every=3.0, timeout=240)
    found = report.audit
    assert found.problems() == []
    assert (report.events, found.lost, found.duplicates) == (600, 0, 0)
    assert report.notifications == 630  # 5 % redeliveries, stored once
    # The faults happened, and each retry says which one it was.
    assert report.kills >= 2 and found.retries["lease_expired"] >= 1, (report.kills, found.retries)
    injected = sum(report.faults.values())
    assert 0.1 * report.google_calls <= injected <= 0.3 * report.google_calls, report.faults
    assert found.retries["google_unavailable"] + found.retries["google_rate_limited"] >= 10
    assert set(found.retries) <= {
        "lease_expired",
        "google_unavailable",
        "google_rate_limited",
        "google_token_unavailable",
    }, found.retries  # an internal_error or a store fault would be a bug found
