"""HubSpot's request signatures, sans I/O: each ``sign_*`` beside its ``verify_*`` so tests sign
for real.

Signature v3 (https://developers.hubspot.com/docs/api/webhooks/validating-requests):
``base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))`` in
``X-HubSpot-Signature-v3``, with ``X-HubSpot-Request-Timestamp`` in epoch milliseconds.

Signature v2, what workflow "Send a webhook" actions send (shared/reference/
crm-webhooks-and-apis.md §1.1–1.3; https://developers.hubspot.com/docs/faq/v2-request-validation):
``hex(SHA-256(client_secret + method + uri + body))`` in ``X-HubSpot-Signature`` with
``X-HubSpot-Signature-Version: v2``. A plain hash, not an HMAC, and without a time stamp.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from middleware.crm.base import lower_headers
from middleware.errors import SignatureError

SIGNATURE_HEADER = "x-hubspot-signature-v3"
LEGACY_SIGNATURE_HEADER = "x-hubspot-signature"
VERSION_HEADER = "x-hubspot-signature-version"
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


def sign_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    """The ``X-HubSpot-Signature`` value of a v2 request (HubSpot's algorithm).

    The URI is hashed as sent: the v2 docs say it "must exactly match the original request"
    and list no decoding (the official SDKs decode nothing either; reference §1.2).
    """
    message = secret.encode() + method.upper().encode() + uri.encode() + body
    return hashlib.sha256(message).hexdigest()


def verify_v2(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    uri: str,
    secrets: Sequence[str],
) -> None:
    """Check a v2 signature. Raises :class:`SignatureError` (HTTP 401).

    Any of ``secrets`` may match (rotation); the comparison is constant-time and case-blind
    for the hex digits. v2 has no time stamp, so it cannot refuse a replay: callers make a
    replayed request a duplicate. Messages never echo the signature.
    """
    h = lower_headers(headers)
    signature = h.get(LEGACY_SIGNATURE_HEADER, "").strip().lower()
    if not signature:
        raise SignatureError("missing X-HubSpot-Signature header")
    for secret in secrets:
        expected = sign_v2(secret, method, uri, body)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return
    raise SignatureError("X-HubSpot-Signature (v2) does not match the request")
