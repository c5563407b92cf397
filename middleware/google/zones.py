"""The time zone of a rep's calendar, read once per rep and calendar."""

from __future__ import annotations

import logging

from middleware.errors import PermanentError
from middleware.google.client import Client
from middleware.google.credentials import Call

log = logging.getLogger(__name__)


class CalendarZones:
    """``events.list``'s top-level ``timeZone``, which the ``calendar.events`` scope allows
    (reference addendum §B4), cached per (rep, calendar). Thread-safe enough: a race reads the
    same zone twice."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._zones: dict[tuple[str, str], str | None] = {}

    def get(self, organizer: str, calendar_id: str) -> str | None:
        """The zone, or None when Google names none or refuses the read (the zone only refines
        how a start without offset is read; the insert says what is wrong, if anything).
        Raises :class:`~middleware.errors.RetryableError` for a transient fault."""
        key = (organizer.strip().lower(), calendar_id)
        if key not in self._zones:
            call = Call(organizer=organizer, calendar_id=calendar_id)
            events = self._client.service(organizer, call).events()
            try:
                body = self._client.execute(
                    events.list(calendarId=calendar_id, maxResults=1), call, "list"
                )
            except PermanentError as exc:
                log.warning("no calendar time zone for %s: %s", organizer, exc.message)
                body = None
            zone = (body or {}).get("timeZone")
            self._zones[key] = str(zone) if zone else None
        return self._zones[key]
