"""The queue's statements find their rows through indexes, so that claiming, renewing and
finishing cost the same with a million stored events as with ten (``bench.growth`` measures
it). SQLite's ``EXPLAIN QUERY PLAN`` of every statement the worker's store calls make, with
their real parameters, must show no full scan of a table that grows with the events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from middleware.model import NewEvent
from middleware.store import Store

#: tables that grow with the stored events (``workers`` and ``paces`` hold a row per process)
GROWING = ("events", "deals", "attempts")


@pytest.fixture
def statements(sqlite_store: Store) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
            seen.append((statement, params))

    event.listen(sqlite_store.engine, "before_cursor_execute", capture)
    yield seen
    event.remove(sqlite_store.engine, "before_cursor_execute", capture)


def _scans(store: Store, statements: list[tuple[str, Any]]) -> list[str]:
    found = []
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for statement, params in statements:
            for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall():
                detail = str(row[-1])
                if any(detail.startswith(f"SCAN {table}") for table in GROWING):
                    found.append(f"{detail}  <-  {' '.join(statement.split())[:160]}")
    return found


def test_claim_renew_ledger_and_finish_scan_no_growing_table(
    sqlite_store: Store, statements: list[tuple[str, Any]]
) -> None:
    sqlite_store.add_events(
        [NewEvent("hubspot", "62515", str(d), f"k{d}", "demoscheduled", None, {}) for d in (1, 2)]
    )
    statements.clear()  # intake is measured by bench.ingest; here the worker's part
    first, second = sqlite_store.claim("w1", 2, 60)
    assert sqlite_store.renew([first, second], 60) == set()
    # the deal ledger's writes while a meeting is made and cancelled
    ledger = {"calendar_id": "rep@x.example", "calendar_event_id": "mw1", "organizer": "r"}
    sqlite_store.record_intent(first, **ledger, series=0)
    sqlite_store.record_meeting(
        first, **ledger, meet_url="https://meet.google.com/a", spec_fingerprint="f"
    )
    sqlite_store.record_cancelled(first)
    assert sqlite_store.deal_record("hubspot", "62515", first.deal_id).state == "cancelled"
    assert sqlite_store.finish(first, "succeeded", action="booked")
    assert sqlite_store.finish(second, "retrying", reason="google_unavailable", message="5xx")
    assert statements, "the store calls were captured"
    assert _scans(sqlite_store, statements) == []
