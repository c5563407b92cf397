"""The rules file (TOML): what meetings look like, which CRM stages and fields mean what,
how patiently faults are retried. Validated once, at start-up.

``load_rules(path)`` raises :class:`~middleware.errors.ConfigError` with one line,
``rules file PATH: table.key: what is wrong``; unknown keys are refused, to catch typos.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from middleware.errors import ConfigError
from middleware.meetings import MeetingRules, check_template


@dataclass(frozen=True)
class HubSpotRules:
    #: stages that mean "Demo Scheduled": internal ids or labels (resolved by the worker)
    trigger_stages: tuple[str, ...] = ("demoscheduled",)
    #: stages that cancel the deal's meeting (e.g. "closedlost"); empty: never cancel
    cancel_stages: tuple[str, ...] = ()
    start_property: str = "demo_start_time"
    meet_url_property: str = "demo_meet_url"
    event_id_property: str = "demo_calendar_event_id"


@dataclass(frozen=True)
class PipedriveRules:
    trigger_stage_ids: tuple[int, ...] = ()
    cancel_stage_ids: tuple[int, ...] = ()
    start_field: str = ""
    start_time_field: str = ""
    meet_url_field: str = ""
    event_id_field: str = ""


@dataclass(frozen=True)
class RetryRules:
    """How often and how patiently a transient fault is retried (see ``retry.py``)."""

    max_attempts: int = 10
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    #: Shortest park of a rep after Google's ``quotaExceeded`` (no attempt spent while parked).
    quota_park_minutes: int = 30


@dataclass(frozen=True)
class RetentionRules:
    """How long finished events are kept by ``middleware prune`` (0 = keep forever)."""

    keep_days: int = 30


DELEGATION = "delegation"
OAUTH = "oauth"
#: Where a rep's Google credentials come from (``GOOGLE_AUTH_MODE``, ``[google.rep_auth]``).
AUTH_MODES = (DELEGATION, OAUTH)


@dataclass(frozen=True)
class GoogleRules:
    """The rules file's ``[google]`` table."""

    #: rep email (lower case) → ``delegation`` or ``oauth``, overriding ``GOOGLE_AUTH_MODE``
    rep_auth: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    meeting: MeetingRules = field(default_factory=MeetingRules)
    hubspot: HubSpotRules = field(default_factory=HubSpotRules)
    pipedrive: PipedriveRules = field(default_factory=PipedriveRules)
    retry: RetryRules = field(default_factory=RetryRules)
    retention: RetentionRules = field(default_factory=RetentionRules)
    google: GoogleRules = field(default_factory=GoogleRules)


