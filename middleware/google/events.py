"""Calendar event bodies, reading an event and reconciling it with a spec. Pure: no I/O, no clock.

* Bodies: :func:`spec_fields` (what the :class:`~middleware.meetings.MeetingSpec` decides),
  :func:`create_request` (the Meet ``conferenceData.createRequest``), :func:`insert_body` and
  :func:`next_request_id` (asking again with a fresh id).
* Reading: :func:`meet_url`, :func:`conference_state`, :func:`conference_status`,
  :func:`instant`.
* Reconciling: :func:`reconcile`, the patch that makes an event match its spec.

"ref §N" points into /work/shared/reference/google-calendar-and-service-accounts.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from middleware.meetings import MeetingSpec

__all__ = [
    "MEET",
    "CalendarEvent",
    "conference_state",
    "conference_status",
    "DEAL_PROPERTY",
    "create_request",
    "deal_key_of",
    "description_with_link",
    "insert_body",
    "instant",
    "link_patch",
    "meet_url",
    "next_request_id",
    "normal_email",
    "reconcile",
    "spec_fields",
]

#: The conference solution type of Google Meet (ref §1.1).
MEET = "hangoutsMeet"
#: The private extended property naming the deal (``provider:account:deal``), so a deal's
#: events can be found in Google (``privateExtendedProperty=crmDeal=…`` on events.list).
DEAL_PROPERTY = "crmDeal"
#: How the Meet link is written into the description: some invitees' calendar clients ignore
#: conference data, and a link in the text reaches them all.
JOIN_LINE = "Join with Google Meet: {url}"


def description_with_link(description: str, url: str | None) -> str:
    """The event's description: the rules' text, then the Meet link when there is one."""
    if not url:
        return description
    line = JOIN_LINE.format(url=url)
    return f"{description}\n\n{line}" if description else line


def deal_key_of(event: Mapping[str, Any]) -> str | None:
    """The deal an event was made for (its private extended property), if any."""
    private = (event.get("extendedProperties") or {}).get("private") or {}
    value = private.get(DEAL_PROPERTY) if isinstance(private, Mapping) else None
    return str(value) if value else None


@dataclass(frozen=True)
class CalendarEvent:
    """The event as Google holds it after :meth:`GoogleCalendar.ensure_event`."""

    event_id: str
    calendar_id: str
    meet_url: str  # never empty
    html_link: str | None
    status: str  # "confirmed" etc.
    #: what this call changed: ``{"created"}``, or the fields it patched (``status`` for a
    #: restore, ``start``/``end`` for a move…); empty when the event already matched
    changed: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def of(
        cls,
        event: Mapping[str, Any],
        *,
        event_id: str,
        calendar_id: str,
        changed: frozenset[str] = frozenset(),
    ) -> CalendarEvent:
        """Read Google's event resource; ``event_id`` when the resource has no id."""
        return cls(
            event_id=str(event.get("id") or event_id),
            calendar_id=calendar_id,
            meet_url=meet_url(event) or "",
            html_link=event.get("htmlLink"),
            status=str(event.get("status") or "confirmed"),
            changed=changed,
        )


def normal_email(email: str) -> str:
    """An email as Google compares it: trimmed and lower-cased."""
    return email.strip().lower()


# ---- bodies -----------------------------------------------------------------------------------


def spec_fields(spec: MeetingSpec, link: str | None = None) -> dict[str, Any]:
    """The event fields the spec decides (ref §1.1 request shape), with the Meet ``link`` in
    the description once it is known, and the deal's private extended property."""
    fields: dict[str, Any] = {
        "summary": spec.title,
        "description": description_with_link(spec.description, link),
        "start": {"dateTime": spec.start.isoformat(), "timeZone": spec.timezone},
        "end": {"dateTime": spec.end.isoformat(), "timeZone": spec.timezone},
        "attendees": [{"email": a} for a in spec.attendees],
    }
    if spec.deal_key:
        fields["extendedProperties"] = {"private": {DEAL_PROPERTY: spec.deal_key}}
    if spec.recurrence:  # one event for the whole series (ref: Calendar's recurring events guide)
        fields["recurrence"] = list(spec.recurrence)
    return fields


def link_patch(event: Mapping[str, Any], spec: MeetingSpec) -> dict[str, Any]:
    """The patch that puts the event's Meet link into its description; {} when it is there."""
    wanted = description_with_link(spec.description, meet_url(event))
    return {} if (event.get("description") or "") == wanted else {"description": wanted}


