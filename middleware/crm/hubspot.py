"""HubSpot webhooks, sans I/O: signature v3 and the Webhooks API batch format.

Everything here takes plain values (a header mapping, the raw body bytes, the method, the URI
HubSpot called and the current time) and returns data or raises; the Flask view does the I/O.

Signature v3 (https://developers.hubspot.com/docs/api/webhooks/validating-requests):
``base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))`` in
``X-HubSpot-Signature-v3``, with ``X-HubSpot-Request-Timestamp`` in epoch milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from middleware.crm.base import lower_headers
from middleware.errors import PayloadError, SignatureError
from middleware.model import NewEvent

PROVIDER = "hubspot"
SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
#: HubSpot refuses nothing older than 5 minutes; we also refuse 5 minutes into the future,
#: so a captured request cannot be replayed later with a forged future timestamp.
MAX_SKEW_MS = 5 * 60 * 1000
MAX_BATCH = 100

# HubSpot's docs: "decode any of the URL-encoded characters listed below" in the request URI
# before signing, and no others (%20, %26, %3D stay encoded). Both cases of hex digits.
_URI_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def normalize_uri(uri: str) -> str:
    """Apply HubSpot's URI decoding rule (only the 12 listed characters)."""
    out = []
    i = 0
    while i < len(uri):
        chunk = uri[i : i + 3].upper()
        if uri[i] == "%" and chunk in _URI_DECODE:
            out.append(_URI_DECODE[chunk])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The ``X-HubSpot-Signature-v3`` value for a request (HubSpot's algorithm)."""
    message = method.upper().encode() + normalize_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(
    secret: str, method: str, uri: str, body: bytes, now: datetime
) -> dict[str, str]:
    """Headers HubSpot would send with ``body``: used by the CLI sender and the tests."""
    timestamp = str(int(now.timestamp() * 1000))
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": sign_v3(secret, method, uri, body, timestamp),
        "X-HubSpot-Signature-Version": "v3",
    }


def verify_v3(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    uri: str,
    secrets: Sequence[str],
    now: datetime,
) -> None:
    """Check the v3 signature and timestamp. Raises :class:`SignatureError` (HTTP 401).

    ``secrets`` may hold the current and the previous client secret (rotation); any match is
    enough. The comparison is constant-time. Messages never echo the signature.
    """
    h = lower_headers(headers)
    signature = h.get(SIGNATURE_HEADER, "").strip()
    timestamp = h.get(TIMESTAMP_HEADER, "").strip()
    if not signature or not timestamp:
        raise SignatureError("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header")
    if not timestamp.isdigit():
        raise SignatureError("X-HubSpot-Request-Timestamp is not epoch milliseconds")
    skew = int(now.timestamp() * 1000) - int(timestamp)
    if skew > MAX_SKEW_MS:
        raise SignatureError("X-HubSpot-Request-Timestamp is more than 5 minutes old")
    if skew < -MAX_SKEW_MS:
        raise SignatureError("X-HubSpot-Request-Timestamp is more than 5 minutes in the future")
    for secret in secrets:
        expected = sign_v3(secret, method, uri, body, timestamp)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return
    raise SignatureError("X-HubSpot-Signature-v3 does not match the request")


class _NotificationSchema(Schema):
    """One notification of a Webhooks API batch (fields HubSpot documents; others ignored)."""

    class Meta:
        unknown = EXCLUDE

    eventId = fields.Integer(required=True, strict=False)
    subscriptionId = fields.Integer(load_default=None, allow_none=True)
    portalId = fields.Integer(required=True, strict=False)
    appId = fields.Integer(load_default=None, allow_none=True)
    occurredAt = fields.Integer(required=True, strict=False, validate=validate.Range(min=0))
    # The docs call it eventType; real payloads and the SDKs use subscriptionType. Accept both.
    subscriptionType = fields.String(load_default=None, allow_none=True)
    eventType = fields.String(load_default=None, allow_none=True)
    attemptNumber = fields.Integer(load_default=0, allow_none=True)
    objectId = fields.Integer(required=True, strict=False, validate=validate.Range(min=0))
    objectTypeId = fields.String(load_default=None, allow_none=True)
    propertyName = fields.String(load_default=None, allow_none=True)
    propertyValue = fields.Raw(load_default=None, allow_none=True)
    changeSource = fields.String(load_default=None, allow_none=True)
    sourceId = fields.String(load_default=None, allow_none=True)


