"""HubSpot webhooks, sans I/O: signature v3, then the batch (``hubspot_notifications``).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from middleware.crm.base import (
    CRMClient,
    NotConfiguredClient,
    ParsedBatch,
    WebhookIntake,
    WebhookRequest,
    lower_headers,
)
from middleware.crm.hubspot_notifications import dedupe_key, parse_batch
from middleware.errors import SignatureError, WebhookError

if TYPE_CHECKING:
    from middleware.settings import Settings

__all__ = [
    "MODULE",
    "HubSpotIntake",
    "ParsedBatch",
    "dedupe_key",
    "parse_batch",
    "parse_webhook",
    "sign_v3",
    "signed_headers",
    "verify_v3",
]

PROVIDER = "hubspot"
SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
#: HubSpot refuses nothing older than 5 minutes; we also refuse 5 minutes into the future,
#: so a captured request cannot be replayed later with a forged future timestamp.
MAX_SKEW_MS = 5 * 60 * 1000

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
    # isdigit() alone accepts "²³", which int() refuses; a time stamp is a few ASCII digits.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 16):
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


@dataclass(frozen=True)
class HubSpotIntake:
    """``POST /webhooks/hubspot``: Webhooks API batches signed with the app's client secret."""

    secrets: tuple[str, ...]
    trigger_stages: tuple[str, ...]

    def parse(self, request: WebhookRequest) -> ParsedBatch:
        if not self.secrets:
            raise WebhookError(
                "HubSpot webhooks are disabled: HUBSPOT_CLIENT_SECRET is not set", status=503
            )
        return parse_webhook(
            request.headers,
            request.body,
            method=request.method,
            uri=request.uri,
            secrets=self.secrets,
            trigger_stages=self.trigger_stages,
            now=request.now,
        )


class HubSpotModule:
    """HubSpot as the CRM registry knows it."""

    provider = PROVIDER

    def intakes(self, settings: Settings) -> Mapping[str, WebhookIntake]:
        return {"": HubSpotIntake(settings.hubspot_secrets, settings.rules.hubspot.trigger_stages)}

    def client(self, settings: Settings, *, timeout: tuple[float, float]) -> CRMClient:
        if not settings.hubspot_access_token:
            return NotConfiguredClient(
                PROVIDER,
                "HUBSPOT_ACCESS_TOKEN is not set: the worker cannot read HubSpot deals; "
                "set it, restart the worker and replay",
            )
        from middleware.crm.hubspot_client import HubSpotClient

        return HubSpotClient(
            base_url=settings.hubspot_api_base_url,
            access_token=settings.hubspot_access_token,
            rules=settings.rules.hubspot,
            timeout=timeout,
            max_attendees=settings.rules.meeting.max_attendees,
        )


MODULE = HubSpotModule()
