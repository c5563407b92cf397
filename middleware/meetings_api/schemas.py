"""The meetings API's JSON, in and out, as marshmallow schemas; the OpenAPI documents are
generated from the same schemas (``web/openapi.py``), so the shape is written once.

Input is strict: an unknown field is a 400 naming it. Times are ISO 8601; one without an
offset is read in the meeting's ``timezone``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from middleware.json_shapes import UTCTime
from middleware.meetings import DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS
from middleware.meetings_api.keys import SCOPES
from middleware.model import STATUSES

if TYPE_CHECKING:
    from middleware.store import ApiKeyRecord, MeetingRecord

SEND_UPDATES = ("all", "externalOnly", "none")
STATES = ("live", "cancelled")
#: Most guests one meeting invites.
MAX_ATTENDEES = 200
MAX_PAGE = 200


def _zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def _iso(value: str) -> None:
    try:
        datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise ValidationError(
            "not an ISO 8601 date-time such as 2030-01-07T10:00:00+01:00"
        ) from None
    if "T" not in value.upper():
        raise ValidationError("a date-time with the time of day is needed")


def _time(description: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=_iso, metadata={"description": description}, **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _MeetingFields(_Strict):
    attendees = fields.List(
        fields.Email(validate=validate.Length(max=254)),
        validate=validate.Length(max=MAX_ATTENDEES),
        metadata={"description": "guests' emails (the organizer is left out)"},
    )
    title = fields.String(validate=validate.Length(min=1, max=TITLE_MAX_CHARS))
    description = fields.String(validate=validate.Length(max=DESCRIPTION_MAX_CHARS))
    start = _time("ISO 8601; without an offset it is read in `timezone`")
    end = _time("ISO 8601, after start, at most 24 hours later (or give duration_minutes)")
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=1440))
    timezone = fields.String(
        validate=_zone, metadata={"description": "IANA zone of the event (default: the rules')"}
    )
    recurrence = fields.String(
        allow_none=True,
        metadata={
            "description": "one RFC 5545 RRULE with COUNT or UNTIL, e.g. "
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10"
        },
    )
    send_updates = fields.String(
        validate=validate.OneOf(SEND_UPDATES),
        metadata={"description": "who Google e-mails about this meeting's changes"},
    )


class MeetingCreateSchema(_MeetingFields):
    """``POST /api/meetings``."""

    organizer = fields.Email(required=True, metadata={"description": "the rep who hosts it"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX_CHARS))
    start = _time("ISO 8601; without an offset it is read in `timezone`", required=True)


class MeetingPatchSchema(_MeetingFields):
    """``PATCH /api/meetings/<id>``: only the fields given change (the whole series)."""

    organizer = fields.Email()


class OccurrencePatchSchema(_Strict):
    """``PATCH /api/meetings/<id>/occurrences/<original start>``: one occurrence moved."""

    start = _time("the occurrence's new start", required=True)
    end = _time("its new end (default: the meeting's duration later)")
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=1440))
    send_updates = fields.String(validate=validate.OneOf(SEND_UPDATES))


class CancelSchema(_Strict):
    """``DELETE`` on a meeting or an occurrence (query or JSON body)."""

    send_updates = fields.String(validate=validate.OneOf(SEND_UPDATES))
    wait = fields.Boolean()


class WaitSchema(_Strict):
    wait = fields.Boolean(
        metadata={"description": "hold the answer up to a few seconds until Google has it"}
    )


class MeetingListQuerySchema(_Strict):
    """``GET /api/meetings`` filters."""

    organizer = fields.Email()
    state = fields.String(validate=validate.OneOf(STATES))
    starts_after = fields.AwareDateTime(metadata={"description": "first start at or after"})
    starts_before = fields.AwareDateTime(metadata={"description": "first start before"})
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE), load_default=50)
    cursor = fields.Integer(validate=validate.Range(min=1), metadata={"description": "next_cursor"})


# ---- answers --------------------------------------------------------------------------------


class OccurrenceSchema(Schema):
    original_start = fields.String(metadata={"description": "its start by the rule (UTC)"})
    start = fields.String(allow_none=True)
    end = fields.String(allow_none=True)
    cancelled = fields.Boolean()


class MeetingSchema(Schema):
    """A meeting: what was asked for, and what Google has of it."""

    id = fields.String()
    state = fields.String(metadata={"enum": list(STATES)})
    status = fields.String(
        allow_none=True,
        metadata={
            "enum": list(STATUSES),
            "description": "how the latest change went: succeeded once Google has it",
        },
    )
    meet_url = fields.String(allow_none=True)
    calendar_event_id = fields.String(allow_none=True)
    organizer = fields.String()
    attendees = fields.List(fields.String())
    title = fields.String()
    description = fields.String()
    start = fields.String(metadata={"description": "ISO 8601 in the meeting's time zone"})
    end = fields.String()
    duration_minutes = fields.Integer()
    timezone = fields.String()
    recurrence = fields.String(allow_none=True)
    occurrences = fields.List(fields.Nested(OccurrenceSchema))
    send_updates = fields.String()
    version = fields.Integer()
    event_id = fields.Integer(
        allow_none=True, metadata={"description": "the latest change's event (admin API)"}
    )
    last_error = fields.String(allow_none=True)
    last_error_reason = fields.String(allow_none=True)
    created_at = UTCTime()
    updated_at = UTCTime()


class MeetingPageSchema(Schema):
    meetings = fields.List(fields.Nested(MeetingSchema))
    next_cursor = fields.String(allow_none=True)


# ---- API keys (admin API) -------------------------------------------------------------------


class ApiKeyCreateSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    organizers = fields.List(
        fields.String(validate=validate.Length(min=3, max=254)),
        metadata={"description": "emails or @domain it may act for (default: any)"},
    )


class ApiKeySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    scope = fields.String(metadata={"enum": list(SCOPES)})
    prefix = fields.String(metadata={"description": "the key's first characters"})
    organizers = fields.List(fields.String(), allow_none=True)
    active = fields.Boolean()
    created_at = UTCTime()
    revoked_at = UTCTime()


class NewApiKeySchema(ApiKeySchema):
    key = fields.String(metadata={"description": "the key; shown this once only"})


class ApiKeyListSchema(Schema):
    api_keys = fields.List(fields.Nested(ApiKeySchema))


def parse_time(value: str, timezone: str) -> datetime:
    """A validated ISO 8601 text as an aware datetime (no offset: read in ``timezone``)."""
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meeting_json(meeting: MeetingRecord) -> dict[str, Any]:
    """A meeting as the API answers it (:class:`MeetingSchema`)."""
    zone = ZoneInfo(meeting.timezone)
    start = meeting.start.astimezone(zone)
    data = {
        **{
            name: getattr(meeting, name)
            for name in MeetingSchema().fields
            if hasattr(meeting, name)
        },
        "attendees": list(meeting.attendees),
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=meeting.duration_minutes)).isoformat(),
        "occurrences": [
            {
                "original_start": utc_text(o.original_start),
                "start": o.start.astimezone(zone).isoformat() if o.start else None,
                "end": o.end.astimezone(zone).isoformat() if o.end else None,
                "cancelled": o.cancelled,
            }
            for o in meeting.occurrences
        ],
    }
    result: dict[str, Any] = MeetingSchema().dump(data)
    return result


def api_key_json(key: ApiKeyRecord, secret: str | None = None) -> dict[str, Any]:
    """An API key as the admin API answers it; with ``secret`` once, when it is made."""
    data = {
        "id": key.id,
        "name": key.name,
        "scope": key.scope,
        "prefix": key.prefix,
        "organizers": list(key.organizers) if key.organizers is not None else None,
        "active": key.active,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }
    if secret is None:
        result: dict[str, Any] = ApiKeySchema().dump(data)
    else:
        result = NewApiKeySchema().dump({**data, "key": secret})
    return result
