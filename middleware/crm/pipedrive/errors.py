"""Pipedrive's error answers → the error tree. Pure: no HTTP.

Facts: ``shared/reference/crm-webhooks-and-apis.md`` §2.5 and
``hubspot-2026-and-calendar-lifecycle.md`` §C "Rate-limit headers": a 429 answers "Too Many
Requests"; the window headers are ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (seconds until the 2-second window resets); ``Retry-After`` is honoured
first when sent. The token-budget headers are unconfirmed, so every ``x-*`` header of a 429 is
named in the message (never the token: it is sent as a header, not echoed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middleware.errors import MiddlewareError, PermanentError, RetryableError, shorten
from middleware.retry import parse_retry_after


@dataclass(frozen=True)
class Answer:
    """A Pipedrive error answer: status, lower-cased headers, Pipedrive's ``error`` text."""

    status: int
    headers: Mapping[str, str]
    message: str


def message_of(body: Any, text: str, reason: str) -> str:
    """Pipedrive's error bodies are ``{"success": false, "error": "…", "error_info": "…"}``."""
    if isinstance(body, dict):
        for key in ("error", "message", "error_info"):
            if isinstance(body.get(key), str) and body[key]:
                return shorten(body[key])
    return shorten(text) or reason or "(no body)"


def error_for(answer: Answer, *, what: str) -> MiddlewareError:
    """The error for a non-2xx answer to ``what`` (a call named for the message)."""
    status, message = answer.status, answer.message
    if status == 401:
        return PermanentError(
            "crm_unauthorized",
            f"Pipedrive refused the API token (401) for {what}: check PIPEDRIVE_API_TOKEN",
        )
    if status == 403:
        return PermanentError(
            "crm_forbidden",
            f"Pipedrive refused {what} (403: {message}): the API token's user lacks the "
            "permission; use a token of a user who can see and edit these deals",
        )
    if status == 429:
        headers = answer.headers
        wait = parse_retry_after(headers.get("retry-after"))
        if wait is None:
            wait = parse_retry_after(headers.get("x-ratelimit-reset"))
        seen = ", ".join(f"{k}={v}" for k, v in sorted(headers.items()) if k.startswith("x-"))
        return RetryableError(
            "crm_rate_limited",
            f"Pipedrive rate-limited {what} (429: {message})" + (f" [{seen}]" if seen else ""),
            retry_after=wait,
        )
    if status >= 500:
        return RetryableError(
            "crm_unavailable",
            f"Pipedrive answered {status} to {what}: {message}",
            retry_after=parse_retry_after(answer.headers.get("retry-after")),
        )
    return PermanentError("crm_bad_request", f"Pipedrive answered {status} to {what}: {message}")


def write_back_error(
    answer: Answer, *, deal_id: str, rules_keys: Mapping[str, str]
) -> MiddlewareError:
    """A 400 to the write-back PATCH that names a configured field is ``crm_property_missing``
    (the key is wrong or the field was deleted); else as :func:`error_for`."""
    if answer.status == 400:
        for key, rules_key in rules_keys.items():
            if key and key in answer.message:
                return PermanentError(
                    "crm_property_missing",
                    f"Pipedrive refused custom field {key!r} (write-back to deal {deal_id}: "
                    f"{answer.message}): create it as a text deal field (Settings → Data "
                    f"fields → Deal) and put its key in {rules_key} in the rules file",
                )
    return error_for(answer, what=f"the write-back to deal {deal_id}")
