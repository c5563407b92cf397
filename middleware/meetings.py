"""Plan a meeting from a deal: pure functions, no I/O, no clock.

``plan_meeting(deal, rules)`` turns a :class:`~middleware.crm.base.Deal` and the rules file's
``[meeting]`` table into a :class:`MeetingSpec`: title, description, start, end, attendees and the
organizer (the rep). ``calendar_event_id`` derives the deterministic Google Calendar event id that
makes "one Calendar event per deal's demo" hold whatever is redelivered, retried or replayed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, fields, validate

from middleware.errors import PermanentError
from middleware.model import Deal

#: The only fields a title or description template may use (CONTRACT.md, rules file).
TEMPLATE_FIELDS = ("deal_name", "deal_id", "company", "rep_email")

# Caps on what a deal's data can make the event carry. Over a cap the text is cut and ends
# with an ellipsis: the demo is still booked (an operator wants the meeting, not a failure
# over a long deal name), and a 1 MB deal name never becomes a 2 MB insert.
#: Longest title (Google documents no limit for ``summary``; 1024 is the longest event id,
#: and far beyond what a calendar shows).
TITLE_MAX_CHARS = 1024
#: Longest description from the template: Google Calendar keeps about 8,192 characters of a
#: description; the rest leaves room for the Meet link line (``meeting.link_in_description``).
DESCRIPTION_MAX_CHARS = 8000
#: Longest value of one template field (a deal name, a company) before it is rendered.
FIELD_MAX_CHARS = TITLE_MAX_CHARS
#: Longest attendee address (RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its
#: brackets); a longer "address" is dropped like any other invalid one.
EMAIL_MAX_CHARS = 254
#: The earliest and latest start accepted (in UTC): outside them it is not a demo date but
#: bad data, and near year 9999 time-zone arithmetic overflows (``bad_start``).
EARLIEST_START = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9998, 12, 31, tzinfo=UTC)
ELLIPSIS = "…"


def shorten_to(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


# A deliberately loose address check: Google validates for real; this only drops values that
# cannot possibly be an address (empty, spaces, no "@", no dot in the domain).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_template(template: str) -> None:
    """Raise ``ValueError`` unless ``template`` only uses the documented fields.

    Attribute and index access (``{deal_name.__class__}``, ``{x[0]}``) and positional fields are
    refused, so a rules file can never reach into Python objects.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from None
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            allowed = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            raise ValueError(f"unknown field {{{name}}}; use only {allowed}")
        if spec and ("{" in spec or "}" in spec):
            raise ValueError("nested fields in a format spec are not allowed")


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill a template checked by :func:`check_template`; each value is cut to
    :data:`FIELD_MAX_CHARS` first, so a huge value costs at most that per use."""
    return template.format_map(
        {name: shorten_to(values.get(name, ""), FIELD_MAX_CHARS) for name in TEMPLATE_FIELDS}
    )


def calendar_event_id(provider: str, account_id: str, deal_id: str, series: int = 0) -> str:
    """The deterministic Calendar event id of a deal's demo (its ``series``-th).

    Google accepts client-chosen ids made of base32hex characters (``a-v`` and ``0-9``),
    5 to 1024 long (Calendar API ``Event.id``). A SHA-256 of provider, account and deal id,
    base32hex-encoded, lower-cased, without padding, is 52 such characters. The same deal
    always maps to the same id, so a second insert answers 409 instead of a second meeting.

    A deal needs a new id only when its cancelled event cannot be made live again (Google
    refuses the restore, the event is gone, the organizer changed): series 1, 2… are as
    deterministic as series 0, so a retry after a crash finds the one it was making.
    """
    key = f"{provider}:{account_id}:{deal_id}{f'#{series}' if series else ''}".encode()
    return base64.b32hexencode(hashlib.sha256(key).digest()).decode().rstrip("=").lower()


def conference_request_id(event_id: str) -> str:
    """``conferenceData.createRequest.requestId``: stable per event, so Google ignores a repeat."""
    return f"meet-{event_id[:40]}"


@dataclass(frozen=True)
class OccurrenceChange:
    """One occurrence of a recurring meeting changed on its own: moved, or cancelled.

    ``original_start`` is the occurrence's start by the rule (what names it in Calendar:
    the instance ``{event id}_{original start, UTC, YYYYMMDDTHHMMSSZ}``).
    """

    original_start: datetime
    start: datetime | None = None
    end: datetime | None = None
    cancelled: bool = False

    def text(self) -> str:
        """A stable one-line form, for the spec's fingerprint."""
        if self.cancelled:
            return f"{self.original_start.isoformat()}=cancelled"
        return f"{self.original_start.isoformat()}={_iso(self.start)}/{_iso(self.end)}"


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@dataclass(frozen=True)
class MeetingSpec:
    """What the Calendar event of a deal's demo (or of a meeting made through the meetings
    API) must look like."""

    title: str
    description: str
    start: datetime
    end: datetime
    timezone: str
    organizer: str
    attendees: tuple[str, ...] = field(default_factory=tuple)
    #: ``provider:account:deal``: the event's private extended property, so a deal's events
    #: can be found in Google (check, replays, operators).
    deal_key: str = ""
    #: RFC 5545 lines (``RRULE:FREQ=WEEKLY;COUNT=10``) of a recurring meeting: one Calendar
    #: event whose ``recurrence`` they are; empty for a single meeting (every CRM demo)
    recurrence: tuple[str, ...] = ()
    #: occurrences of a recurring meeting changed on their own (moved or cancelled)
    occurrences: tuple[OccurrenceChange, ...] = ()

    def fingerprint(self) -> str:
        """A short hash of everything Google is told; equal specs need no update."""
        parts = [
            self.title,
            self.description,
            self.start.isoformat(),
            self.end.isoformat(),
            self.timezone,
            self.organizer,
            ",".join(self.attendees),
            self.deal_key,
        ]
        if self.recurrence or self.occurrences:  # only then: a demo's fingerprint is unchanged
            parts += [";".join(self.recurrence), ",".join(o.text() for o in self.occurrences)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class MeetingSpecSchema(Schema):
    """The JSON form of a :class:`MeetingSpec` (stored on the event and shown by the admin API)."""

    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX_CHARS))
    description = fields.String(required=True, validate=validate.Length(max=DESCRIPTION_MAX_CHARS))
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    timezone = fields.String(required=True)
    organizer = fields.Email(required=True)
    attendees = fields.List(fields.Email(), required=True)


