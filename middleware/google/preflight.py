"""What ``middleware check`` asks of Google: can the service account make Meet events as a rep?

Used only by :mod:`middleware.check`. The only write is the Meet probe (a private event with no
attendees on 2000-01-01, nobody notified, deleted at once), made when the delegation grant has
only :data:`~middleware.google.scopes.SCOPE`.

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from middleware.deadlines import GOOGLE_TIMEOUTS, Timeouts
from middleware.errors import MiddlewareError
from middleware.google.client import Client
from middleware.google.credentials import Call, read_key_file
from middleware.google.events import MEET, conference_status, create_request
from middleware.google.oauth import OAuthSetup
from middleware.google.scopes import CHECK_SCOPE

__all__ = ["GooglePreflight", "conference_problems"]


class GooglePreflight:
    """The service account's set-up, checked per rep. Thread-safe; no network until asked."""

    def __init__(
        self,
        service_account_info: Mapping[str, Any] | None,
        *,
        api_base_url: str = "https://www.googleapis.com/",
        timeout: Timeouts = GOOGLE_TIMEOUTS,
        oauth: OAuthSetup | None = None,
        auth_mode_for: Callable[[str], str] | None = None,
    ) -> None:
        """Load the key (None: no service account; ``oauth``: reps' own tokens, see
        :class:`~middleware.google.client.Client`). No network. Raises
        :class:`~middleware.errors.ConfigError`."""
        self._client = Client(
            service_account_info,
            api_base_url=api_base_url,
            timeout=timeout,
            oauth=oauth,
            auth_mode_for=auth_mode_for,
        )
        delegation = self._client.delegation
        self.client_email: str | None = delegation.client_email if delegation else None
        #: The number the Admin console's domain-wide delegation page asks for.
        self.client_id: str | None = delegation.client_id if delegation else None

    @classmethod
    def from_key_file(cls, path: str, **kwargs: Any) -> GooglePreflight:
        """Load a service-account JSON key file. Raises :class:`ConfigError` if unusable."""
        return cls(read_key_file(path), **kwargs)

    def check_access(self, organizer: str, calendar_id: str = "primary") -> list[str]:
        """Problems that would stop events for ``organizer``; an empty list means none found.

        1. Mint a token as ``organizer`` with :data:`SCOPE` (domain-wide delegation, key,
           user; or the rep's own refresh token in OAuth mode) and list one event of ``calendar_id`` (the calendar exists and is writable
           with that scope).
        2. Read the calendar resource with :data:`CHECK_SCOPE` and check that
           ``conferenceProperties.allowedConferenceSolutionTypes`` contains ``hangoutsMeet``
           (ref §3.4). ``calendars.get`` does not accept :data:`SCOPE`; when the delegation
           grant has only :data:`SCOPE`, a probe event instead: a private event with no
           attendees on 2000-01-01, created with a Meet ``createRequest`` and
           ``sendUpdates=none``, then deleted (nobody is notified). An OAuth rep's grant has
           only :data:`SCOPE` too: the probe.

        Each problem is one line naming the fix. Expected failures are returned, never raised.
        """
        client = self._client
        call = Call(organizer=organizer, calendar_id=calendar_id)
        try:
            api = client.service(organizer, call)
            client.execute(api.events().list(calendarId=calendar_id, maxResults=1), call, "list")
        except MiddlewareError as err:
            return [err.message]
        try:
            api = client.scoped_service(organizer, [CHECK_SCOPE])
            if api is None:  # an OAuth rep: their grant has SCOPE only, so the probe
                return self._probe_meet(organizer, calendar_id)
            calendar = client.execute(
                api.calendars().get(calendarId=calendar_id), call, "calendars.get"
            )
        except MiddlewareError as err:
            if err.reason == "google_delegation_denied":
                # The grant has only SCOPE: prove Meet works the only way that scope allows.
                return self._probe_meet(organizer, calendar_id)
            return [err.message]
        return conference_problems(calendar or {}, organizer=organizer, calendar_id=calendar_id)

    def _probe_meet(self, organizer: str, calendar_id: str) -> list[str]:
        client = self._client
        call = Call(organizer=organizer, calendar_id=calendar_id)
        probe_id = "probe" + uuid.uuid4().hex
        body = {
            "id": probe_id,
            "summary": "crm-meet-middleware check (deleted at once)",
            "start": {"dateTime": "2000-01-01T00:00:00Z"},
            "end": {"dateTime": "2000-01-01T00:15:00Z"},
            "visibility": "private",
            "transparency": "transparent",
            "reminders": {"useDefault": False},
            "conferenceData": create_request(probe_id),
        }
        try:
            events = client.service(organizer, call).events()
            created = client.execute(
                events.insert(
                    calendarId=calendar_id, body=body, conferenceDataVersion=1, sendUpdates="none"
                ),
                call,
                "insert",
            )
        except MiddlewareError as err:
            return [err.message]
        problems: list[str] = []
        if conference_status(created or {}) == "failure":
            problems.append(
                f"Google could not create a Meet conference in calendar {calendar_id!r} of {organizer}: "
                f"enable Google Meet for {organizer}'s organizational unit"
            )
        try:
            client.execute(
                events.delete(calendarId=calendar_id, eventId=probe_id, sendUpdates="none"),
                call,
                "delete",
            )
        except MiddlewareError as err:
            problems.append(f"could not delete the check's probe event {probe_id}: {err.message}")
        return problems


def conference_problems(
    calendar: Mapping[str, Any], *, organizer: str, calendar_id: str
) -> list[str]:
    """Problems with a calendar resource (``calendars.get``) for Meet conferences (ref §1.1)."""
    allowed = (calendar.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes")
    if MEET in (allowed or []):
        return []
    listed = ", ".join(allowed or []) or "none"
    return [
        f"calendar {calendar_id!r} of {organizer} does not allow Google Meet conferences "
        f"(allowed: {listed}): enable Google Meet for {organizer}'s organizational unit in the "
        "Google Admin console → Apps → Google Workspace → Google Meet, or use the rep's "
        "primary calendar"
    ]
