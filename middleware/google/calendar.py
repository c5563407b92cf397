"""Google Calendar through a service account impersonating the rep: one event, one Meet link.

:class:`GoogleCalendar` makes sure the Calendar event of a deal's demo exists, looks like its
:class:`~middleware.meetings.MeetingSpec` and carries a Google Meet link, however often it is
called for the same deterministic event id (crash, retry, replay, several workers):

* the event is inserted with a client-chosen id, so a repeat answers 409 ``duplicate`` (even
  after a delete) and turns into get, compare and, only when something differs, one patch
  (ref §1.5, §1.6);
* the Meet conference is asked for through ``conferenceData.createRequest`` with a stable
  ``requestId`` and ``conferenceDataVersion=1`` on every write (ref §1.1, gotcha 2); creation
  may be asynchronous, so a "pending" conference is polled with ``events.get`` (ref §1.3);
* every call is single-shot (``execute()`` without ``num_retries``): retrying is the
  pipeline's job, which reschedules on :class:`~middleware.errors.RetryableError`.

Every failure leaves as :class:`RetryableError` or :class:`PermanentError` with a stable
``reason`` and a message a person can act on, never with a token or key in it. The other
lifecycle operations (cancel, move, restore) belong here too, next to :meth:`ensure_event`.

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md, which
quotes the Calendar discovery document, Google's errors guide and the google-auth sources.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from googleapiclient.errors import HttpError

from middleware.deadlines import GOOGLE_TIMEOUTS, Timeouts
from middleware.errors import MiddlewareError, RestoreRefused
from middleware.google.client import Client
from middleware.google.conference import Rerequest, await_conference, patch_event
from middleware.google.credentials import Call, read_key_file
from middleware.google.errors import DEFAULT_QUOTA_PARK_SECONDS, error_status
from middleware.google.events import (
    CalendarEvent,
    insert_body,
    link_patch,
    reconcile,
)
from middleware.google.instances import Occurrences
from middleware.google.oauth import OAuthSetup
from middleware.google.zones import CalendarZones
from middleware.meetings import MeetingSpec

__all__ = ["GoogleCalendar"]


log = logging.getLogger(__name__)


class GoogleCalendar:
    """Calendar v3 events with Meet links, created as the rep (domain-wide delegation).

    Thread-safe: credentials are shared per rep (one token per rep, not per event, ref §3.1,
    gotcha 7) but each thread has its own ``httplib2.Http``, which is not thread-safe
    (ref §4.4, gotcha 8).
    """

    def __init__(
        self,
        service_account_info: dict | None,
        *,
        api_base_url: str = "https://www.googleapis.com/",
        timeout: Timeouts = GOOGLE_TIMEOUTS,
        conference_poll: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
        sleep: Callable[[float], None] = time.sleep,
        quota_park_seconds: float = DEFAULT_QUOTA_PARK_SECONDS,
        pace: Callable[[str], None] | None = None,
        link_in_description: bool = False,
        oauth: OAuthSetup | None = None,
        auth_mode_for: Callable[[str], str] | None = None,
    ) -> None:
        """Load the key. No network.

        ``link_in_description``: also write the Meet link into the event's description (one
        silent patch once the conference is ready; rules ``meeting.link_in_description``).

        ``quota_park_seconds``: the shortest park after a ``quotaExceeded`` or
        ``dailyLimitExceeded`` 403 (longer when Google's ``Retry-After`` says so).

        ``service_account_info`` None: no service account; ``oauth``: reps' own refresh
        tokens; ``auth_mode_for(rep)``: which of the two a rep uses (see
        :class:`~middleware.google.sources.RepCredentials`).

        Raises :class:`ConfigError` (one line, never the key) when the key info cannot be
        loaded into ``service_account.Credentials``.
        """
        self._client = Client(
            service_account_info,
            api_base_url=api_base_url,
            timeout=timeout,
            quota_park_seconds=quota_park_seconds,
            pace=pace,
            oauth=oauth,
            auth_mode_for=auth_mode_for,
        )
        delegation = self._client.delegation
        self.client_email: str | None = delegation.client_email if delegation else None
        #: The number the Admin console's domain-wide delegation page asks for.
        self.client_id: str | None = delegation.client_id if delegation else None
        self._conference_poll = tuple(conference_poll)
        self._sleep = sleep
        self._zones = CalendarZones(self._client)
        self._occurrences = Occurrences(self._client)
        self._link_in_description = link_in_description

    @classmethod
    def from_key_file(cls, path: str, **kwargs: Any) -> GoogleCalendar:
        """Load a service-account JSON key file. Raises :class:`ConfigError` if unusable."""
        return cls(read_key_file(path), **kwargs)

    # ---- public API ------------------------------------------------------------------------

    def ensure_event(
        self,
        *,
        organizer: str,
        calendar_id: str,
        event_id: str,
        spec: MeetingSpec,
        send_updates: str,
        request_id: str,
        verify: bool = False,
    ) -> CalendarEvent:
        """Make sure event ``event_id`` in ``organizer``'s ``calendar_id`` matches ``spec`` and
        has a Meet link; return it.

        Idempotent. ``verify=False`` inserts first (409 → get and reconcile); ``verify=True``
        is for a caller who believes the event exists: get first (404 → insert). Reconciling
        restores a cancelled event, patches fields that differ from ``spec`` and asks for a new
        conference when the old one failed or is missing; an event that already matches gets
        no write at all.

        Raises :class:`RetryableError` (``conference_pending``, ``conference_failed``,
        ``google_rate_limited``, ``google_quota_exceeded``, ``google_unavailable``,
        ``google_timeout``, ``google_unreachable``, ``google_bad_response``,
        ``google_token_unavailable``, ``google_event_missing``) or :class:`PermanentError` (``google_delegation_denied``,
        ``google_user_invalid``, ``google_key_invalid``, ``google_token_refused``,
        ``google_conference_type_invalid``, ``google_attendees_forbidden``,
        ``google_forbidden``, ``google_calendar_not_found``, ``google_auth_failed``,
        ``google_bad_request``), always ``from`` the library exception.
        """
        call = Call(organizer=organizer, calendar_id=calendar_id, event_id=event_id)
        execute = self._client.execute
        events = self._client.service(organizer, call).events()
        existing: dict | None = None
        if verify:
            existing = execute(
                events.get(calendarId=calendar_id, eventId=event_id), call, "get", allow=404
            )
        created: dict | None = None
        if existing is None:
            created = execute(
                events.insert(
                    calendarId=calendar_id,
                    body=insert_body(event_id, spec, request_id),
                    conferenceDataVersion=1,  # without it createRequest is ignored (ref §1.1)
                    sendUpdates=send_updates,
                ),
                call,
                "insert",
                allow=409,
            )
            if created is None:
                # 409 duplicate: an earlier attempt made it (its response perhaps lost), or it
                # was deleted and keeps its id (ref §1.5). Reconcile what Google holds.
                existing = execute(
                    events.get(calendarId=calendar_id, eventId=event_id),
                    call,
                    "get",
                    allow=404 if verify else None,
                )
                if existing is None:
                    # Not found, then "exists", then not found: a cancelled event that
                    # disappeared keeps its id taken (reference addendum §B2). It cannot be
                    # made live again under this id.
                    raise RestoreRefused(
                        f"event {event_id} in {organizer}'s calendar is gone, and its id is "
                        "still taken"
                    )
        rerequested = False
        changed: set[str] = set()
        if created is not None:
            event = created
            changed.add("created")
        else:
            assert existing is not None  # execute returns None only for the allowed status
            event = existing
            patch = reconcile(
                existing,
                spec,
                organizer=organizer,
                request_id=request_id,
                link_in_description=self._link_in_description,
            )
            if patch:  # no write (and no notification) when it already matches
                rerequested = "conferenceData" in patch
                changed.update(patch)
                if existing.get("status") == "cancelled":
                    event = self._restore(events, call, patch, send_updates)
                else:
                    event = self._patch(events, call, patch, send_updates)
        event = await_conference(
            self._client,
            events,
            call,
            event,
            Rerequest(request_id, send_updates, rerequested),
            poll=self._conference_poll,
            sleep=self._sleep,
        )
        # The link goes into the description too, once Google made it. Silently: the
        # invitation just sent already carries the conference.
        extra = link_patch(event, spec) if self._link_in_description else {}
        if extra:
            event = self._patch(events, call, extra, "none")
        # A recurring meeting's occurrences moved or cancelled on their own (google/instances.py).
        if spec.occurrences and self._occurrences.ensure(events, call, spec, send_updates):
            changed.add("occurrences")
        return CalendarEvent.of(
            event, event_id=event_id, calendar_id=calendar_id, changed=frozenset(changed)
        )

    def restore_event(
        self,
        *,
        organizer: str,
        calendar_id: str,
        event_id: str,
        spec: MeetingSpec,
        send_updates: str,
        request_id: str,
    ) -> CalendarEvent:
        """Make a cancelled event live again at ``spec`` (same id, a Meet link), or say it
        cannot be: :class:`RestoreRefused` when the event is gone (404/410: "other cancelled
        events will eventually disappear") or Google refuses to write it back (403/404/410).

        The restored event is re-read (the patch's answer): a restore may lose the
        conference, and a fresh ``createRequest`` is then asked for (reference addendum §B2).
        Raises otherwise like :meth:`ensure_event`.
        """
        call = Call(organizer=organizer, calendar_id=calendar_id, event_id=event_id)
        events = self._client.service(organizer, call).events()
        found = self._client.execute(
            events.get(calendarId=calendar_id, eventId=event_id), call, "get", allow=(404, 410)
        )
        if found is None:
            raise RestoreRefused(
                f"the cancelled event {event_id} is gone from {organizer}'s calendar"
            )
        return self.ensure_event(
            organizer=organizer,
            calendar_id=calendar_id,
            event_id=event_id,
            spec=spec,
            send_updates=send_updates,
            request_id=request_id,
            verify=True,
        )

    def cancel_event(
        self, *, organizer: str, calendar_id: str, event_id: str, send_updates: str
    ) -> None:
        """Cancel the event: ``events.delete``, which marks it ``cancelled`` (its id stays
        taken, so it can be restored) and tells the attendees per ``send_updates`` (reference
        addendum §B3). Idempotent: an event already cancelled (410) or gone (404) is done.
        Raises like :meth:`ensure_event`."""
        call = Call(organizer=organizer, calendar_id=calendar_id, event_id=event_id)
        events = self._client.service(organizer, call).events()
        self._client.execute(
            events.delete(calendarId=calendar_id, eventId=event_id, sendUpdates=send_updates),
            call,
            "delete",
            allow=(404, 410),
        )

    def calendar_time_zone(self, organizer: str, calendar_id: str) -> str | None:
        """The time zone of the rep's calendar (:class:`~middleware.google.zones.CalendarZones`)."""
        return self._zones.get(organizer, calendar_id)

    # ---- plumbing --------------------------------------------------------------------------

    def _restore(self, events: Any, call: Call, body: dict, send_updates: str) -> dict:
        """Write a cancelled event back; a refusal (403/404/410) is :class:`RestoreRefused`."""
        try:
            return self._patch(events, call, body, send_updates)
        except MiddlewareError as exc:
            cause = exc.__cause__
            if isinstance(cause, HttpError) and error_status(cause) in (403, 404, 410):
                raise RestoreRefused(
                    f"Google refused to restore the cancelled event {call.event_id} in "
                    f"{call.organizer}'s calendar ({error_status(cause)})"
                ) from exc
            raise

    def _patch(self, events: Any, call: Call, body: dict, send_updates: str) -> dict:
        return patch_event(self._client, events, call, body, send_updates)