def parse_start(value: Any, timezone: str, *, deal_id: str, property_name: str) -> datetime:
    """Parse a deal's start property: ISO 8601 (with or without offset) or epoch milliseconds.

    A value without an offset is read in ``timezone`` (an IANA name). HubSpot datetime
    properties hold epoch milliseconds as strings; text fields hold ISO text. A date without
    a time of day (``"2026-12-01"``, what a HubSpot ``date`` property can hold) is refused:
    it would put every demo at midnight.

    Raises :class:`PermanentError` (``missing_start`` / ``bad_start``) naming the deal and
    property, so an operator knows exactly which field to fill.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        raise PermanentError("missing_start", f"deal {deal_id}: property {property_name} is empty")
    if re.fullmatch(r"-?\d{9,}", text):
        # Epoch milliseconds (HubSpot's datetime type). Nine or more digits never read as a year.
        try:
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise PermanentError(
                "bad_start",
                f"deal {deal_id}: property {property_name} = {text[:60]!r} is not a usable time",
            ) from None
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    if _is_date_only(iso):
        raise PermanentError(
            "bad_start",
            f"deal {deal_id}: property {property_name} = {text[:60]!r} is a date without a time "
            "of day: the demo needs a start time; make the property a date-and-time (datetime) "
            "one, or hold ISO 8601 with the time such as 2026-12-01T15:00:00+01:00",
        )
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise PermanentError(
            "bad_start",
            f"deal {deal_id}: property {property_name} = {text[:60]!r} is not an ISO 8601 "
            "date-time or epoch milliseconds",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def _is_date_only(text: str) -> bool:
    """True for an ISO 8601 date with no time part (``2026-12-01``, ``20261201``)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def clean_attendees(emails: Iterable[str | None], *, exclude: str) -> tuple[str, ...]:
    """Valid addresses, lower-cased, deduplicated in first-seen order, without the organizer
    (an address longer than :data:`EMAIL_MAX_CHARS` is not valid)."""
    seen: set[str] = {exclude.strip().lower()}
    result: list[str] = []
    for email in emails:
        address = (email or "").strip().lower()
        if len(address) > EMAIL_MAX_CHARS:
            continue
        if not address or address in seen or not _EMAIL.match(address):
            continue
        seen.add(address)
        result.append(address)
    return tuple(result)