def _template(value: str) -> None:
    try:
        check_template(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown IANA time zone {value!r}") from None


_NAME = validate.Length(min=1, max=200)


class _MeetingSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(load_default=MeetingRules.title, validate=[_NAME, _template])
    description = fields.String(load_default=MeetingRules.description, validate=_template)
    duration_minutes = fields.Integer(
        load_default=MeetingRules.duration_minutes,
        strict=True,
        validate=validate.Range(min=1, max=24 * 60),
    )
    timezone = fields.String(load_default=MeetingRules.timezone, validate=_timezone)
    send_updates = fields.String(
        load_default=MeetingRules.send_updates,
        validate=validate.OneOf(["all", "externalOnly", "none"]),
    )
    calendar_id = fields.String(load_default=MeetingRules.calendar_id, validate=_NAME)
    max_attendees = fields.Integer(
        load_default=MeetingRules.max_attendees,
        strict=True,
        validate=validate.Range(min=1, max=1000),
    )

    link_in_description = fields.Boolean(
        load_default=MeetingRules.link_in_description, truthy={True}, falsy={False}
    )
    rep_timezones = fields.Dict(
        keys=fields.Email(), values=fields.String(validate=_timezone), load_default=dict
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MeetingRules:
        data["rep_timezones"] = {k.strip().lower(): v for k, v in data["rep_timezones"].items()}
        return MeetingRules(**data)


class _HubSpotSchema(Schema):
    class Meta:
        unknown = RAISE

    trigger_stages = fields.List(
        fields.String(validate=_NAME),
        load_default=list(HubSpotRules.trigger_stages),
        validate=validate.Length(min=1),
    )
    cancel_stages = fields.List(fields.String(validate=_NAME), load_default=list)
    start_property = fields.String(load_default=HubSpotRules.start_property, validate=_NAME)
    meet_url_property = fields.String(load_default=HubSpotRules.meet_url_property, validate=_NAME)
    event_id_property = fields.String(load_default=HubSpotRules.event_id_property, validate=_NAME)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> HubSpotRules:
        data["trigger_stages"] = tuple(data["trigger_stages"])
        data["cancel_stages"] = tuple(data["cancel_stages"])
        both = set(data["trigger_stages"]) & set(data["cancel_stages"])
        if both:
            raise ValidationError(
                f"{sorted(both)[0]!r} is both a trigger and a cancel stage", "cancel_stages"
            )
        return HubSpotRules(**data)


class _PipedriveSchema(Schema):
    class Meta:
        unknown = RAISE

    trigger_stage_ids = fields.List(fields.Integer(strict=True), load_default=list)
    cancel_stage_ids = fields.List(fields.Integer(strict=True), load_default=list)
    start_field = fields.String(load_default="")
    start_time_field = fields.String(load_default="")
    meet_url_field = fields.String(load_default="")
    event_id_field = fields.String(load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PipedriveRules:
        data["trigger_stage_ids"] = tuple(data["trigger_stage_ids"])
        data["cancel_stage_ids"] = tuple(data["cancel_stage_ids"])
        return PipedriveRules(**data)


class _RetrySchema(Schema):
    class Meta:
        unknown = RAISE

    max_attempts = fields.Integer(
        load_default=RetryRules.max_attempts, strict=True, validate=validate.Range(min=1, max=100)
    )
    base_seconds = fields.Float(
        load_default=RetryRules.base_seconds, validate=validate.Range(min=0.01, max=3600)
    )
    max_seconds = fields.Float(
        load_default=RetryRules.max_seconds, validate=validate.Range(min=0.01, max=86400)
    )
    quota_park_minutes = fields.Integer(
        load_default=RetryRules.quota_park_minutes,
        strict=True,
        validate=validate.Range(min=1, max=1440),
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RetryRules:
        return RetryRules(**data)


class _RetentionSchema(Schema):
    class Meta:
        unknown = RAISE

    keep_days = fields.Integer(
        load_default=RetentionRules.keep_days, strict=True, validate=validate.Range(min=0)
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RetentionRules:
        return RetentionRules(**data)


class _GoogleSchema(Schema):
    class Meta:
        unknown = RAISE

    rep_auth = fields.Dict(
        keys=fields.Email(),
        values=fields.String(validate=validate.OneOf(AUTH_MODES)),
        load_default=dict,
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> GoogleRules:
        return GoogleRules({k.strip().lower(): v for k, v in data["rep_auth"].items()})


class _RulesSchema(Schema):
    class Meta:
        unknown = RAISE

    meeting = fields.Nested(_MeetingSchema, load_default=MeetingRules)
    hubspot = fields.Nested(_HubSpotSchema, load_default=HubSpotRules)
    pipedrive = fields.Nested(_PipedriveSchema, load_default=PipedriveRules)
    retry = fields.Nested(_RetrySchema, load_default=RetryRules)
    retention = fields.Nested(_RetentionSchema, load_default=RetentionRules)
    google = fields.Nested(_GoogleSchema, load_default=GoogleRules)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Rules:
        return Rules(**data)


def first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """Flatten marshmallow's nested error dict to (dotted.key, first message)."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        dotted = f"{prefix}.{key}" if prefix else str(key)
        return first_error(value, dotted)
    if isinstance(messages, list) and messages:
        first = messages[0]
        if isinstance(first, dict | list):
            return first_error(first, prefix)
        return prefix, str(first)
    return prefix, str(messages)


def load_rules(path: str | Path) -> Rules:
    """Read and validate the rules file. Raises :class:`ConfigError`."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"rules file {path}: not found (set MIDDLEWARE_CONFIG)") from None
    except OSError as exc:
        raise ConfigError(f"rules file {path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules file {path}: not valid TOML ({exc})") from None
    try:
        rules: Rules = _RulesSchema().load(raw)
    except ValidationError as exc:
        key, message = first_error(exc.messages)
        if message == "Unknown field.":
            message = "unknown key"
        raise ConfigError(f"rules file {path}: {key}: {message}") from None
    return rules
