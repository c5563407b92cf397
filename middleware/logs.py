"""Structured logs: one JSON object a line (``LOG_FORMAT=json``) or readable text, each line with
the ids of what is being worked on, and never a secret.

* **Context.** :func:`bound` (and the :func:`with_claim` decorator of ``Pipeline.run``) puts ids
  in a :class:`~contextvars.ContextVar`: ``request_id`` for an HTTP request (``web/request_log.py``),
  ``event_id``, ``provider``, ``account_id``, ``deal_id`` and ``attempt`` while an event is
  processed. Every line logged meanwhile, by any module, carries them; ``extra={...}`` adds more.
* **Formats.** :class:`JsonFormatter`: ``{"time", "level", "logger", "message", ...ids,
  ...extra, "exception"}``; :class:`TextFormatter`: the classic line, ids appended in brackets.
* **No secrets.** The formatters pass every string through :class:`Redactor`: the values of
  the secret settings (tokens, client secrets, passwords, the database password) become
  ``[redacted]``, and anything shaped like a bearer or basic credential, a Google access token
  or a PEM private key is cut out, whatever logged it. The code logs no header, body or token
  in the first place; this is the second line of defence.

:func:`configure` installs the handler on the root logger (the worker in ``worker.main``, the
web process in ``wsgi.py`` and in gunicorn's master through ``gunicorn_logging.py``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import wraps
from types import MappingProxyType
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

F = TypeVar("F", bound=Callable[..., Any])

#: The ids of the work this thread (or task) is doing now.
_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "middleware_log_context", default=MappingProxyType({})
)
#: Attributes every LogRecord has; anything else on a record came through ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_PATTERNS = (
    # A PEM block (a service-account private key), even cut short.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        "[private key]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]+"), "[google token]"),
)
#: Loggers that say little of use at INFO.
_QUIETER = {"alembic.runtime.plugins": logging.WARNING}
#: A secret shorter than this is not searched for (it would garble ordinary words).
MIN_SECRET_LENGTH = 4


def current() -> Mapping[str, Any]:
    """The ids bound now (see :func:`bound`)."""
    return _CONTEXT.get()


def bind(**ids: Any) -> contextvars.Token[Mapping[str, Any]]:
    """Add ``ids`` (None values skipped) to the context; :func:`unbind` the token afterwards."""
    return _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in ids.items() if v is not None}})


def unbind(token: contextvars.Token[Mapping[str, Any]]) -> None:
    try:
        _CONTEXT.reset(token)
    except ValueError:  # set in another context (a thread handed over): start afresh
        _CONTEXT.set({})


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Every line logged inside the block carries ``ids``."""
    token = bind(**ids)
    try:
        yield
    finally:
        unbind(token)


def with_claim(func: F) -> F:
    """Decorate ``method(self, claim, …)``: its lines carry the claimed event's ids."""

    @wraps(func)
    def wrapper(self: Any, claim: Any, *args: Any, **kwargs: Any) -> Any:
        with bound(
            event_id=claim.event_id,
            provider=claim.provider,
            account_id=claim.account_id,
            deal_id=claim.deal_id,
            attempt=claim.attempt,
        ):
            return func(self, claim, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Redactor:
    """Cuts known secret values and credential-shaped text out of a string."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        # Longest first: a secret containing another is replaced whole.
        self.secrets = tuple(sorted(found, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def secrets_of(settings: Any) -> list[str]:
    """Every secret value among the settings (the database URL's password included)."""
    values = [
        settings.admin_token,
        settings.hubspot_client_secret,
        settings.hubspot_client_secret_previous,
        settings.hubspot_access_token,
        settings.pipedrive_webhook_password,
        settings.pipedrive_api_token,
    ]
    with suppress(ArgumentError):
        values.append(make_url(settings.database_url).password)
    return [str(v) for v in values if v]


def _fields(record: logging.LogRecord, scrub: Redactor) -> dict[str, Any]:
    """The context ids and the record's ``extra`` values, strings scrubbed."""
    out: dict[str, Any] = dict(_CONTEXT.get())
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            out[key] = value
    return {k: _scrubbed(v, scrub) for k, v in out.items()}


def _scrubbed(value: Any, scrub: Redactor) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_scrubbed(v, scrub) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _scrubbed(v, scrub) for k, v in value.items()}
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, ids, exception."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.scrub = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        data: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
            "pid": record.process,
        }
        for key, value in _fields(record, self.scrub).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.scrub(self.formatException(record.exc_info))
        if record.stack_info:
            data["stack"] = self.scrub(self.formatStack(record.stack_info))
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [event_id=… provider=… deal_id=…]`` for a terminal (only the
    ids are appended; the JSON form has every field)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.scrub = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = {k: v for k, v in _fields(record, self.scrub).items() if _is_id(k)}
        if ids:
            line += " [" + " ".join(f"{k}={_plain(v)}" for k, v in ids.items()) + "]"
        return self.scrub(line)


def _is_id(key: str) -> bool:
    return key in ("provider", "attempt") or key.endswith(("_id", "_ids"))


def _plain(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def formatter(log_format: str, redactor: Redactor) -> logging.Formatter:
    return JsonFormatter(redactor) if log_format == "json" else TextFormatter(redactor)


def configure(settings: Any, *, stream: Any = None) -> logging.Formatter:
    """Log to stderr (or ``stream``) at ``LOG_LEVEL`` in ``LOG_FORMAT``, scrubbing the secrets
    of ``settings``. Idempotent: a second call replaces the handler. Returns the formatter (for
    gunicorn's own loggers)."""
    chosen = formatter(settings.log_format, Redactor(secrets_of(settings)))
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_middleware", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(chosen)
    handler._middleware = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name, level in _QUIETER.items():
        logging.getLogger(name).setLevel(max(level, root.level))
    logging.captureWarnings(True)  # warnings become log lines, in the same format

    def _thread_died(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        name = args.thread.name if args.thread else "?"
        logging.getLogger("middleware").critical(
            "thread %s died",
            name,
            exc_info=exc_info,  # type: ignore[arg-type]
        )

    threading.excepthook = _thread_died
    return chosen
