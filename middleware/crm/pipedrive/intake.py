"""``POST /webhooks/pipedrive``: HTTP basic auth, then one v2 webhook judged. Sans I/O.

Facts (``shared/reference/crm-webhooks-and-apis.md`` §2, ``hubspot-2026-and-calendar-lifecycle.md``
§C): Pipedrive protects a webhook only with HTTP basic auth (``http_auth_user`` /
``http_auth_password``, §2.1); a v2 body is ``{"meta", "data", "previous"}`` with
``meta.action`` ``create``, ``change`` or ``delete`` (§2.2), ``previous`` holding only the
changed fields on ``change`` (§2.4, §C), ``meta.id`` the event's id, stable across redeliveries
(§5). ``meta`` ids and ``timestamp`` come as strings (official example, ISO time) or numbers
(Prismatic sample, epoch seconds), so both are read, strictly. Pipedrive bans an endpoint after
10 failed first deliveries and then loses events (§2.3): every authentic body that is JSON is
answered 2xx, also the ones the service ignores; only a v1 body is refused (400) because it
would be lost silently otherwise: the fix is to switch the webhook to version 2.0.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from middleware.crm.base import ParsedBatch, WebhookRequest, lower_headers, strict_id
from middleware.errors import PayloadError, SignatureError, WebhookError
from middleware.model import NewEvent

PROVIDER = "pipedrive"
#: epoch seconds before year 10000; a larger number is read as milliseconds
MAX_EPOCH_SECONDS = 253_402_300_800
MAX_KEY_LENGTH = 255
_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
#: v2 ``meta.action`` names (§2.2), and the v1 names a hand-made body might carry
_ACTIONS = {
    "create": "create",
    "added": "create",
    "change": "change",
    "updated": "change",
    "delete": "delete",
    "deleted": "delete",
}
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="pipedrive webhooks", charset="UTF-8"'}


class _Invalid(Exception):
    """A deal webhook the service would act on, with a field it cannot use."""


def basic_auth_headers(user: str, password: str) -> dict[str, str]:
    """The headers Pipedrive sends with a webhook whose HTTP auth is ``user``/``password``
    (§2.1): the demo and the tests authenticate exactly as :func:`check_basic_auth` checks."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def check_basic_auth(headers: Mapping[str, str], *, user: str, password: str) -> None:
    """Raise :class:`SignatureError` (401, with ``WWW-Authenticate: Basic``) unless the request
    carries ``Authorization: Basic base64(user:password)``; both parts are compared in
    constant time (``hmac.compare_digest``), and both are always compared."""
    value = lower_headers(headers).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise SignatureError("missing HTTP basic auth credentials", headers=_CHALLENGE)
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed HTTP basic auth credentials", headers=_CHALLENGE) from None
    given_user, sep, given_password = decoded.partition(b":")
    user_ok = hmac.compare_digest(given_user, user.encode("utf-8"))
    password_ok = hmac.compare_digest(given_password, password.encode("utf-8"))
    if not (sep and user_ok and password_ok):
        raise SignatureError("wrong HTTP basic auth credentials", headers=_CHALLENGE)


@dataclass(frozen=True)
class PipedriveIntake:
    """``POST /webhooks/pipedrive`` (v2 webhooks of deals, HTTP basic auth)."""

    user: str | None
    password: str | None
    trigger_stage_ids: tuple[int, ...]
    cancel_stage_ids: tuple[int, ...] = ()
    #: custom field keys whose change is stored on a deal in a trigger stage (start fields)
    start_fields: tuple[str, ...] = ()

    def parse(self, request: WebhookRequest) -> ParsedBatch:
        """Check the credentials, then judge the one webhook (:func:`parse_webhook`).

        Raises :class:`WebhookError` 503 while ``PIPEDRIVE_WEBHOOK_USER``/``PASSWORD`` are
        unset, :class:`SignatureError` 401, :class:`PayloadError` 400."""
        if not self.user or not self.password:
            raise WebhookError(
                "Pipedrive webhooks are disabled: PIPEDRIVE_WEBHOOK_USER and "
                "PIPEDRIVE_WEBHOOK_PASSWORD are not set",
                status=503,
            )
        check_basic_auth(request.headers, user=self.user, password=self.password)
        return parse_webhook(
            request.body,
            trigger_stage_ids=self.trigger_stage_ids,
            cancel_stage_ids=self.cancel_stage_ids,
            start_fields=self.start_fields,
        )