_NOTIFICATIONS = _NotificationSchema(many=True)
# Subscription types that report a deal's property change: the classic one, and the generic
# "object.propertyChange" with objectTypeId 0-3 (deals).
_DEAL_CHANGE = {"deal.propertyChange"}


@dataclass(frozen=True)
class ParsedBatch:
    events: list[NewEvent]
    received: int
    ignored: int


def dedupe_key(n: Mapping[str, Any]) -> str:
    """The key that makes a redelivered notification a no-op.

    HubSpot redelivers a batch (up to 10 times) with the same ``eventId`` and ``occurredAt``
    and only ``attemptNumber`` changed, and says ``eventId`` alone "is not guaranteed to be
    unique". So the key is account + deal + property + new value + ``occurredAt`` (ms) +
    ``eventId``, without ``attemptNumber``: identical for every redelivery of one change,
    and different for two distinct stage changes (they differ in time, value or event id).
    """
    return ":".join(
        [
            PROVIDER,
            str(n["portalId"]),
            str(n["objectId"]),
            str(n.get("propertyName") or ""),
            str(n.get("propertyValue") or ""),
            str(n["occurredAt"]),
            str(n["eventId"]),
        ]
    )


def _is_trigger(n: Mapping[str, Any], trigger_stages: Sequence[str]) -> bool:
    kind = n.get("subscriptionType") or n.get("eventType") or ""
    is_deal = kind in _DEAL_CHANGE or (
        kind == "object.propertyChange" and n.get("objectTypeId") == "0-3"
    )
    return (
        is_deal
        and n.get("propertyName") == "dealstage"
        and str(n.get("propertyValue") or "") in trigger_stages
    )


def _first_message(messages: Any) -> str:
    """marshmallow errors for a list: {index: {field: [msg]}} → 'event 3: objectId: msg'."""
    if isinstance(messages, dict):
        index, fields_ = next(iter(messages.items()))
        if isinstance(fields_, dict):
            name, msgs = next(iter(fields_.items()))
            msg = msgs[0] if isinstance(msgs, list) else msgs
            return f"event {index}: {name}: {msg}"
        return str(fields_[0] if isinstance(fields_, list) else fields_)
    return str(messages)


def parse_batch(body: bytes, *, trigger_stages: Sequence[str]) -> ParsedBatch:
    """Parse a Webhooks API batch (a JSON array of at most 100 notifications).

    Returns the notifications that move a deal into a trigger stage, as events to store;
    the others are only counted. Raises :class:`PayloadError` (HTTP 400) naming the problem.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body is not valid JSON") from None
    if not isinstance(data, list):
        raise PayloadError("body must be a JSON array of HubSpot notifications")
    if len(data) > MAX_BATCH:
        raise PayloadError(
            f"batch holds {len(data)} notifications; HubSpot sends at most {MAX_BATCH}"
        )
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise PayloadError(f"event {index}: must be a JSON object")
    try:
        notifications = _NOTIFICATIONS.load(data)
    except ValidationError as exc:
        raise PayloadError(_first_message(exc.messages)) from None
    stored: list[NewEvent] = []
    for raw, n in zip(data, notifications, strict=True):
        if not _is_trigger(n, trigger_stages):
            continue
        stored.append(
            NewEvent(
                provider=PROVIDER,
                account_id=str(n["portalId"]),
                deal_id=str(n["objectId"]),
                dedupe_key=dedupe_key(n),
                trigger=str(n["propertyValue"]),
                occurred_at=datetime.fromtimestamp(n["occurredAt"] / 1000, tz=UTC),
                payload=raw,
            )
        )
    return ParsedBatch(events=stored, received=len(data), ignored=len(data) - len(stored))


def parse_webhook(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    uri: str,
    secrets: Sequence[str],
    trigger_stages: Sequence[str],
    now: datetime,
) -> ParsedBatch:
    """Verify, then parse. The signature is checked on the raw bytes before any JSON parsing."""
    verify_v3(headers, body, method=method, uri=uri, secrets=secrets, now=now)
    return parse_batch(body, trigger_stages=trigger_stages)
