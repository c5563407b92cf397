"""HubSpot's request signature v3, sans I/O: ``sign_v3`` beside ``verify_v3`` so tests sign for real.

Signature v3 (https://developers.hubspot.com/docs/api/webhooks/validating-requests):
``base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))`` in
``X-HubSpot-Signature-v3``, with ``X-HubSpot-Request-Timestamp`` in epoch milliseconds.
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