@dataclass(frozen=True)
class MeetingRules:
    """The rules file's ``[meeting]`` table."""

    title: str = "Demo: {deal_name}"
    description: str = "Product demo for {company}. Organizer: {rep_email}."
    duration_minutes: int = 30
    timezone: str = "UTC"
    send_updates: str = "all"
    calendar_id: str = "primary"
    #: most guests invited (the deal's contacts beyond this are left out, with a log line)
    max_attendees: int = 100
    #: also write the Meet link into the event's description (some invitees' clients ignore
    #: conference data)
    link_in_description: bool = True
    #: rep email (lower case) → IANA zone for starts without an offset (``[meeting.rep_timezones]``)
    rep_timezones: Mapping[str, str] = field(default_factory=dict)


def rep_of(deal: Deal) -> str:
    """The rep (the deal owner's email, lower case) who organizes the demo.

    Raises :class:`PermanentError` ``missing_owner`` when the deal has none (the pipeline
    treats that as *waiting* for an owner, not as a failure).
    """
    rep = (deal.owner_email or "").strip().lower()
    if not rep or not _EMAIL.match(rep):
        raise PermanentError(
            "missing_owner",
            f"deal {deal.deal_id}: no sales rep email (the deal owner is unset or has no email); "
            "assign an owner who has a Google Workspace account",
        )
    return rep


def rep_timezone(rep: str, rules: MeetingRules, calendar_zone: str | None) -> str:
    """Where a start without an offset is read (CONTRACT.md): ``[meeting.rep_timezones]``
    when it names the rep, else the rep's Google calendar's zone, else ``meeting.timezone``."""
    return rules.rep_timezones.get(rep) or calendar_zone or rules.timezone


def plan_meeting(deal: Deal, rules: MeetingRules, *, timezone: str | None = None) -> MeetingSpec:
    """Turn a deal into the meeting to create, in ``timezone`` (default ``rules.timezone``).

    Attendees are the deal's valid contact emails without the rep, at most
    ``rules.max_attendees`` of them, in the deal's order. Title and description are cut to
    :data:`TITLE_MAX_CHARS` / :data:`DESCRIPTION_MAX_CHARS` (with an ellipsis).

    Raises :class:`PermanentError` when the deal cannot make a meeting: no owner email
    (``missing_owner``), an empty or unreadable start (``missing_start`` / ``bad_start``).
    """
    rep = rep_of(deal)
    zone = timezone or rules.timezone
    start = parse_start(
        deal.start_value, zone, deal_id=deal.deal_id, property_name=deal.start_property
    )
    values = {
        "deal_name": deal.name,
        "deal_id": deal.deal_id,
        "company": deal.company or deal.name,
        "rep_email": rep,
    }
    end = _end_of(start, rules.duration_minutes, deal)
    title = render_template(rules.title, values).strip() or f"Demo {deal.deal_id}"
    return MeetingSpec(
        title=shorten_to(title, TITLE_MAX_CHARS),
        description=shorten_to(render_template(rules.description, values), DESCRIPTION_MAX_CHARS),
        start=start,
        end=end,
        timezone=zone,
        organizer=rep,
        attendees=clean_attendees(deal.contact_emails, exclude=rep)[: rules.max_attendees],
        deal_key=f"{deal.provider}:{deal.account_id}:{deal.deal_id}",
    )


def _end_of(start: datetime, minutes: int, deal: Deal) -> datetime:
    """``start`` + ``minutes``, once the start is known to be a plausible demo date.

    Raises :class:`PermanentError` ``bad_start`` for a start (or end) before
    :data:`EARLIEST_START` or after :data:`LATEST_START` in UTC, or one that cannot even be
    expressed in UTC (year 1 or 9999 with an offset).
    """
    try:
        end = start + timedelta(minutes=minutes)
        late = end.astimezone(UTC) > LATEST_START
        early = start.astimezone(UTC) < EARLIEST_START
    except OverflowError:  # the first or last hours of what a datetime can hold
        late, early = start.year > EARLIEST_START.year, start.year <= EARLIEST_START.year
    if late or early:
        raise PermanentError(
            "bad_start",
            f"deal {deal.deal_id}: property {deal.start_property} = {start.isoformat()!r} is "
            f"too far in the {'future' if late else 'past'} for a meeting (a demo starts "
            f"between {EARLIEST_START.year} and {LATEST_START.year})",
        )
    return end
