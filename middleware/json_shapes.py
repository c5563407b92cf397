"""The JSON the admin API answers, the CLI prints and the OpenAPI document describes.

One marshmallow schema per record (``store/records.py``): the views and the CLI dump records
with these, and ``web/openapi.py`` documents the same schemas, so the shape is written once.
Times are ISO 8601 in UTC with a ``Z``. A stored payload is shown with the value of every key
that names a secret (token, secret, password, signature, authorization, API key…) hidden.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields

from middleware.crm.summaries import webhook_summary
from middleware.model import STATUSES


class UTCTime(fields.DateTime):
    """An aware datetime as ``2026-12-01T15:00:00Z`` (None stays null)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            return super()._serialize(value, attr, obj, **kwargs)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: Keys whose values are never shown, at any depth of a payload.
SECRET_NAMES = re.compile(
    r"secret|token|passw|signature|authoriz|api[_-]?key|credential|private[_-]?key|cookie",
    re.IGNORECASE,
)
HIDDEN = "[hidden]"


def redact_secrets(value: Any) -> Any:
    """``value`` (JSON data) with the value of every secret-naming key replaced by ``HIDDEN``."""
    if isinstance(value, dict):
        return {
            k: HIDDEN if SECRET_NAMES.search(str(k)) else redact_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    return value


class RedactedDict(fields.Dict):
    """A payload as JSON, its secrets hidden (:func:`redact_secrets`)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(redact_secrets(value), attr, obj, **kwargs)


def iso_z(value: datetime | None) -> str | None:
    """What :class:`UTCTime` prints, for plain text output."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


class AttemptSchema(Schema):
    number = fields.Integer()
    worker = fields.String()
    started_at = UTCTime()
    finished_at = UTCTime()
    outcome = fields.String(
        metadata={
            "description": "processing, succeeded, skipped, retrying, failed, abandoned, released"
        }
    )
    error_reason = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    retry_at = UTCTime()


class ErrorSchema(Schema):
    attempt = fields.Integer()
    at = UTCTime()
    reason = fields.String(allow_none=True)
    error = fields.String()


class EventSchema(Schema):
    """An event as the admin API shows it (CONTRACT.md)."""

    id = fields.Integer()
    provider = fields.String()
    account_id = fields.String()
    deal_id = fields.String()
    trigger = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    last_error_reason = fields.String(allow_none=True)
    meet_url = fields.String(allow_none=True)
    calendar_event_id = fields.String(allow_none=True)
    action = fields.String(
        allow_none=True,
        metadata={
            "description": "what processing did: booked, moved, updated, cancelled, restored, "
            "recreated, reassigned, unchanged"
        },
    )
    next_attempt_at = UTCTime(metadata={"description": "when a pending/retrying event is due"})
    occurred_at = UTCTime()
    created_at = UTCTime()
    updated_at = UTCTime()


class MeetingSchema(Schema):
    """The deal's meeting as the service last left it."""

    calendar_event_id = fields.String()
    calendar_id = fields.String(allow_none=True)
    organizer = fields.String(allow_none=True)
    meet_url = fields.String(allow_none=True)
    state = fields.String(allow_none=True, metadata={"enum": ["live", "cancelled"]})
    series = fields.Integer()


class EventDetailSchema(EventSchema):
    attempt_history = fields.List(fields.Nested(AttemptSchema))
    errors = fields.List(fields.Nested(ErrorSchema))
    payload = RedactedDict(
        metadata={"description": "the stored notification; values of secret-naming keys hidden"}
    )
    meeting = fields.Nested(MeetingSchema, allow_none=True)


class DealMeetingSchema(MeetingSchema):
    """A deal ledger row: the meeting in one CRM account."""

    account_id = fields.String()
    updated_at = UTCTime()


class TrailEventSchema(EventSchema):
    """An event in a deal's trail: what its webhook said, and every attempt."""

    webhook = fields.Function(
        lambda e: webhook_summary(e.payload),
        metadata={"description": "the stored webhook's main fields (the payload, summarised)"},
    )
    attempt_history = fields.List(fields.Nested(AttemptSchema))


class DealTrailSchema(Schema):
    """One deal's story: webhooks received, attempts, lifecycle actions, the live meeting."""

    provider = fields.String()
    deal_id = fields.String()
    meetings = fields.List(
        fields.Nested(DealMeetingSchema),
        metadata={"description": "the deal ledger: its Calendar event per CRM account"},
    )
    events = fields.List(fields.Nested(TrailEventSchema), metadata={"description": "oldest first"})
    more_events = fields.Boolean(
        metadata={"description": "older events exist than the ones listed (raise limit)"}
    )


class EventPageSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    next_cursor = fields.String(allow_none=True)


class CountSchema(Schema):
    count = fields.Integer()
    sample = fields.List(fields.Nested(EventSchema))


class AuditSchema(Schema):
    id = fields.Integer()
    at = UTCTime()
    actor = fields.String()
    action = fields.String(metadata={"description": "replay, bulk_replay, prune"})
    target = fields.Dict(allow_none=True)
    count = fields.Integer()


class AuditPageSchema(Schema):
    actions = fields.List(fields.Nested(AuditSchema))
    next_cursor = fields.String(allow_none=True)


class StatsSchema(Schema):
    """Events per status."""

    pending = fields.Integer()
    processing = fields.Integer()
    retrying = fields.Integer()
    succeeded = fields.Integer()
    skipped = fields.Integer()
    failed = fields.Integer()


class ProblemSchema(Schema):
    """Every error answer: ``{"error": "..."}``."""

    error = fields.String()


EVENT = EventSchema()
TRAIL = DealTrailSchema()
EVENT_DETAIL = EventDetailSchema()


def event_json(record: Any) -> dict[str, Any]:
    """An :class:`~middleware.store.EventRecord` (or detail) as the admin API shows it."""
    schema = EVENT_DETAIL if hasattr(record, "attempt_history") else EVENT
    data: dict[str, Any] = schema.dump(record)
    return data


def events_json(records: Any) -> list[dict[str, Any]]:
    return [EVENT.dump(r) for r in records]


def trail_json(trail: Any) -> dict[str, Any]:
    """A :class:`~middleware.store.DealTrail` as ``GET /admin/deals/<provider>/<id>`` shows it."""
    data: dict[str, Any] = TRAIL.dump(trail)
    return data
