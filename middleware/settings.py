"""Typed settings: environment variables plus the rules file (TOML), validated at start-up.

``load_settings(environ)`` is the only entry point. Anything wrong raises
:class:`~middleware.errors.ConfigError` with one line naming the key and the problem, which the
processes print before exiting (no traceback). Nothing here reads ``os.environ`` by itself:
callers pass the mapping, so tests build settings from plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from middleware.deadlines import LONGEST_CALL_SECONDS
from middleware.errors import ConfigError
from middleware.rules import AUTH_MODES, DELEGATION, OAUTH, Rules, first_error, load_rules
from middleware.setting_values import (  # noqa: F401 - CONNECT_CALLBACK_PATH is read from here
    CONNECT_CALLBACK_PATH,
    _bind,
    _database_url,
    _host_list,
    _hosts,
    _http_url,
    _key_file,
    _log_format,
    _log_level,
    _metrics_dir,
    _no_slash,
    _redact_url,
    _redirect_uri,
    _token_keys,
    _with_slash,
)
from middleware.token_cipher import split_keys

DEFAULT_CONFIG_PATH = "config/middleware.toml"
DEFAULT_DATABASE_URL = "sqlite:///instance/middleware.db"
DEFAULT_GOOGLE_API_BASE_URL = "https://www.googleapis.com/"
DEFAULT_HUBSPOT_API_BASE_URL = "https://api.hubapi.com"
# Google's OAuth 2.0 endpoints for web server apps (the "auth_uri" and "token_uri" of a
# client_secret.json; https://developers.google.com/identity/protocols/oauth2/web-server).
DEFAULT_GOOGLE_OAUTH_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
DEFAULT_GOOGLE_OAUTH_TOKEN_URI = "https://oauth2.googleapis.com/token"


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
    #: where reps' Google credentials come from: the service account (domain-wide delegation)
    #: or each rep's own OAuth refresh token; ``[google.rep_auth]`` overrides it per rep
    google_auth_mode: str = env(
        "GOOGLE_AUTH_MODE",
        fields.String,
        DELEGATION,
        validate=validate.OneOf(AUTH_MODES),
    )
    google_oauth_client_id: str | None = env("GOOGLE_OAUTH_CLIENT_ID", fields.String)
    google_oauth_client_secret: str | None = env("GOOGLE_OAUTH_CLIENT_SECRET", fields.String)
    google_oauth_redirect_uri: str | None = env(
        "GOOGLE_OAUTH_REDIRECT_URI", fields.String, validate=_redirect_uri, normalize=_no_slash
    )
    google_oauth_auth_uri: str = env(
        "GOOGLE_OAUTH_AUTH_URI", fields.String, DEFAULT_GOOGLE_OAUTH_AUTH_URI, validate=_http_url
    )
    google_oauth_token_uri: str = env(
        "GOOGLE_OAUTH_TOKEN_URI", fields.String, DEFAULT_GOOGLE_OAUTH_TOKEN_URI, validate=_http_url
    )
    #: Fernet keys sealing the reps' refresh tokens: the first seals, every one opens
    google_token_keys: tuple[str, ...] = env(
        "GOOGLE_TOKEN_KEYS", fields.String, (), validate=_token_keys, normalize=split_keys
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
    # Google's Calendar quotas are 600 requests a minute per user and 10,000 per project: 90 %.
    google_rep_requests_per_minute: float = env(
        "GOOGLE_REP_REQUESTS_PER_MINUTE", fields.Float, 540.0, validate=validate.Range(min=0)
    )
    google_project_requests_per_minute: float = env(
        "GOOGLE_PROJECT_REQUESTS_PER_MINUTE", fields.Float, 9000.0, validate=validate.Range(min=0)
    )
    # How many of a pace's requests may go at once after a quiet spell (store/pace_rule.py):
    # a rep's evenly spaced (Google may refuse quick writes to one calendar), the project's one
    # second of its pace (Google counts per minute: 9,000 + 150 stays under 10,000).
    google_rep_requests_burst: int = env(
        "GOOGLE_REP_REQUESTS_BURST", fields.Integer, 1, validate=validate.Range(min=1)
    )
    google_project_requests_burst: int = env(
        "GOOGLE_PROJECT_REQUESTS_BURST", fields.Integer, 150, validate=validate.Range(min=1)
    )
    worker_concurrency: int = env(
        "WORKER_CONCURRENCY", fields.Integer, 8, validate=validate.Range(min=1, max=256)
    )
    worker_lease_seconds: float = env(
        "WORKER_LEASE_SECONDS", fields.Float, 60.0, validate=validate.Range(min=5, max=110)
    )
    #: an attempt's longest run before its lease is left to expire (taken over); at least
    #: twice the longest call deadline, so one slow call that still finishes is never cut
    worker_attempt_timeout_seconds: float = env(
        "WORKER_ATTEMPT_TIMEOUT_SECONDS",
        fields.Float,
        120.0,
        validate=validate.Range(min=2 * LONGEST_CALL_SECONDS, max=3600),
    )
    worker_poll_seconds: float = env(
        "WORKER_POLL_SECONDS", fields.Float, 0.5, validate=validate.Range(min=0.01, max=30)
    )
    public_base_url: str | None = env(
        "PUBLIC_BASE_URL", fields.String, validate=_http_url, normalize=_no_slash
    )
    allowed_hosts: tuple[str, ...] = env(
        "ALLOWED_HOSTS", fields.String, (), validate=_hosts, normalize=_host_list
    )
    admin_bind: str | None = env("ADMIN_BIND", fields.String, validate=_bind)
    port: int = env("PORT", fields.Integer, 8000, validate=validate.Range(min=1, max=65535))
    web_concurrency: int = env(
        "WEB_CONCURRENCY", fields.Integer, 2, validate=validate.Range(min=1, max=64)
    )
    #: unset: :func:`default_web_threads` (more on SQLite, whose intake commits in groups)
    web_threads: int = env("WEB_THREADS", fields.Integer, validate=validate.Range(min=1, max=256))
    web_read_deadline_seconds: float = env(
        "WEB_READ_DEADLINE_SECONDS", fields.Float, 10.0, validate=validate.Range(min=0.5, max=300)
    )
    log_level: str = env(
        "LOG_LEVEL", fields.String, "INFO", validate=_log_level, normalize=str.upper
    )
    log_format: str = env(
        "LOG_FORMAT", fields.String, "json", validate=_log_format, normalize=str.lower
    )
    #: the worker's own /metrics listener (the web process serves /metrics on PORT)
    metrics_port: int | None = env(
        "METRICS_PORT", fields.Integer, validate=validate.Range(min=1, max=65535)
    )
    #: where the web process's gunicorn workers keep their metric files (multiprocess mode)
    prometheus_multiproc_dir: str | None = env(
        "PROMETHEUS_MULTIPROC_DIR", fields.String, validate=_metrics_dir
    )
    rules: Rules = field(default_factory=Rules)

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(database_url={_redact_url(self.database_url)!r}, config_path={self.config_path!r})"

    def google_auth_mode_for(self, rep: str) -> str:
        """``delegation`` or ``oauth`` for ``rep``: ``[google.rep_auth]``, else ``GOOGLE_AUTH_MODE``."""
        return self.rules.google.rep_auth.get(rep.strip().lower(), self.google_auth_mode)

    @property
    def google_oauth_in_use(self) -> bool:
        """Whether any rep gets their credentials through OAuth."""
        return self.google_auth_mode == OAUTH or OAUTH in self.rules.google.rep_auth.values()

    @property
    def google_delegation_in_use(self) -> bool:
        """Whether any rep (every rep not named otherwise, by default) uses the service account."""
        return (
            self.google_auth_mode == DELEGATION or DELEGATION in self.rules.google.rep_auth.values()
        )

    @property
    def google_connect_url(self) -> str | None:
        """The connect page (``/connect/google``) the redirect URI's origin serves, or None."""
        uri = self.google_oauth_redirect_uri
        return uri.removesuffix("/callback") if uri else None

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
        key, message = first_error(exc.messages)
        raise ConfigError(f"{key}: {message}") from None
    values: dict[str, Any] = {}
    for f in ENV_VARS:
        value = loaded[f.metadata["env"]]
        normalize = f.metadata["normalize"]
        values[f.name] = normalize(value) if normalize and value is not None else value
    if values["admin_bind"] and values["admin_bind"].rpartition(":")[2] == str(values["port"]):
        raise ConfigError("ADMIN_BIND: must not use PORT's port; the admin API needs its own")
    if bool(values["pipedrive_webhook_user"]) != bool(values["pipedrive_webhook_password"]):
        raise ConfigError(
            "PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD must be set together"
        )
    if values["web_threads"] is None:
        values["web_threads"] = default_web_threads(values["database_url"])
    settings = Settings(**values, rules=load_rules(values["config_path"]))
    _check_oauth(settings)
    return settings


