"""``calendars.get``: the caller's own calendar, with the conference solutions its organizational
unit allows (none when Meet is turned off for the user; [DISC] Calendar.conferenceProperties)."""

from __future__ import annotations

from .responses import Response
from .state import EmulatorState


class CalendarsResource(EmulatorState):
    """calendars.get on the caller's primary calendar."""

    def _calendar_get(self, owner: str) -> Response:
        meet = [] if owner in self.meet_disabled else ["hangoutsMeet"]
        return Response.json(
            200,
            {
                "kind": "calendar#calendar",
                "etag": '"calendar-etag"',
                "id": owner,
                "summary": owner,
                "timeZone": "UTC",
                "conferenceProperties": {"allowedConferenceSolutionTypes": meet},
            },
        )
