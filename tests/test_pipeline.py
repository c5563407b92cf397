"""The pipeline over the real store (SQLite and PostgreSQL) with in-process CRM/Calendar fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from middleware.errors import RetryableError
from middleware.model import NewEvent
from middleware.pipeline import Pipeline
from middleware.rules import RetryRules, Rules
from middleware.store import Store
from middleware.testing.memory import FakeCalendar, FakeCRM, make_deal
from middleware.worker import Worker
from tests.builders import shown


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(store: Store) -> Clock:
    c = Clock()
    store.clock = c
    return c


@pytest.fixture
def crm() -> FakeCRM:
    crm = FakeCRM()
    for i in range(1, 6):
        crm.add(make_deal(str(i)))
    return crm


@pytest.fixture
def calendar() -> FakeCalendar:
    return FakeCalendar()


def make_pipeline(store: Store, crm: FakeCRM, calendar: Any, clock: Any, **retry: Any) -> Pipeline:
    rules = Rules(
        retry=RetryRules(**{"max_attempts": 3, "base_seconds": 2.0, "max_seconds": 60.0, **retry})
    )
    return Pipeline(
        store=store,
        rules=rules,
        crms={"hubspot": crm},
        calendar=calendar,
        clock=clock,
        rand=lambda: 0.5,
    )


def add(store: Store, deal: str, key: str | None = None) -> int:
    [event_id] = store.add_events(
        [
            NewEvent(
                "hubspot",
                "62515",
                deal,
                key or f"k{deal}-{datetime.now().timestamp()}",
                "demoscheduled",
                None,
                {},
            )
        ]
    ).ids
    return event_id


def run_one(store: Store, pipeline: Pipeline) -> Any:
    [claim] = store.claim("w", 1, 60)
    return pipeline.run(claim)


def event(store: Store, event_id: int) -> dict[str, Any]:
    e = shown(store, event_id)
    assert e is not None
    return e


def test_happy_path(store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock) -> None:
    event_id = add(store, "1")
    outcome = run_one(store, make_pipeline(store, crm, calendar, clock))
    assert outcome.status == "succeeded"
    e = event(store, event_id)
    assert e["status"] == "succeeded" and e["last_error"] is None
    assert e["meet_url"].startswith("https://meet.google.com/")
    assert e["calendar_event_id"] and len(calendar.events) == 1
    assert crm.writes == [("1", e["meet_url"], e["calendar_event_id"])]


def test_many_events_for_one_deal_make_one_meeting_and_one_write(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    ids = [add(store, "2", f"dup-{i}") for i in range(5)]
    pipeline = make_pipeline(store, crm, calendar, clock)
    for _ in ids:
        run_one(store, pipeline)
    assert [event(store, i)["status"] for i in ids] == ["succeeded"] * 5
    assert len(calendar.events) == 1
    assert len(calendar.calls) == 1  # later events found the recorded meeting
    assert len(crm.writes) == 1


def test_deal_left_the_stage_is_skipped(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    crm.add(make_deal("3", stage="closedlost", in_trigger_stage=False))
    event_id = add(store, "3")
    run_one(store, make_pipeline(store, crm, calendar, clock))
    e = event(store, event_id)
    assert e["status"] == "skipped"
    assert "closedlost" in e["last_error"] and "neither a trigger nor a cancel" in e["last_error"]
    assert e["last_error_reason"] == "not_in_trigger_stage"
    assert calendar.events == {} and crm.writes == []


def test_transient_fault_retries_with_backoff_then_succeeds(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    event_id = add(store, "1")
    calendar.fail_next(RetryableError("google_unavailable", "Google answered 503", retry_after=30))
    pipeline = make_pipeline(store, crm, calendar, clock)
    outcome = run_one(store, pipeline)
    assert outcome.status == "retrying"
    assert outcome.retry_at == clock.now + timedelta(seconds=30)  # Retry-After beats 1.5 s backoff
    assert event(store, event_id)["last_error_reason"] == "google_unavailable"
    assert store.claim("w", 1, 60) == []  # not due yet
    clock.now += timedelta(seconds=30)
    assert run_one(store, pipeline).status == "succeeded"
    e = event(store, event_id)
    assert e["attempts"] == 2 and [a["outcome"] for a in e["attempt_history"]] == [
        "retrying",
        "succeeded",
    ]


def test_retry_budget_then_failed(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    event_id = add(store, "1")
    crm.errors.extend(RetryableError("crm_unavailable", "HubSpot answered 502") for _ in range(5))
    pipeline = make_pipeline(store, crm, calendar, clock)
    statuses = []
    for _ in range(3):
        statuses.append(run_one(store, pipeline).status)
        clock.now += timedelta(minutes=5)
    assert statuses == ["retrying", "retrying", "failed"]
    e = event(store, event_id)
    assert (
        e["status"] == "failed"
        and e["last_error"] == "gave up after 3 attempts: HubSpot answered 502"
    )


def test_permanent_fault_fails_at_once(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    crm.add(make_deal("4", start_value="next tuesday"))
    event_id = add(store, "4")
    assert run_one(store, make_pipeline(store, crm, calendar, clock)).status == "failed"
    e = event(store, event_id)
    assert e["last_error_reason"] == "bad_start"
    assert "'next tuesday' is not an ISO 8601" in e["last_error"]
    assert e["attempts"] == 1 and calendar.calls == []


def test_crash_after_calendar_before_write_back(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    event_id = add(store, "1")
    crm.write_errors.append(RetryableError("crm_rate_limited", "429", retry_after=1))
    pipeline = make_pipeline(store, crm, calendar, clock)
    assert run_one(store, pipeline).status == "retrying"
    recorded = event(store, event_id)
    assert recorded["meet_url"] and crm.writes == []  # the link is kept before the CRM write
    clock.now += timedelta(seconds=5)
    assert run_one(store, pipeline).status == "succeeded"
    assert len(calendar.events) == 1 and len(calendar.calls) == 1
    assert crm.writes == [("1", recorded["meet_url"], recorded["calendar_event_id"])]


def test_new_demo_time_moves_the_same_event(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock)
    add(store, "1", "first")
    run_one(store, pipeline)
    crm.add(replace(crm.deals["1"], start_value="2030-02-01T09:00:00Z"))
    add(store, "1", "second")
    run_one(store, pipeline)
    [meeting] = calendar.events.values()
    assert meeting.spec.start == datetime(2030, 2, 1, 9, tzinfo=UTC) and meeting.writes == 2
    assert len(crm.writes) == 1  # same link, same event id: nothing new to write


def test_forced_replay_checks_google_again(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock)
    event_id = add(store, "1")
    run_one(store, pipeline)
    from middleware import operations

    assert operations.replay_event(store, event_id, actor="test", force=True).status == "pending"
    run_one(store, pipeline)
    assert len(calendar.calls) == 2 and len(calendar.events) == 1
    assert event(store, event_id)["status"] == "succeeded"


def test_missing_configuration_fails_with_the_setting(
    store: Store, crm: FakeCRM, clock: Clock
) -> None:
    from middleware.wiring import NotConfiguredCalendar

    pipeline = make_pipeline(store, crm, NotConfiguredCalendar(), clock)
    event_id = add(store, "1")
    run_one(store, pipeline)
    e = event(store, event_id)
    assert (e["status"], e["last_error_reason"]) == ("failed", "not_configured")
    assert "GOOGLE_SERVICE_ACCOUNT_FILE" in e["last_error"]


def test_unexpected_error_is_retried_not_lost(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    calendar.fail_next(ZeroDivisionError("boom"))  # type: ignore[arg-type]
    event_id = add(store, "1")
    assert run_one(store, make_pipeline(store, crm, calendar, clock)).status == "retrying"
    assert event(store, event_id)["last_error_reason"] == "internal_error"


def test_owner_change_moves_the_meeting_to_the_new_owner(
    store: Store, crm: FakeCRM, calendar: FakeCalendar, clock: Clock
) -> None:
    pipeline = make_pipeline(store, crm, calendar, clock)
    add(store, "1", "a")
    run_one(store, pipeline)
    crm.add(replace(crm.deals["1"], owner_email="new-rep@seller.example"))
    second = add(store, "1", "b")
    run_one(store, pipeline)
    [meeting] = calendar.live()
    assert meeting.organizer == "new-rep@seller.example"
    assert event(store, second)["action"] == "reassigned"
    assert crm.deals["1"].current_event_id == meeting.event_id


def test_worker_runs_events_concurrently_to_the_end(
    store: Store, crm: FakeCRM, calendar: FakeCalendar
) -> None:
    for i in range(1, 6):
        for j in range(3):
            add(store, str(i), f"w{i}-{j}")
    calendar.fail_next(RetryableError("google_unavailable", "503"))
    pipeline = make_pipeline(store, crm, calendar, store.clock, base_seconds=0.05)
    Worker(store, pipeline, concurrency=4, poll_seconds=0.05, lease_seconds=30).run_until_done(
        timeout=60
    )
    assert store.status_counts()["succeeded"] == 15
    assert len(calendar.events) == 5 and len(crm.writes) == 5