def create_request(request_id: str) -> dict[str, Any]:
    """``conferenceData`` asking for a Meet conference with ``request_id`` (ref §1.1)."""
    return {"createRequest": {"requestId": request_id, "conferenceSolutionKey": {"type": MEET}}}


def insert_body(event_id: str, spec: MeetingSpec, request_id: str) -> dict[str, Any]:
    """The ``events.insert`` body: the client-chosen id, the spec, default reminders, Meet."""
    body = {"id": event_id, **spec_fields(spec), "reminders": {"useDefault": True}}
    body["conferenceData"] = create_request(request_id)
    return body


def next_request_id(request_id: str, event: Mapping[str, Any]) -> str:
    """A new ``requestId`` for asking again: Google ignores a repeated one (ref §1.1).

    Derived from the previous one, so a crash between asking and recording asks with the same
    id next time (ignored, not a second conference), while each failed round gets a new id.
    """
    previous = _create_request_of(event).get("requestId") or ""
    digest = hashlib.sha256(str(previous).encode()).hexdigest()[:8]
    return f"{request_id}-{digest}"


# ---- reading ----------------------------------------------------------------------------------


def _create_request_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return (event.get("conferenceData") or {}).get("createRequest") or {}


def conference_status(event: Mapping[str, Any]) -> str | None:
    """``conferenceData.createRequest.status.statusCode`` ("pending", "success", "failure")."""
    return (_create_request_of(event).get("status") or {}).get("statusCode")


def meet_url(event: Mapping[str, Any]) -> str | None:
    """The video entry point's URI, else ``hangoutLink`` (ref §1.2)."""
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or []:
        if isinstance(entry, dict) and entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    link = event.get("hangoutLink")
    return str(link) if link else None


def conference_state(event: Mapping[str, Any]) -> str:
    """The conference of ``event``: "ready" (a Meet URL), "pending", "failure" or "missing"."""
    status = conference_status(event)
    if status == "pending":
        return "pending"
    if status == "failure":
        return "failure"
    return "ready" if meet_url(event) else "missing"


def instant(value: Any) -> datetime | None:
    """An EventDateTime's ``dateTime`` as a UTC instant; None for all-day or unreadable."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


# ---- reconciling ------------------------------------------------------------------------------


def reconcile(
    event: Mapping[str, Any],
    spec: MeetingSpec,
    *,
    organizer: str,
    request_id: str,
    link_in_description: bool = False,
) -> dict[str, Any]:
    """The patch that makes ``event`` match ``spec`` with a Meet conference; {} when none.

    With ``link_in_description`` the wanted description ends with the event's Meet link.

    Times compare as UTC instants and attendees as lower-cased sets without the organizer,
    so an event that already matches gets no write (and no notification).
    """
    missing_conference = conference_state(event) in ("failure", "missing")
    link = meet_url(event) if link_in_description and not missing_conference else None
    wanted = spec_fields(spec, link)
    patch: dict[str, Any] = {}
    if event.get("status") == "cancelled":
        # Deleted events keep their id and are restored by writing them back (ref §1.5, §1.6).
        patch = {"status": "confirmed", **wanted}
    else:
        if (event.get("summary") or "") != spec.title:
            patch["summary"] = wanted["summary"]
        if (event.get("description") or "") != wanted["description"]:
            patch["description"] = wanted["description"]
        if "extendedProperties" in wanted and deal_key_of(event) != spec.deal_key:
            patch["extendedProperties"] = wanted["extendedProperties"]
        if instant(event.get("start")) != spec.start.astimezone(UTC):
            patch["start"] = wanted["start"]
        if instant(event.get("end")) != spec.end.astimezone(UTC):
            patch["end"] = wanted["end"]
        if spec.recurrence and list(event.get("recurrence") or []) != list(spec.recurrence):
            patch["recurrence"] = wanted["recurrence"]
    me = normal_email(organizer)
    existing = {
        normal_email(str(a.get("email"))): a
        for a in event.get("attendees") or []
        if isinstance(a, dict) and a.get("email")
    }
    have = set(existing) - {me}
    want = {normal_email(a) for a in spec.attendees} - {me}
    if "attendees" in patch or have != want:
        # Arrays are replaced by patch (ref §1.6): keep the entries (and answers) of guests
        # who stay invited.
        patch["attendees"] = [
            dict(existing.get(normal_email(a)) or {"email": a}) for a in spec.attendees
        ]
    if missing_conference:
        patch["conferenceData"] = create_request(next_request_id(request_id, event))
    return patch
