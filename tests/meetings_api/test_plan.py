"""A stored meeting as the lifecycle's deal and Calendar spec (pure), and what a spec with
recurrence makes Google do (event bodies, reconcile, instance ids)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from middleware.google.events import reconcile, spec_fields
from middleware.google.instances import instance_id, instance_patch
from middleware.meetings import MeetingRules, OccurrenceChange, plan_meeting
from middleware.meetings_api.plan import meeting_deal, meeting_spec
from middleware.store import MeetingRecord
from middleware.testing.memory import make_deal

NOW = datetime(2029, 12, 1, tzinfo=UTC)


def record(**overrides: object) -> MeetingRecord:
    values: dict = {
        "id": "mtg_1",
        "organizer": "rep@seller.example",
        "attendees": ("Guest@Buyer.example", "rep@seller.example", "guest@buyer.example"),
        "title": "Weekly",
        "description": "",
        "start": datetime(2030, 1, 7, 9, tzinfo=UTC),
        "duration_minutes": 30,
        "timezone": "Europe/Berlin",
        "recurrence": "RRULE:FREQ=WEEKLY;COUNT=4",
        "occurrences": (
            OccurrenceChange(
                datetime(2030, 1, 14, 9, tzinfo=UTC),
                datetime(2030, 1, 15, 15, tzinfo=UTC),
                datetime(2030, 1, 15, 15, 30, tzinfo=UTC),
            ),
        ),
        "send_updates": "none",
        "state": "live",
        "version": 1,
        "meet_url": None,
        "calendar_event_id": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return MeetingRecord(**values)


def test_a_live_meeting_is_a_deal_in_a_trigger_stage_with_its_own_spec() -> None:
    deal = meeting_deal(record())
    assert deal.in_trigger_stage and not deal.in_cancel_stage
    assert deal.provider == "api" and deal.owner_email == "rep@seller.example"
    assert deal.send_updates == "none"
    spec = deal.meeting
    assert spec is not None
    assert spec.start.isoformat() == "2030-01-07T10:00:00+01:00"
    assert spec.end.isoformat() == "2030-01-07T10:30:00+01:00"
    assert spec.attendees == ("guest@buyer.example",)
    assert spec.recurrence == ("RRULE:FREQ=WEEKLY;COUNT=4",)
    assert spec.occurrences[0].start is not None
    assert spec.occurrences[0].start.isoformat() == "2030-01-15T16:00:00+01:00"
    assert meeting_deal(record(state="cancelled")).in_cancel_stage


def test_the_event_body_carries_the_rule_and_reconcile_patches_a_new_one() -> None:
    spec = meeting_spec(record())
    body = spec_fields(spec)
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    assert body["start"]["timeZone"] == "Europe/Berlin"
    event = {**body, "status": "confirmed", "hangoutLink": "https://meet.google.com/x"}
    assert reconcile(event, spec, organizer=spec.organizer, request_id="r") == {}
    longer = meeting_spec(record(recurrence="RRULE:FREQ=WEEKLY;COUNT=6"))
    patch = reconcile(event, longer, organizer=spec.organizer, request_id="r")
    assert patch == {"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6"]}


def test_a_demo_spec_keeps_its_fingerprint_and_body() -> None:
    """Specs without recurrence hash and look as before, so booked demos are not patched."""
    spec = plan_meeting(make_deal(), MeetingRules())
    assert "recurrence" not in spec_fields(spec)
    before = "|".join(  # the fingerprint as it was before specs could recur
        [
            spec.title,
            spec.description,
            spec.start.isoformat(),
            spec.end.isoformat(),
            spec.timezone,
            spec.organizer,
            ",".join(spec.attendees),
            spec.deal_key,
        ]
    )
    assert spec.fingerprint() == hashlib.sha256(before.encode()).hexdigest()[:16]
    changed = meeting_spec(record())
    assert changed.fingerprint() != meeting_spec(record(occurrences=())).fingerprint()


def test_instances_are_named_by_their_utc_start_and_moved_by_a_patch() -> None:
    original = datetime(2030, 1, 14, 10, tzinfo=meeting_spec(record()).start.tzinfo)
    assert instance_id("abc123", original) == "abc123_20300114T090000Z"
    [change] = meeting_spec(record()).occurrences
    instance = {
        "start": {"dateTime": "2030-01-14T10:00:00+01:00"},
        "end": {"dateTime": "2030-01-14T10:30:00+01:00"},
    }
    patch = instance_patch(instance, change, "Europe/Berlin")
    assert patch["start"] == {"dateTime": "2030-01-15T16:00:00+01:00", "timeZone": "Europe/Berlin"}
    moved = {"start": patch["start"], "end": patch["end"]}
    assert instance_patch(moved, change, "Europe/Berlin") == {}
    cancelled = OccurrenceChange(change.original_start, cancelled=True)
    assert instance_patch(instance, cancelled, "Europe/Berlin") == {}
