"""A stored meeting → the Calendar event it must be, and the "deal" the lifecycle reads. Pure.

The lifecycle books a deal in a trigger stage and cancels one in a cancel stage: a ``live``
meeting is a deal in a trigger stage, a ``cancelled`` one a deal in a cancel stage, its organizer
the deal's owner, and its spec is taken as it is (``Deal.meeting``) rather than planned from the
rules file's ``[meeting]`` table.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from middleware.meetings import MeetingSpec, OccurrenceChange, clean_attendees
from middleware.model import Deal
from middleware.store.meetings import ACCOUNT, PROVIDER, MeetingRecord

LIVE = "live"
CANCELLED = "cancelled"


def meeting_spec(meeting: MeetingRecord) -> MeetingSpec:
    """The Calendar event of ``meeting``: in its time zone, one event for a whole series."""
    zone = ZoneInfo(meeting.timezone)
    start = meeting.start.astimezone(zone)
    return MeetingSpec(
        title=meeting.title,
        description=meeting.description,
        start=start,
        end=start + timedelta(minutes=meeting.duration_minutes),
        timezone=meeting.timezone,
        organizer=meeting.organizer,
        attendees=clean_attendees(meeting.attendees, exclude=meeting.organizer),
        deal_key=f"{PROVIDER}:{ACCOUNT}:{meeting.id}",
        recurrence=(meeting.recurrence,) if meeting.recurrence else (),
        occurrences=tuple(_in_zone(o, zone) for o in meeting.occurrences),
    )


def _in_zone(change: OccurrenceChange, zone: ZoneInfo) -> OccurrenceChange:
    return OccurrenceChange(
        original_start=change.original_start,
        start=change.start.astimezone(zone) if change.start else None,
        end=change.end.astimezone(zone) if change.end else None,
        cancelled=change.cancelled,
    )


def meeting_deal(meeting: MeetingRecord) -> Deal:
    """``meeting`` as the lifecycle reads a deal (see the module docstring)."""
    return Deal(
        provider=PROVIDER,
        account_id=ACCOUNT,
        deal_id=meeting.id,
        name=meeting.title,
        stage=meeting.state,
        in_trigger_stage=meeting.state == LIVE,
        in_cancel_stage=meeting.state == CANCELLED,
        owner_email=meeting.organizer,
        company="",
        start_value=meeting.start.isoformat(),
        start_property="start",
        contact_emails=meeting.attendees,
        current_meet_url=meeting.meet_url,
        current_event_id=meeting.calendar_event_id,
        meeting=meeting_spec(meeting),
        send_updates=meeting.send_updates,
    )
