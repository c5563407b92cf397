"""OAuth scopes the emulated endpoints grant and require (ref §1.1, [DISC] calendar.v3.json)."""

from __future__ import annotations

SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPE_CALENDAR_EVENTS = "https://www.googleapis.com/auth/calendar.events"
DEFAULT_ALLOWED_SCOPES = frozenset({SCOPE_CALENDAR_EVENTS, SCOPE_CALENDAR})

# Scopes accepted by events.insert/patch/update/delete resp. events.get/list (ref §1.1, [DISC]).
WRITE_SCOPES = frozenset(
    {
        SCOPE_CALENDAR,
        SCOPE_CALENDAR_EVENTS,
        "https://www.googleapis.com/auth/calendar.events.owned",
        "https://www.googleapis.com/auth/calendar.app.created",
    }
)
READ_SCOPES = WRITE_SCOPES | {
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events.readonly",
    "https://www.googleapis.com/auth/calendar.events.owned.readonly",
}

# calendars.get accepts none of the events scopes ([DISC] calendar.v3.json).
CALENDAR_READ_SCOPES = frozenset(
    {
        SCOPE_CALENDAR,
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.calendars",
        "https://www.googleapis.com/auth/calendar.calendars.readonly",
        "https://www.googleapis.com/auth/calendar.app.created",
    }
)
