"""Typed settings: environment variables plus the rules file (TOML), validated at start-up.

``load_settings(environ)`` is the only entry point. Anything wrong raises
:class:`~middleware.errors.ConfigError` with one line naming the key and the problem, which the
processes print before exiting (no traceback). Nothing here reads ``os.environ`` by itself:
callers pass the mapping, so tests build settings from plain dicts.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from middleware.errors import ConfigError
from middleware.meetings import MeetingRules, check_template

DEFAULT_CONFIG_PATH = "config/middleware.toml"
DEFAULT_DATABASE_URL = "sqlite:///instance/middleware.db"
DEFAULT_GOOGLE_API_BASE_URL = "https://www.googleapis.com/"
DEFAULT_HUBSPOT_API_BASE_URL = "https://api.hubapi.com"


# --- rules file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubSpotRules:
    trigger_stages: tuple[str, ...] = ("demoscheduled",)
    start_property: str = "demo_start_time"
    meet_url_property: str = "demo_meet_url"
    event_id_property: str = "demo_calendar_event_id"


@dataclass(frozen=True)
class PipedriveRules:
    trigger_stage_ids: tuple[int, ...] = ()
    start_field: str = ""
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


@dataclass(frozen=True)
class Rules:
    meeting: MeetingRules = field(default_factory=MeetingRules)
    hubspot: HubSpotRules = field(default_factory=HubSpotRules)
    pipedrive: PipedriveRules = field(default_factory=PipedriveRules)
    retry: RetryRules = field(default_factory=RetryRules)
    retention: RetentionRules = field(default_factory=RetentionRules)


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

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MeetingRules:
        return MeetingRules(**data)


class _HubSpotSchema(Schema):
    class Meta:
        unknown = RAISE

    trigger_stages = fields.List(
        fields.String(validate=_NAME),
        load_default=list(HubSpotRules.trigger_stages),
        validate=validate.Length(min=1),
    )
    start_property = fields.String(load_default=HubSpotRules.start_property, validate=_NAME)
    meet_url_property = fields.String(load_default=HubSpotRules.meet_url_property, validate=_NAME)
    event_id_property = fields.String(load_default=HubSpotRules.event_id_property, validate=_NAME)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> HubSpotRules:
        data["trigger_stages"] = tuple(data["trigger_stages"])
        return HubSpotRules(**data)


class _PipedriveSchema(Schema):
    class Meta:
        unknown = RAISE

    trigger_stage_ids = fields.List(fields.Integer(strict=True), load_default=list)
    start_field = fields.String(load_default="")
    meet_url_field = fields.String(load_default="")
    event_id_field = fields.String(load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PipedriveRules:
        data["trigger_stage_ids"] = tuple(data["trigger_stage_ids"])
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


class _RulesSchema(Schema):
    class Meta:
        unknown = RAISE

    meeting = fields.Nested(_MeetingSchema, load_default=MeetingRules)
    hubspot = fields.Nested(_HubSpotSchema, load_default=HubSpotRules)
    pipedrive = fields.Nested(_PipedriveSchema, load_default=PipedriveRules)
    retry = fields.Nested(_RetrySchema, load_default=RetryRules)
    retention = fields.Nested(_RetentionSchema, load_default=RetentionRules)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Rules:
        return Rules(**data)


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """Flatten marshmallow's nested error dict to (dotted.key, first message)."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        dotted = f"{prefix}.{key}" if prefix else str(key)
        return _first_error(value, dotted)
    if isinstance(messages, list) and messages:
        first = messages[0]
        if isinstance(first, dict | list):
            return _first_error(first, prefix)
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
        key, message = _first_error(exc.messages)
        if message == "Unknown field.":
            message = "unknown key"
        raise ConfigError(f"rules file {path}: {key}: {message}") from None
    return rules


# --- environment --------------------------------------------------------------------------------


def _redact_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid>"


def _http_url(value: str) -> None:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValidationError("must be an http:// or https:// URL")


