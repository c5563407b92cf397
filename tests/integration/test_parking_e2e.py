"""Parking over real sockets: Google's quotaExceeded for one rep parks that rep's events (one
Google call, no more) while another rep's demo is booked; when the park ends, both are booked.

The real HubSpot client and GoogleCalendar run against the emulators; the store and pipeline
clocks are injected, so the 30-minute park passes without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from middleware.pipeline import Pipeline
from middleware.store import Store
from middleware.wiring import pipeline as build_pipeline
from tests.builders import notification, shown
from tests.integration.conftest import REP, Stack

REP_B = "b.rep@seller.example"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def drain(store: Store, pipeline: Pipeline) -> list[Any]:
    """Run every due event, one at a time, until none is due (at the clock's now)."""
    outcomes = []
    while claims := store.claim("e2e", 1, 60):
        outcomes.append(pipeline.run(claims[0]))
    return outcomes


def google_writes(stack: Stack, rep: str) -> list[dict]:
    return [r for r in stack.google.requests if r["subject"] == rep and r["op"] == "insert"]


def test_quota_exceeded_parks_one_rep_and_the_other_is_booked(stack: Stack) -> None:
    clock = Clock()
    stack.store.clock = clock
    pipeline = build_pipeline(stack.settings, stack.store)
    pipeline.clock = clock
    stack.hubspot.add_owner("102", REP_B, "Bea", "Rep")
    stack.deal("601")
    stack.deal("602")
    stack.deal("603", hubspot_owner_id="102")
    stack.google.usage_limited.add(REP)  # rep A's calendar is read-only (403 quotaExceeded)
    stack.deliver(notification(601), notification(602), notification(603))

    outcomes = drain(stack.store, pipeline)
    assert [(o.status, o.parked) for o in outcomes] == [
        ("retrying", True),
        ("retrying", True),
        ("succeeded", False),
    ]
    assert len(google_writes(stack, REP)) == 1  # 602 waited without calling Google
    assert [e["organizer"]["email"] for e in stack.google.events(REP_B)] == [REP_B]
    by_deal = {e["deal_id"]: e for e in stack.events()}
    park_end = clock.now + timedelta(minutes=30)  # retry.quota_park_minutes default
    for deal in ("601", "602"):
        e = by_deal[deal]
        assert (e["status"], e["last_error_reason"]) == ("retrying", "google_quota_exceeded")
        assert e["next_attempt_at"] == f"{park_end:%Y-%m-%dT%H:%M:%S}Z"
        assert e["last_error"].startswith(
            f"parked until {park_end:%Y-%m-%dT%H:%M:%S}Z: Google Calendar usage limits exceeded "
            f"for {REP}"
        )
    assert by_deal["603"]["status"] == "succeeded"
    assert [p["deal_id"] for p in stack.hubspot.patches] == ["603"]

    clock.now += timedelta(minutes=29)
    assert drain(stack.store, pipeline) == []  # still parked
    stack.google.usage_limited.clear()
    clock.now += timedelta(minutes=1)
    assert [o.status for o in drain(stack.store, pipeline)] == ["succeeded", "succeeded"]
    events = {e["deal_id"]: e for e in stack.events()}
    assert {e["status"] for e in events.values()} == {"succeeded"}
    assert len(stack.google.events(REP)) == 2 and len(google_writes(stack, REP)) == 3
    assert sorted(p["deal_id"] for p in stack.hubspot.patches) == ["601", "602", "603"]
    detail = shown(stack.store, events["602"]["id"])
    assert detail is not None
    assert [a["outcome"] for a in detail["attempt_history"]] == ["parked", "succeeded"]
