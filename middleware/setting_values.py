"""What one setting may hold: the checks and tidy-ups ``settings.py`` declares its variables
with (marshmallow validators raising ``ValidationError``; normalizers returning the value)."""

from __future__ import annotations

import json
from pathlib import Path

from marshmallow import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from middleware.token_cipher import fernet_key_problem, split_keys

#: The path the connect flow's callback is served at (``web/connect.py``).
CONNECT_CALLBACK_PATH = "/connect/google/callback"


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


def _redirect_uri(value: str) -> None:
    _http_url(value)
    if not value.rstrip("/").endswith(CONNECT_CALLBACK_PATH):
        raise ValidationError(
            f"must be this service's {CONNECT_CALLBACK_PATH} URL, e.g. "
            f"https://hooks.example.com{CONNECT_CALLBACK_PATH} (and registered as an authorized "
            "redirect URI of the OAuth client)"
        )


def _token_keys(value: str) -> None:
    problem = fernet_key_problem(split_keys(value))
    if problem:
        raise ValidationError(problem)


def _log_level(value: str) -> None:
    if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValidationError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _log_format(value: str) -> None:
    if value.lower() not in ("json", "text"):
        raise ValidationError("must be json (one JSON object a line) or text (for a terminal)")


def _metrics_dir(value: str) -> None:
    if Path(value).exists() and not Path(value).is_dir():
        raise ValidationError(f"{value} is not a directory")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _no_slash(url: str | None) -> str | None:
    return url.rstrip("/") or None if url else None


def _host_list(value: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return value
    return tuple(h.strip().lower() for h in value.split(",") if h.strip())


def _hosts(value: str) -> None:
    for host in _host_list(value):
        if "/" in host or "://" in host or " " in host:
            raise ValidationError(
                f"{host!r} is not a host name: list names such as hooks.example.com,"
                " comma-separated (no scheme, no path)"
            )


def _bind(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValidationError("must be HOST:PORT, e.g. 127.0.0.1:9000")
