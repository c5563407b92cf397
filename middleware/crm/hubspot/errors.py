"""HubSpot's error answers → the exception tree. Pure: no HTTP, no clock (``now`` is passed in).

The client (``http.py``) reads a non-2xx answer into an :class:`Answer` and asks
:func:`error_for` (any call) or :func:`write_back_error` (the deal PATCH) which error to raise.
Facts and sources: ``shared/reference/crm-webhooks-and-apis.md`` §1.7 "Rate limits and 429s" and
``shared/reference/hubspot-2026-and-calendar-lifecycle.md`` §A3 (status codes, 429 policies) and
§A4 (validation rules enforced on API writes from 2026-09).

Every error has a stable ``reason`` (README, Troubleshooting). Two are *account-wide waits*
(``park_scope="hubspot:<portal id>"``): the ``DAILY`` 429 (until the account's midnight) and 477
(migration in progress, ``Retry-After`` seconds, up to about a day). The pipeline parks such an
event without spending an attempt and holds back the account's other events meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from middleware.errors import MiddlewareError, PermanentError, RetryableError
from middleware.retry import parse_retry_after

__all__ = ["Answer", "account_zone", "error_for", "next_midnight", "write_back_error"]

#: What this service needs of the app's token (reference §1.7 lists the scope of each call).
REQUIRED_SCOPES = (
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.contacts.read",
    "crm.objects.owners.read",
)
#: 423 Locked: "Locks will last for 2 seconds", so wait at least that long (§A3).
LOCKED_MIN_WAIT = 2.0
#: A 477 without a usable ``Retry-After`` (HubSpot documents one): check again in 5 minutes.
MIGRATING_DEFAULT_WAIT = 300.0
# Codes in HubSpot's 400 "Property values were not valid" answer to a PATCH.
PROPERTY_DOESNT_EXIST = "PROPERTY_DOESNT_EXIST"
READ_ONLY_VALUE = "READ_ONLY_VALUE"
_INVALID_PROPERTIES_PREFIX = "Property values were not valid: "
_VALIDATION_ERROR = "VALIDATION_ERROR"


@dataclass(frozen=True)
class Answer:
    """A HubSpot error answer as the mapping needs it."""

    status: int
    #: response headers with lower-cased names
    headers: Mapping[str, str]
    #: the parsed JSON body, or None when it was not JSON
    body: Any
    #: the raw body text (only searched for error codes, never quoted whole)
    text: str
    #: HubSpot's ``message`` (or the raw body), cut short and without the token
    message: str

    def field(self, name: str) -> str | None:
        """A top-level string field of the JSON body (HubSpot: every field is optional)."""
        value = self.body.get(name) if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None


def account_zone(time_zone: str | None, utc_offset_ms: Any = None) -> tzinfo:
    """The account's time zone from its details (``timeZone``, e.g. ``"US/Eastern"``); else the
    fixed ``utcOffsetMilliseconds``; else UTC."""
    if time_zone:
        try:
            return ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    offset = utc_offset_ms if type(utc_offset_ms) is int else None  # not a bool
    if offset is not None and abs(offset) < 24 * 3600 * 1000:
        return timezone(timedelta(milliseconds=offset))
    return UTC


def next_midnight(now: datetime, zone: tzinfo) -> datetime:
    """The first midnight after ``now`` (aware) in ``zone``: when HubSpot's daily count resets
    ("at midnight in the account's time zone", reference §1.7 and §A3)."""
    local = now.astimezone(zone)
    tomorrow = local.date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone)


def error_for(
    answer: Answer, *, what: str, account_id: str | None, zone: tzinfo, now: datetime
) -> MiddlewareError:
    """The error for a non-2xx answer to ``what`` (a call named for the message).

    ``account_id`` is the HubSpot portal the call was for (None before it is known: then no
    account-wide wait is set); ``zone`` and ``now`` date the end of a daily limit.
    """
    status, message = answer.status, answer.message
    scope = f"hubspot:{account_id}" if account_id else None
    if status == 401:
        return PermanentError(
            "crm_unauthorized",
            f"HubSpot refused the access token (401) for {what}: check HUBSPOT_ACCESS_TOKEN",
        )
    if status == 403:
        return PermanentError(
            "crm_forbidden",
            f"HubSpot refused {what} (403: {message}): the app lacks a scope: "
            f"it needs {', '.join(REQUIRED_SCOPES)}",
        )
    if status == 423:
        # §A3: returned while syncing a large volume quickly; the lock lasts 2 s.
        wait = max(parse_retry_after(answer.headers.get("retry-after")) or 0.0, LOCKED_MIN_WAIT)
        return RetryableError(
            "crm_locked",
            f"HubSpot answered 423 Locked to {what} (too many writes at once): {message}",
            retry_after=wait,
        )
    if status == 477:
        # §A3: the account moves between data-hosting locations; Retry-After is in seconds,
        # "typically up to 24 hours". Account-wide: park, don't spend attempts.
        asked = parse_retry_after(answer.headers.get("retry-after"))
        wait = MIGRATING_DEFAULT_WAIT if asked is None else asked
        until = (now + timedelta(seconds=wait)).astimezone(UTC)
        return RetryableError(
            "crm_migrating",
            f"HubSpot account {account_id or '?'} is migrating to another data-hosting location "
            f"(477 on {what}): the event waits until {until.isoformat(timespec='seconds')} "
            "(HubSpot's Retry-After) and is then tried again",
            retry_after=wait,
            park_scope=scope,
        )
    if status == 429:
        return _rate_limited(answer, what=what, account_id=account_id, zone=zone, now=now)
    if status >= 500:
        return RetryableError(
            "crm_unavailable",
            f"HubSpot answered {status} to {what}: {message}",
            retry_after=parse_retry_after(answer.headers.get("retry-after")),
        )
    return PermanentError("crm_bad_request", f"HubSpot answered {status} to {what}: {message}")


def write_back_error(
    answer: Answer,
    *,
    deal_id: str,
    rules_keys: Mapping[str, str],
    account_id: str | None,
    zone: tzinfo,
    now: datetime,
) -> MiddlewareError:
    """The error for a non-2xx answer to the deal PATCH of the write-back.

    ``rules_keys`` maps each written property to its rules-file key. A 400 naming a missing or
    read-only property is ``crm_property_missing`` / ``crm_property_read_only``; any other 400
    ``VALIDATION_ERROR`` is an account validation rule (enforced on API writes from 2026-09,
    §A4): ``crm_validation_rule``. Everything else is as :func:`error_for`.
    """
    what = f"the write-back to deal {deal_id}"
    if answer.status == 400:
        refused = refused_properties(answer, rules_keys)
        missing = [name for name, code in refused if code == PROPERTY_DOESNT_EXIST]
        read_only = [name for name, code in refused if code == READ_ONLY_VALUE]
        if missing:
            name = missing[0]
            return PermanentError(
                "crm_property_missing",
                f"deal property {name!r} does not exist in HubSpot (write-back to deal "
                f"{deal_id}): create it as a single-line text property (Settings → Properties "
                f"→ Deal properties) or fix {rules_keys.get(name, 'the hubspot section')} "
                "in the rules file",
            )
        if read_only:
            name = read_only[0]
            return PermanentError(
                "crm_property_read_only",
                f"deal property {name!r} is read-only in HubSpot (write-back to deal "
                f"{deal_id}): point {rules_keys.get(name, 'the hubspot section')} in the rules "
                "file at a writable single-line text property",
            )
        if _VALIDATION_ERROR in (answer.field("category"), answer.field("errorType")):
            return PermanentError(
                "crm_validation_rule",
                f"HubSpot refused {what} because of a validation rule of the account "
                f"(400 VALIDATION_ERROR: {answer.message}); the Calendar event and its Meet "
                "link are kept: fill in the deal what the rule asks for, or relax the rule in "
                "HubSpot's property or pipeline settings, then replay",
            )
    return error_for(answer, what=what, account_id=account_id, zone=zone, now=now)


def refused_properties(answer: Answer, known: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(property name, error code)`` pairs from a 400 answer to a deal PATCH.

    HubSpot puts a JSON list after "Property values were not valid: " in ``message``, each
    item with ``name`` and ``error`` (see the emulator's tests); newer answers may also list
    ``errors[].{code, context.propertyName}``. When neither can be read but the body names
    a code, the configured property the body mentions is blamed.
    """
    body = answer.body
    if not isinstance(body, dict):
        return []
    pairs: list[tuple[str, str]] = []
    message = body.get("message")
    if isinstance(message, str) and message.startswith(_INVALID_PROPERTIES_PREFIX):
        try:
            items = json.loads(message[len(_INVALID_PROPERTIES_PREFIX) :])
        except ValueError:
            items = None
        if isinstance(items, list):
            pairs += [
                (str(i.get("name")), str(i.get("error")))
                for i in items
                if isinstance(i, dict) and i.get("name")
            ]
    errors = body.get("errors")
    for item in errors if isinstance(errors, list) else []:
        context = item.get("context") if isinstance(item, dict) else None
        names = context.get("propertyName") if isinstance(context, dict) else None
        if isinstance(names, list):
            pairs += [(str(n), str(item.get("code"))) for n in names]
    if not pairs:
        for code in (PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE):
            if code in answer.text:
                pairs += [(name, code) for name in known if name in answer.text]
    return pairs


