"""On PostgreSQL every transaction that writes both an event's row and its deal's row locks the
event first (claim, renew, finish, and recording the meeting), so two of them never deadlock.

The load with faults found one that did not: recording the meeting locked the deal, then the
event, while the worker's heartbeat renewed the same claim the other way round; PostgreSQL
aborted one of them (``deadlock_detected``) and the attempt was retried as an internal error.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import text

from middleware.database import make_engine, upgrade_schema
from middleware.model import NewEvent
from middleware.store import Store
from tests.integration.fleet import empty_postgresql


def test_recording_a_meeting_waits_for_a_renewal_instead_of_deadlocking(
    pg_database_url: str,
) -> None:
    empty_postgresql(pg_database_url)
    engine = make_engine(pg_database_url)
    upgrade_schema(engine)
    store = Store(engine)
    store.add_events(
        [
            NewEvent(
                provider="hubspot",
                account_id="62515",
                deal_id="7",
                dedupe_key="k-7",
                trigger="demoscheduled",
                occurred_at=datetime(2026, 11, 25, 11, 0, tzinfo=UTC),
                payload={"objectId": 7},
            )
        ]
    )
    [claim] = store.claim("w1", 1, 60)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            store.record_meeting(
                claim,
                calendar_id="primary",
                calendar_event_id="ev7",
                organizer="rep@seller.example",
                meet_url="https://meet.google.com/abc-defg-hij",
                spec_fingerprint="f",
            )
        except BaseException as exc:
            errors.append(exc)

    with engine.connect() as renewal:
        # The heartbeat's renew, held open between its two statements: the event's row first…
        renewal.execute(
            text("UPDATE events SET lease_expires_at = now() + interval '60 s' WHERE id = :id"),
            {"id": claim.event_id},
        )
        recorder = threading.Thread(target=record)
        recorder.start()
        time.sleep(0.5)  # recording now waits for the event's row
        # …then the deal's: with the deal locked first by the recording, this is a deadlock.
        try:
            renewal.execute(
                text(
                    "UPDATE deals SET lease_expires_at = now() + interval '60 s' "
                    "WHERE lease_owner = :token"
                ),
                {"token": claim.token},
            )
            renewal.commit()
        except BaseException as exc:
            errors.append(exc)
        recorder.join(10)
    assert errors == []
    assert (
        store.deal_record("hubspot", "62515", "7").meet_url
        == "https://meet.google.com/abc-defg-hij"
    )
    engine.dispose()