#: Threads per gunicorn worker when ``WEB_THREADS`` is unset: on PostgreSQL each may hold a
#: pooled connection (see README's *Running at scale*); on SQLite a webhook's thread mostly waits
#: for its process's group commit, so more of them make larger group commits and keep requests
#: flowing while a commit is flushed (BENCHMARKS.md, *Ingest*).
WEB_THREADS = 4
WEB_THREADS_SQLITE = 16


def default_web_threads(database_url: str) -> int:
    return WEB_THREADS_SQLITE if database_url.startswith("sqlite") else WEB_THREADS


def _check_oauth(settings: Settings) -> None:
    """OAuth in use (``GOOGLE_AUTH_MODE=oauth`` or a rep named ``oauth`` in the rules) needs
    the client, its redirect URI and the keys that seal the tokens. Raises ``ConfigError``."""
    if not settings.google_oauth_in_use:
        return
    needed = {
        "GOOGLE_OAUTH_CLIENT_ID": settings.google_oauth_client_id,
        "GOOGLE_OAUTH_CLIENT_SECRET": settings.google_oauth_client_secret,
        "GOOGLE_OAUTH_REDIRECT_URI": settings.google_oauth_redirect_uri,
        "GOOGLE_TOKEN_KEYS": settings.google_token_keys,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        why = (
            "GOOGLE_AUTH_MODE=oauth"
            if settings.google_auth_mode == OAUTH
            else f"rules file {settings.config_path}: google.rep_auth names oauth reps, which"
        )
        raise ConfigError(f"{why} needs {', '.join(missing)} (see README, Connecting reps)")