def _database_url(value: str) -> None:
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValidationError(
            "is not a SQLAlchemy URL (sqlite:///path or postgresql+psycopg://…)"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValidationError(
            f"backend {url.get_backend_name()!r} is not supported; use sqlite or postgresql"
        )


def _key_file(value: str) -> None:
    path = Path(value)
    if not path.is_file():
        raise ValidationError(f"{value}: no such file")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ValidationError(f"{value}: not a readable JSON service account key") from None
    if not isinstance(info, dict):
        raise ValidationError(f"{value}: not a service account key")
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if info.get("type", "service_account") != "service_account" or missing:
        detail = f"missing {', '.join(missing)}" if missing else "type is not service_account"
        raise ValidationError(f"{value}: not a service account key ({detail})")


def _log_level(value: str) -> None:
    if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValidationError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _no_slash(url: str | None) -> str | None:
    return url.rstrip("/") or None if url else None


def env(
    name: str,
    kind: Callable[..., fields.Field],
    default: Any = None,
    *,
    normalize: Callable[[Any], Any] | None = None,
    **field_args: Any,
) -> Any:
    """Declare one environment variable: its name, type, default and validation, once.

    The dataclass field of :class:`Settings` carries the declaration in its metadata;
    :func:`load_settings` builds the schema from it. ``normalize`` tidies a loaded value.
    """
    return field(
        default=default,
        metadata={
            "env": name,
            "field": kind(load_default=default, allow_none=default is None, **field_args),
            "normalize": normalize,
        },
    )


_NAMED = validate.Length(min=1, max=2000)


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know, validated. One declaration per variable."""

    database_url: str = env(
        "DATABASE_URL", fields.String, DEFAULT_DATABASE_URL, validate=_database_url
    )
    config_path: str = env("MIDDLEWARE_CONFIG", fields.String, DEFAULT_CONFIG_PATH, validate=_NAMED)
    admin_token: str | None = env("ADMIN_TOKEN", fields.String)
    google_service_account_file: str | None = env(
        "GOOGLE_SERVICE_ACCOUNT_FILE", fields.String, validate=_key_file
    )
    google_api_base_url: str = env(
        "GOOGLE_API_BASE_URL",
        fields.String,
        DEFAULT_GOOGLE_API_BASE_URL,
        validate=_http_url,
        normalize=_with_slash,
    )
    hubspot_client_secret: str | None = env("HUBSPOT_CLIENT_SECRET", fields.String)
    hubspot_client_secret_previous: str | None = env(
        "HUBSPOT_CLIENT_SECRET_PREVIOUS", fields.String
    )
    hubspot_access_token: str | None = env("HUBSPOT_ACCESS_TOKEN", fields.String)
    hubspot_api_base_url: str = env(
        "HUBSPOT_API_BASE_URL",
        fields.String,
        DEFAULT_HUBSPOT_API_BASE_URL,
        validate=_http_url,
        normalize=_no_slash,
    )
    pipedrive_webhook_user: str | None = env("PIPEDRIVE_WEBHOOK_USER", fields.String)
    pipedrive_webhook_password: str | None = env("PIPEDRIVE_WEBHOOK_PASSWORD", fields.String)
    pipedrive_api_token: str | None = env("PIPEDRIVE_API_TOKEN", fields.String)
    pipedrive_api_base_url: str | None = env(
        "PIPEDRIVE_API_BASE_URL", fields.String, validate=_http_url, normalize=_no_slash
    )
    worker_concurrency: int = env(
        "WORKER_CONCURRENCY", fields.Integer, 8, validate=validate.Range(min=1, max=256)
    )
    worker_lease_seconds: float = env(
        "WORKER_LEASE_SECONDS", fields.Float, 60.0, validate=validate.Range(min=5, max=110)
    )
    worker_poll_seconds: float = env(
        "WORKER_POLL_SECONDS", fields.Float, 0.5, validate=validate.Range(min=0.01, max=30)
    )
    public_base_url: str | None = env(
        "PUBLIC_BASE_URL", fields.String, validate=_http_url, normalize=_no_slash
    )
    port: int = env("PORT", fields.Integer, 8000, validate=validate.Range(min=1, max=65535))
    web_concurrency: int = env(
        "WEB_CONCURRENCY", fields.Integer, 2, validate=validate.Range(min=1, max=64)
    )
    web_threads: int = env(
        "WEB_THREADS", fields.Integer, 4, validate=validate.Range(min=1, max=256)
    )
    log_level: str = env(
        "LOG_LEVEL", fields.String, "INFO", validate=_log_level, normalize=str.upper
    )
    rules: Rules = field(default_factory=Rules)

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(database_url={_redact_url(self.database_url)!r}, config_path={self.config_path!r})"

    @property
    def hubspot_secrets(self) -> tuple[str, ...]:
        """Client secrets a HubSpot signature may be made with (current first, for rotation)."""
        return tuple(
            s for s in (self.hubspot_client_secret, self.hubspot_client_secret_previous) if s
        )


#: ``(dataclass field, its declaration)`` for every environment variable, in table order.
ENV_VARS = tuple(f for f in dataclass_fields(Settings) if "env" in f.metadata)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from an environment mapping and the rules file it names.

    Empty variables count as unset. Raises :class:`ConfigError` with one line.
    """
    schema = Schema.from_dict({f.metadata["env"]: f.metadata["field"] for f in ENV_VARS})()
    names = set(schema.fields)
    present = {k: v for k, v in environ.items() if k in names and v.strip() != ""}
    try:
        loaded = schema.load(present, unknown=EXCLUDE)
    except ValidationError as exc:
        key, message = _first_error(exc.messages)
        raise ConfigError(f"{key}: {message}") from None
    values: dict[str, Any] = {}
    for f in ENV_VARS:
        value = loaded[f.metadata["env"]]
        normalize = f.metadata["normalize"]
        values[f.name] = normalize(value) if normalize and value is not None else value
    if bool(values["pipedrive_webhook_user"]) != bool(values["pipedrive_webhook_password"]):
        raise ConfigError(
            "PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD must be set together"
        )
    return Settings(**values, rules=load_rules(values["config_path"]))
