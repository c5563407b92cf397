"""The exception tree.

Every failure the service can meet while processing an event is one of two kinds:

* :class:`RetryableError`: the same call may succeed later (timeouts, connection errors,
  HTTP 429, 5xx, Google's rate-limit 403s). The event goes to ``retrying`` with backoff.
* :class:`PermanentError`: retrying cannot help until a person fixes something (bad data,
  a rep Google refuses to impersonate, a missing CRM property, other 4xx). The event goes
  to ``failed`` at once.

Each error carries a stable machine-readable ``reason`` code (listed in the README's
troubleshooting table) and a message a person can act on. Messages never contain secrets:
response bodies are cut short and tokens are never formatted into them.
"""

from __future__ import annotations


class MiddlewareError(Exception):
    """Base of every error the service raises on purpose."""

    retryable: bool = False

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        retry_after: float | None = None,
        park_scope: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        #: seconds the remote side asked us to wait (``Retry-After``), if any.
        self.retry_after = retry_after
        #: Set on a retryable error that is a long, account- or rep-wide wait rather than a
        #: fault of this event (HubSpot's ``DAILY`` 429 or 477 migration, Google's
        #: ``quotaExceeded``): e.g. ``"hubspot:62515"`` or ``"google:rep@example.com"``. The
        #: event is *parked* for ``retry_after`` seconds (uncapped) without spending an attempt,
        #: and every other event of the same scope waits too, without calling the remote side.
        self.park_scope = park_scope

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r})"


class RetryableError(MiddlewareError):
    """A transient fault: try again later."""

    retryable = True


class PermanentError(MiddlewareError):
    """A fault that needs a person: do not retry."""

    retryable = False


class SkipEvent(Exception):
    """The event needs no work (for example the deal left the trigger stage)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(Exception):
    """Bad settings or rules file. The message is one line naming the key and the problem."""


class WebhookError(Exception):
    """A webhook request that must be refused. ``status`` is the HTTP status to answer."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class SignatureError(WebhookError):
    """Missing, stale or wrong signature or credentials (HTTP 401)."""

    status = 401


class PayloadError(WebhookError):
    """A body that is not what the provider sends (HTTP 400)."""

    status = 400


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message``, for a CLI or start-up error (never a traceback)."""
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:limit]}" if first else type(exc).__name__


def shorten(text: str | bytes | None, limit: int = 300) -> str:
    """Cut a remote response body short for an error message."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
