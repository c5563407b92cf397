"""Parking in the pipeline (SQLite and PostgreSQL, in-process fakes): an account- or rep-wide
wait parks every event of its scope without spending attempts or calling the remote side."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from middleware.errors import RetryableError
from middleware.model import NewEvent
from middleware.store import Store
from middleware.testing.memory import FakeCalendar, FakeCRM, make_deal
from tests.test_pipeline import Clock, add, calendar, clock, crm, event, make_pipeline, run_one

__all__ = ["calendar", "clock", "crm"]  # fixtures

REP_A = "rep@seller.example"  # make_deal's owner
REP_B = "b.rep@seller.example"


def daily_limit(seconds: float = 3600) -> RetryableError:
    return RetryableError(
        "crm_daily_limit",
        "HubSpot's daily API limit of account 62515 is used up",
        retry_after=seconds,
        park_scope="hubspot:62515",
    )


def quota(rep: str = REP_A, seconds: float = 1800) -> RetryableError:
    return RetryableError(
        "google_quota_exceeded",
        f"Google Calendar usage limits exceeded for {rep}",
        retry_after=seconds,
        park_scope=f"google:{rep}",
    )


def add_for_account(store: Store, account: str, deal: str) -> int:
    [event_id] = store.add_events(
        [NewEvent("hubspot", account, deal, f"{account}-{deal}", "demoscheduled", None, {})]
    ).ids
    return event_id


def test_parked_crm_error_spends_no_attempts(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock, max_attempts=10)
    event_id = add(store, "1")
    for _ in range(15):
        crm.errors.append(daily_limit())
        outcome = run_one(store, pipeline)
        assert (outcome.status, outcome.parked) == ("retrying", True)
        assert outcome.retry_at == clock.now + timedelta(hours=1)  # exactly Retry-After
        assert store.claim("w", 1, 60) == []  # waits for the park's end
        clock.now = outcome.retry_at
    e = event(store, event_id)
    assert e["status"] == "retrying" and e["attempts"] == 15
    assert e["last_error"].startswith("parked until ") and "daily API limit" in e["last_error"]
    assert {a["outcome"] for a in e["attempt_history"]} == {"parked"}
    assert run_one(store, pipeline).status == "succeeded"  # the park is over
    assert calendar.calls and crm.writes


def test_a_park_longer_than_any_backoff_is_kept(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    crm.errors.append(daily_limit(seconds=86_400))  # 477: Retry-After of a day
    add(store, "1")
    outcome = run_one(store, make_pipeline(store, crm, calendar, clock, max_seconds=60.0))
    assert outcome.retry_at == clock.now + timedelta(days=1)


def test_parked_account_waits_without_calling_the_crm_other_accounts_go_on(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock)
    first = add(store, "1")
    crm.errors.append(daily_limit())
    assert run_one(store, pipeline).parked
    second = add(store, "2")
    other = add_for_account(store, "777", "3")
    reads_before = len(crm.reads)
    assert run_one(store, pipeline).parked  # deal 2: parked by the account's park
    assert run_one(store, pipeline).status == "succeeded"  # account 777 is not parked
    assert crm.reads[reads_before:] == [("777", "3")]  # no CRM call for account 62515
    e = event(store, second)
    assert e["status"] == "retrying" and e["last_error_reason"] == "crm_daily_limit"
    assert e["next_attempt_at"] == event(store, first)["next_attempt_at"] == "2026-11-25T13:00:00Z"
    assert e["last_error"] == (
        "parked until 2026-11-25T13:00:00Z: HubSpot's daily API limit of account 62515 is used up"
    )
    assert event(store, other)["status"] == "succeeded"
    clock.now += timedelta(hours=1)
    assert [run_one(store, pipeline).status for _ in range(2)] == ["succeeded", "succeeded"]
    assert event(store, first)["attempts"] == event(store, second)["attempts"] == 2


def test_quota_of_rep_a_parks_a_without_calling_google_while_b_is_booked(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    crm.add(make_deal("6", owner_email=REP_B))
    pipeline = make_pipeline(store, crm, calendar, clock, max_attempts=2)
    calendar.fail_for(REP_A, quota())
    a1 = add(store, "1")
    assert run_one(store, pipeline).parked
    assert calendar.organizers == [REP_A]
    a2, b = add(store, "2"), add(store, "6")
    statuses = [run_one(store, pipeline).status for _ in range(2)]
    assert statuses == ["retrying", "succeeded"]
    assert calendar.organizers == [REP_A, REP_B]  # no second call as rep A
    assert event(store, b)["status"] == "succeeded"
    for event_id in (a1, a2):
        e = event(store, event_id)
        assert (e["status"], e["last_error_reason"]) == ("retrying", "google_quota_exceeded")
        assert e["last_error"].startswith("parked until 2026-11-25T12:30:00Z: Google Calendar")
    # Rep A stays read-only past the park: parked again, still no attempt spent (max 2).
    clock.now += timedelta(minutes=30)
    assert [run_one(store, pipeline).parked for _ in range(2)] == [True, True]
    assert calendar.organizers.count(REP_A) == 2  # one call, then the new park held the other
    calendar.heal(REP_A)
    clock.now += timedelta(minutes=30)
    assert [run_one(store, pipeline).status for _ in range(2)] == ["succeeded", "succeeded"]
    assert {event(store, i)["status"] for i in (a1, a2, b)} == {"succeeded"}
    assert len(crm.writes) == 3


def test_project_wide_daily_limit_parks_every_rep(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    crm.add(make_deal("6", owner_email=REP_B))
    pipeline = make_pipeline(store, crm, calendar, clock)
    calendar.fail_next(
        RetryableError("google_quota_exceeded", "daily limit", retry_after=600, park_scope="google")
    )
    add(store, "1")
    assert run_one(store, pipeline).parked
    add(store, "6")
    outcome: Any = run_one(store, pipeline)
    assert outcome.parked and outcome.retry_at == clock.now + timedelta(minutes=10)
    assert len(calendar.calls) == 1


def test_known_meeting_needs_no_google_so_a_rep_park_does_not_hold_it(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock)
    add(store, "1", "first")
    assert run_one(store, pipeline).status == "succeeded"
    store.park(f"google:{REP_A}", clock.now + timedelta(hours=1), reason="q", message="m")
    add(store, "1", "again")  # a redelivery-like second event of the same deal
    assert run_one(store, pipeline).status == "succeeded"
    assert len(calendar.calls) == 1


def test_ordinary_faults_still_use_the_budget(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock, max_attempts=2)
    calendar.fail_next(
        quota(),
        RetryableError("google_unavailable", "503"),
        RetryableError("google_unavailable", "503"),
    )
    add(store, "1")
    statuses = []
    for _ in range(3):
        outcome = run_one(store, pipeline)
        statuses.append("parked" if outcome.parked else outcome.status)
        clock.now = max(clock.now, outcome.retry_at or clock.now) + timedelta(minutes=1)
    assert statuses == ["parked", "retrying", "failed"]
