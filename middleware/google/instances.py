"""Single occurrences of a recurring event: moved or cancelled on their own.

A recurring meeting is one Calendar event whose ``recurrence`` holds the rule; Google expands it
into *instances*, each named ``{event id}_{original start in UTC, YYYYMMDDTHHMMSSZ}`` and
readable, patchable and deletable like an event (Calendar API, *Recurring events*: "modifying
or deleting instances creates exceptions"; an instance keeps its ``originalStartTime`` and
``recurringEventId``). An instance shares the series' Meet conference.

:func:`instance_id` and :func:`instance_patch` are pure; :class:`Occurrences` makes each
changed occurrence of a spec look as it says (get, and a patch or delete only when it differs),
so a retry after a crash does nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from middleware.errors import RetryableError
from middleware.google.client import Client
from middleware.google.credentials import Call
from middleware.google.events import instant
from middleware.meetings import MeetingSpec, OccurrenceChange


def instance_id(event_id: str, original_start: datetime) -> str:
    """The id Google gives the occurrence of ``event_id`` that the rule starts at
    ``original_start`` (its UTC time in RFC 5545 basic form)."""
    return f"{event_id}_{original_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def instance_patch(
    instance: Mapping[str, Any], change: OccurrenceChange, timezone: str
) -> dict[str, Any]:
    """The patch that moves ``instance`` where ``change`` says; {} when it is there (or the
    change is a cancellation, which is a delete)."""
    if change.cancelled or change.start is None or change.end is None:
        return {}
    patch: dict[str, Any] = {}
    if instant(instance.get("start")) != change.start.astimezone(UTC):
        patch["start"] = {"dateTime": change.start.isoformat(), "timeZone": timezone}
    if instant(instance.get("end")) != change.end.astimezone(UTC):
        patch["end"] = {"dateTime": change.end.isoformat(), "timeZone": timezone}
    return patch


class Occurrences:
    """Brings a recurring event's changed occurrences to its spec, through ``client``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def ensure(self, events: Any, call: Call, spec: MeetingSpec, send_updates: str) -> bool:
        """Move or cancel each occurrence ``spec.occurrences`` names; True when any call
        changed something. Raises like ``GoogleCalendar.ensure_event``, and
        :class:`RetryableError` ``google_event_missing`` when Google has no such occurrence."""
        changed = False
        for change in spec.occurrences:
            changed = self._ensure_one(events, call, spec, change, send_updates) or changed
        return changed

    def _ensure_one(
        self,
        events: Any,
        call: Call,
        spec: MeetingSpec,
        change: OccurrenceChange,
        send_updates: str,
    ) -> bool:
        execute = self._client.execute
        assert call.event_id is not None  # the series' event, made just before
        instance = instance_id(call.event_id, change.original_start)
        one = Call(organizer=call.organizer, calendar_id=call.calendar_id, event_id=instance)
        found = execute(
            events.get(calendarId=call.calendar_id, eventId=instance), one, "get", allow=404
        )
        if change.cancelled:
            if found is None or found.get("status") == "cancelled":
                return False
            execute(
                events.delete(
                    calendarId=call.calendar_id, eventId=instance, sendUpdates=send_updates
                ),
                one,
                "delete",
                allow=(404, 410),
            )
            return True
        if found is None:
            raise RetryableError(
                "google_event_missing",
                f"the occurrence {instance} of event {call.event_id} is not in "
                f"{call.organizer}'s calendar; it will be looked for again",
            )
        patch = instance_patch(found, change, spec.timezone)
        if not patch:
            return False
        execute(
            events.patch(
                calendarId=call.calendar_id,
                eventId=instance,
                body=patch,
                conferenceDataVersion=1,
                sendUpdates=send_updates,
            ),
            one,
            "patch",
        )
        return True