def _rate_limited(
    answer: Answer, *, what: str, account_id: str | None, zone: tzinfo, now: datetime
) -> MiddlewareError:
    # §A3 "429 policy names": DAILY or TEN_SECONDLY_ROLLING (also SECONDLY); the body has
    # errorType RATE_LIMIT and policyName. HubSpot's own SDK does not retry DAILY: it lasts
    # until the daily count resets at midnight in the account's time zone (§1.7).
    policy = (answer.field("policyName") or "").upper()
    if policy == "DAILY":
        reset = next_midnight(now, zone)
        wait = max((reset - now).total_seconds(), 1.0)
        return RetryableError(
            "crm_daily_limit",
            f"HubSpot's daily API limit for account {account_id or '?'} is spent (429 DAILY on "
            f"{what}): the event waits until {reset.isoformat(timespec='seconds')} (midnight in "
            "the account's time zone) and is then tried again; if this recurs, lower the API "
            "use of other integrations or raise the limit",
            retry_after=wait,
            park_scope=f"hubspot:{account_id}" if account_id else None,
        )
    return RetryableError(
        "crm_rate_limited",
        f"HubSpot rate-limited {what} (429): {answer.message}",
        retry_after=_burst_wait(answer.headers),
    )


def _burst_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait after a burst 429: ``Retry-After`` if given (optional on 429, §A3);
    else, when the window is used up (``X-HubSpot-RateLimit-Remaining: 0``), its length."""
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if (headers.get("x-hubspot-ratelimit-remaining") or "").strip() == "0":
        try:
            return max(float(headers["x-hubspot-ratelimit-interval-milliseconds"]) / 1000, 0.0)
        except (KeyError, ValueError):
            return None
    return None