def parse_webhook(
    body: bytes,
    *,
    trigger_stage_ids: Sequence[int],
    cancel_stage_ids: Sequence[int] = (),
    start_fields: Sequence[str] = (),
) -> ParsedBatch:
    """One Pipedrive webhook → at most one event.

    Stored: a deal ``change`` whose ``previous`` has ``stage_id`` and whose ``data.stage_id`` is
    a trigger or cancel stage; a ``change`` of ``owner_id`` or of a start field on a deal in a
    trigger stage; a deal created in a trigger stage; a deal's deletion. Everything else is
    ignored (counted by ``entity.action``); a deal webhook the service would act on with an
    unusable id or time is counted as invalid. Raises :class:`PayloadError` for a body that
    is not a JSON object, or a v1 body.
    """
    try:
        item = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PayloadError("body is not valid JSON") from None
    if not isinstance(item, dict):
        raise PayloadError("body must be a JSON object (a Pipedrive webhook)")
    if is_v1(item):
        raise PayloadError(
            "this is a version 1.0 Pipedrive webhook (current/previous): edit the webhook in "
            "Pipedrive (Tools and apps → Webhooks) and set its version to 2.0"
        )
    meta = item.get("meta")
    if not isinstance(meta, dict):
        raise PayloadError("body has no meta object: not a Pipedrive v2 webhook")
    entity = str(meta["entity"]) if isinstance(meta.get("entity"), str) else "(no entity)"
    raw_action = str(meta["action"]) if isinstance(meta.get("action"), str) else "(no action)"
    label = f"{entity}.{raw_action}"[:80]
    action = _ACTIONS.get(raw_action)
    data = item.get("data") if isinstance(item.get("data"), dict) else None
    previous = item.get("previous") if isinstance(item.get("previous"), dict) else None
    trigger = None
    if entity == "deal" and action is not None:
        trigger = _trigger(
            action,
            data,
            previous,
            trigger_stage_ids=frozenset(trigger_stage_ids),
            cancel_stage_ids=frozenset(cancel_stage_ids),
            start_fields=frozenset(f for f in start_fields if f),
        )
    if trigger is None:
        return ParsedBatch(events=[], received=1, ignored_types={label: 1})
    try:
        event = _new_event(meta, data, previous, trigger)
    except _Invalid as exc:
        return ParsedBatch(events=[], received=1, problems=[f"webhook ({label}): {exc}"])
    return ParsedBatch(events=[event], received=1)


def is_v1(item: Mapping[str, Any]) -> bool:
    """A v1 envelope: ``current`` (the whole object) or ``v``/``meta.v`` = 1 (§2.4)."""
    meta = item.get("meta")
    return (
        "current" in item or item.get("v") == 1 or (isinstance(meta, dict) and meta.get("v") == 1)
    )


def _trigger(
    action: str,
    data: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None,
    *,
    trigger_stage_ids: frozenset[int],
    cancel_stage_ids: frozenset[int],
    start_fields: frozenset[str],
) -> str | None:
    """The event's ``trigger`` (``stage:3``, ``owner_id``, a field key, ``created``,
    ``deleted``), or None when the webhook is ignored."""
    if action == "delete":
        return "deleted"
    stage = strict_id((data or {}).get("stage_id"))
    if action == "create":
        return f"stage:{stage}" if stage in trigger_stage_ids else None
    changed = previous or {}
    if "stage_id" in changed and stage in trigger_stage_ids | cancel_stage_ids:
        return f"stage:{stage}"
    if stage not in trigger_stage_ids:
        return None
    if "owner_id" in changed:
        return "owner_id"
    fields = changed.get("custom_fields")
    if isinstance(fields, dict):
        for key in sorted(start_fields):
            if key in fields:
                return key
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """``meta.timestamp``: ISO 8601 text (``2022-11-24T15:11:55.724Z``) or epoch seconds as a
    number or digits (milliseconds past year 9999 in seconds). None when absent; raises
    :class:`_Invalid` for anything else."""
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, bool):
        raise _Invalid(f"meta.timestamp {_show(value)} is not a time")
    digits = isinstance(value, str) and re.fullmatch(r"\d{1,16}(\.\d+)?", value)
    if isinstance(value, int | float) or digits:
        try:
            number = float(value)
        except OverflowError:  # an integer past float's range: no time at all
            raise _Invalid(f"meta.timestamp {_show(value)} is not a time") from None
    if number is not None:
        if number > MAX_EPOCH_SECONDS:
            number /= 1000
        if not 0 < number < MAX_EPOCH_SECONDS:
            raise _Invalid(f"meta.timestamp {_show(value)} is not a time")
        return datetime.fromtimestamp(number, tz=UTC)
    if not isinstance(value, str):
        raise _Invalid(f"meta.timestamp {_show(value)} is not a time")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(f"meta.timestamp {_show(value)} is not an ISO 8601 time") from None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past year 9999 in UTC
        raise _Invalid(f"meta.timestamp {_show(value)} is not a time before year 10000") from None


def _event_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and _EVENT_ID.fullmatch(value):
        return value
    raise _Invalid(f"meta.id {_show(value)} is missing or not an event id")


def _new_event(
    meta: Mapping[str, Any],
    data: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None,
    trigger: str,
) -> NewEvent:
    deal = strict_id(meta.get("entity_id"))
    if deal is None:
        deal = strict_id((data or previous or {}).get("id"))
    if deal is None:
        raise _Invalid(f"meta.entity_id {_show(meta.get('entity_id'))} is not a deal id")
    company = strict_id(meta.get("company_id"))
    if company is None:
        raise _Invalid(f"meta.company_id {_show(meta.get('company_id'))} is not a company id")
    event_id = _event_id(meta.get("id"))
    occurred = parse_timestamp(meta.get("timestamp"))
    return NewEvent(
        provider=PROVIDER,
        account_id=str(company),
        deal_id=str(deal),
        dedupe_key=dedupe_key(str(company), event_id),
        trigger=trigger[:255],
        occurred_at=occurred,
        payload={"meta": dict(meta), "data": data, "previous": previous},
    )


def dedupe_key(company_id: str, event_id: str) -> str:
    """``pipedrive:<company>:<meta.id>``: Pipedrive redelivers (``meta.attempt`` 1–4) with the
    same ``meta.id`` (reference §2.4, §5)."""
    key = f"{PROVIDER}:{company_id}:{event_id}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{PROVIDER}:{company_id}:#{hashlib.sha256(event_id.encode()).hexdigest()}"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if value is not None else "(missing)"
    return text if len(text) <= 30 else text[:29] + "…"
