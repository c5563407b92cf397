"""The benchmarks run (smoke mode): each prints its table with a same-run baseline.

Nothing here judges a figure; the table's numbers go to BENCHMARKS.md from full runs.
"""

from __future__ import annotations

import subprocess
import sys

from tests.builders import REPO


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _rows(table: str) -> list[list[str]]:
    lines = [ln for ln in table.splitlines() if ln.startswith("| ") and "---" not in ln]
    return [[cell.strip() for cell in ln.strip("|").split("|")] for ln in lines[1:]]


def test_ingest_smoke_prints_both_sides_and_stores_what_it_was_sent() -> None:
    out = _run("bench.ingest", "--smoke", "--store", "sqlite")
    assert "### Ingest" in out
    rows = _rows(out)
    assert [r[1] for r in rows] == ["1", "100"]
    for row in rows:
        errors, stored = row[10], row[11]
        assert errors == "0/0", row
        ours, base = (int(n.replace(",", "")) for n in stored.split("/"))
        assert ours > 0 and base > 0, row


def test_pipeline_smoke_books_every_event_at_each_concurrency() -> None:
    out = _run("bench.pipeline", "--smoke", "--concurrency", "1", "4")
    assert "### Pipeline" in out
    rows = _rows(out)
    assert [r[0] for r in rows] == ["1", "4"]
    for row in rows:
        events_per_second, bound, ratio = (float(v.replace(",", "")) for v in row[2:5])
        assert events_per_second > 0 and bound > 0 and ratio > 0
        # the deal (its contacts embedded), the contacts and the write-back: the CRM saw each event
        assert float(row[8]) >= 3


def test_growth_smoke_times_intake_and_claim_at_each_size() -> None:
    out = _run("bench.growth", "--smoke", "--store", "sqlite")
    rows = _rows(out)
    assert [r[1] for r in rows] == ["1,000", "10,000"]
    for row in rows:
        assert all(float(v.replace(",", "")) > 0 for v in row[2:])


def test_pickup_smoke_measures_both_workers() -> None:
    rows = _rows(_run("bench.pickup", "--smoke", "--store", "sqlite"))
    assert len(rows) == 1 and rows[0][1] == "20"  # every event was started
    assert all(float(v.replace(",", "")) > 0 for v in rows[0][2:6])


def test_takeover_smoke_measures_both_rules() -> None:
    [row] = _rows(_run("bench.takeover", "--smoke"))
    ours, base = (float(v) for v in row[:2])
    assert ours > 0 and base > 0  # both workers' events were finished by the other
