"""The in-process fakes behave like the real gateways where the pipeline depends on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from middleware.errors import PermanentError, RetryableError
from middleware.meetings import MeetingSpec
from middleware.testing.memory import FakeCalendar, FakeCRM, make_deal

SPEC = MeetingSpec(
    title="t",
    description="d",
    start=datetime(2030, 1, 1, tzinfo=UTC),
    end=datetime(2030, 1, 1, 0, 30, tzinfo=UTC),
    timezone="UTC",
    organizer="rep@x.example",
)


def ensure(cal: FakeCalendar, spec: MeetingSpec = SPEC, event_id: str = "abcde") -> object:
    return cal.ensure_event(
        organizer=spec.organizer,
        calendar_id="primary",
        event_id=event_id,
        spec=spec,
        send_updates="all",
        request_id="r",
    )


def test_calendar_is_idempotent_per_id_and_updates_on_change() -> None:
    cal = FakeCalendar()
    first = ensure(cal)
    assert first.changed == {"created"}  # type: ignore[attr-defined]
    again = ensure(cal)
    assert again == first and again.changed == frozenset() and len(cal.events) == 1  # type: ignore[attr-defined]
    moved = replace(SPEC, start=SPEC.start + timedelta(hours=1), end=SPEC.end + timedelta(hours=1))
    after = ensure(cal, moved)
    assert after.changed == {"start", "end"} and after.writes == 2  # type: ignore[attr-defined]
    ensure(cal, event_id="fghij")
    assert len(cal.events) == 2


def test_calendar_cancel_restore_and_refused_restore() -> None:
    from middleware.errors import RestoreRefused

    cal = FakeCalendar()
    ensure(cal)
    cal.cancel_event(
        organizer=SPEC.organizer, calendar_id="primary", event_id="abcde", send_updates="all"
    )
    assert cal.live() == []
    call = {
        "organizer": SPEC.organizer,
        "calendar_id": "primary",
        "spec": SPEC,
        "send_updates": "all",
        "request_id": "r",
    }
    restored = cal.restore_event(event_id="abcde", **call)
    assert restored.changed == {"status"} and len(cal.live()) == 1  # type: ignore[attr-defined]
    cal.cancel_event(
        organizer=SPEC.organizer, calendar_id="primary", event_id="abcde", send_updates="all"
    )
    cal.refuse_restore.add("abcde")
    with pytest.raises(RestoreRefused):
        cal.restore_event(event_id="abcde", **call)
    with pytest.raises(RestoreRefused):
        cal.restore_event(event_id="never-made", **call)
    cal.zones[SPEC.organizer] = "Europe/Paris"
    assert cal.calendar_time_zone(SPEC.organizer, "primary") == "Europe/Paris"


def test_calendar_injected_errors() -> None:
    cal = FakeCalendar()
    cal.fail_next(RetryableError("google_unavailable", "503"))
    with pytest.raises(RetryableError):
        ensure(cal)
    assert ensure(cal) is not None


def test_crm_write_back_only_when_values_change() -> None:
    crm = FakeCRM()
    crm.add(make_deal("1"))
    deal = crm.fetch_deal("62515", "1")
    assert crm.write_back(deal, meet_url="u", calendar_event_id="e") is True
    assert (
        crm.write_back(crm.fetch_deal("62515", "1"), meet_url="u", calendar_event_id="e") is False
    )
    assert crm.writes == [("1", "u", "e")]
    with pytest.raises(PermanentError):
        crm.fetch_deal("62515", "404")


def test_calendar_fails_for_one_organizer_until_healed() -> None:
    cal = FakeCalendar()
    cal.fail_for("rep@x.example", RetryableError("google_quota_exceeded", "quota"))
    with pytest.raises(RetryableError):
        ensure(cal)
    other = replace(SPEC, organizer="b@x.example")
    assert ensure(cal, other) is not None
    cal.heal("rep@x.example")
    assert ensure(cal) is not None
    assert cal.organizers == ["rep@x.example", "b@x.example", "rep@x.example"]


def test_crm_logs_reads() -> None:
    crm = FakeCRM()
    crm.add(make_deal("1"))
    crm.fetch_deal("62515", "1")
    assert crm.reads == [("62515", "1")]
