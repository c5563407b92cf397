"""Operator input, validated once for the admin API and the CLI (marshmallow schemas).

The same schemas describe the admin API's input in its OpenAPI document (``web/openapi.py``);
what the API answers is in ``json_shapes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
)

from middleware.lifecycle import ACTIONS
from middleware.model import STATUSES, storable_text
from middleware.store import EventFilter

MAX_PAGE = 500
DEFAULT_PAGE = 50
#: Event and audit ids are the store's BIGINT.
MAX_ID = 2**63 - 1


class InputError(ValueError):
    """Operator input that does not validate; the message names the field."""


def _first_error(messages: Any) -> str:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        inner = _first_error(value)
        return f"{key}: {inner}" if not isinstance(key, int) else inner
    if isinstance(messages, list) and messages:
        return _first_error(messages[0])
    return str(messages)


def load(schema: Schema, data: Mapping[str, Any]) -> Any:
    """Load ``data`` with ``schema``; raise :class:`InputError` with one line on failure."""
    try:
        return schema.load(dict(data))
    except ValidationError as exc:
        message = _first_error(exc.messages)
        raise InputError(message.replace("Unknown field.", "unknown field")) from None


class WholeNumber(fields.Integer):
    """An integer sent as an integer or as ASCII digits, nothing else: ``int()`` would read
    ``"٣"`` as 3 and ``" 5 "``, ``"1_000"`` or ``5.9`` as numbers too."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) or (
            isinstance(value, str)
            and not (value.isascii() and value.isdigit() and len(value) <= 19)
        ):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def _text(value: str) -> None:
    if not storable_text(value):
        raise ValidationError("must not hold a NUL or an unpaired surrogate")


def _in_utc_range(value: datetime) -> None:
    try:
        value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past year 9999 in UTC
        raise ValidationError("must be a time between years 1 and 9999 in UTC") from None


def _cursor(value: str) -> None:
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= MAX_ID):
        raise ValidationError("not a cursor returned by this API")


def _limit_field() -> WholeNumber:
    return WholeNumber(
        load_default=DEFAULT_PAGE,
        validate=validate.Range(min=1),
        metadata={"description": f"page size, default {DEFAULT_PAGE}, at most {MAX_PAGE}"},
    )


def _cursor_field() -> fields.String:
    return fields.String(
        validate=_cursor, metadata={"description": "next_cursor of the previous page"}
    )


def _page(data: dict[str, Any]) -> dict[str, Any]:
    """``limit`` (capped) and ``before_id`` out of loaded paging fields."""
    cursor = data.pop("cursor", None)
    return {
        "limit": min(data.pop("limit", DEFAULT_PAGE), MAX_PAGE),
        "before_id": int(cursor) if cursor is not None else None,
    }


def _split_statuses(value: Any) -> Any:
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return value


class FilterSchema(Schema):
    """Which events: every field optional; ``status`` may list several (``failed,retrying``)."""

    class Meta:
        unknown = RAISE

    status = fields.List(
        fields.String(validate=validate.OneOf(STATUSES)),
        metadata={
            "description": f"one or more of {', '.join(STATUSES)} (comma-separated in a query)"
        },
    )
    provider = fields.String(validate=[validate.Length(min=1, max=32), _text])
    deal_id = fields.String(validate=[validate.Length(min=1, max=64), _text])
    created_after = fields.AwareDateTime(
        default_timezone=None,
        validate=_in_utc_range,
        metadata={"description": "ISO 8601 with offset"},
    )
    created_before = fields.AwareDateTime(default_timezone=None, validate=_in_utc_range)
    reason = fields.String(
        validate=[validate.Length(min=1, max=64), _text],
        metadata={"description": "last_error reason code"},
    )
    action = fields.String(
        validate=validate.OneOf(ACTIONS),
        metadata={"description": f"what processing did: one of {', '.join(ACTIONS)}"},
    )

    @pre_load
    def _statuses(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "status" in data:
            data["status"] = _split_statuses(data["status"])
        return data

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> EventFilter:
        return EventFilter(
            statuses=tuple(data.get("status") or ()),
            provider=data.get("provider"),
            deal_id=data.get("deal_id"),
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
            reason=data.get("reason"),
            action=data.get("action"),
        )


class ListQuerySchema(FilterSchema):
    """``GET /admin/events`` query: a filter plus paging (newest first)."""

    limit = _limit_field()
    cursor = _cursor_field()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        page = _page(data)
        return {"filter": super()._make(data, **kwargs), **page}


class AuditQuerySchema(Schema):
    """``GET /admin/audit`` query: paging only (other parameters are ignored)."""

    class Meta:
        unknown = EXCLUDE

    limit = _limit_field()
    cursor = _cursor_field()

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _page(data)


class ReplaySchema(Schema):
    """``POST /admin/events/<id>/replay`` body (optional)."""

    class Meta:
        unknown = RAISE

    force = fields.Boolean(
        load_default=False,
        metadata={
            "description": "also replay a succeeded event (it re-checks Google; never a second meeting)"
        },
    )


class BulkReplaySchema(FilterSchema):
    """``POST /admin/events/replay`` body: a filter (``status`` defaults to ``failed``)."""

    dry_run = fields.Boolean(load_default=False, metadata={"description": "count and sample only"})
    force = fields.Boolean(load_default=False, metadata={"description": "include succeeded events"})

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        dry_run = data.pop("dry_run", False)
        force = data.pop("force", False)
        data.setdefault("status", ["failed"])
        return {"filter": super()._make(data, **kwargs), "dry_run": dry_run, "force": force}
