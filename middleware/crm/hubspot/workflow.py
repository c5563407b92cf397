"""``POST /webhooks/hubspot/workflow``: HubSpot workflow "Send a webhook" requests. Sans I/O.

A deal-based workflow (trigger "Deal stage is Demo Scheduled", action "Send a webhook" with
"Use request signature") POSTs the enrolled deal: by default "the exact same data you'd get
when pulling that object using the relevant object API", or a customised body with chosen
properties (shared/reference/crm-webhooks-and-apis.md §1.5). It is signed with the app's
client secret, v2 and v3 (§1.1). The request becomes one event with trigger ``workflow``;
the worker reads the deal as HubSpot holds it then, so a deal no longer in a trigger stage is
skipped there, not refused here.

HubSpot retries a workflow webhook only after a 429 or 5xx, and drops the enrollment after
any other 4xx (§1.5): every authentic, usable request is answered 2xx. Refused: a bad or
missing signature (401), a body that is not a JSON object or has no usable deal id or portal
id (400, CONTRACT.md ``POST /webhooks/hubspot/workflow``), any request while
``HUBSPOT_CLIENT_SECRET`` is unset (503).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middleware.crm.base import ParsedBatch, WebhookRequest, lower_headers
from middleware.crm.hubspot.notifications import PROVIDER, strict_id
from middleware.crm.hubspot.signature import (
    SIGNATURE_HEADER,
    VERSION_HEADER,
    verify_v2,
    verify_v3,
)
from middleware.errors import PayloadError, SignatureError, WebhookError
from middleware.model import NewEvent

TRIGGER = "workflow"
#: Where the deal id may be, in order (CONTRACT.md): the CRM v3 object (``id``), the legacy
#: deals API object (``dealId``), a customised body (``objectId``, ``properties.hs_object_id``).
DEAL_ID_FIELDS = ("id", "objectId", "dealId", "properties.hs_object_id")


@dataclass(frozen=True)
class HubSpotWorkflowIntake:
    """``POST /webhooks/hubspot/workflow``, signed with the app's client secret(s).

    ``secrets``: the current and the previous client secret (rotation); empty → 503.
    """

    secrets: tuple[str, ...]

    def parse(self, request: WebhookRequest) -> ParsedBatch:
        """Verify the signature on the raw bytes, then read the enrolled deal.

        Raises :class:`WebhookError` 503 while disabled, :class:`SignatureError` (401) for a
        missing or wrong signature or a v1 one, :class:`PayloadError` (400) for a body without
        a usable deal id or portal id.
        """
        if not self.secrets:
            raise WebhookError(
                "HubSpot webhooks are disabled: HUBSPOT_CLIENT_SECRET is not set", status=503
            )
        version = verify_workflow_signature(request, self.secrets)
        return ParsedBatch(events=[parse_enrollment(request.body, version=version)], received=1)


def verify_workflow_signature(request: WebhookRequest, secrets: tuple[str, ...]) -> str:
    """``"v3"`` or ``"v2"``: which signature was checked. Raises :class:`SignatureError`.

    v3 is checked whenever its header is there (it also bounds the request's age), even if a
    v2 signature came too; else ``X-HubSpot-Signature-Version`` must say ``v2``. v1 (the
    body alone, sent to Webhooks API subscriptions, not to workflows) is refused.
    """
    h = lower_headers(request.headers)
    if h.get(SIGNATURE_HEADER, "").strip():
        verify_v3(
            request.headers,
            request.body,
            method=request.method,
            uri=request.uri,
            secrets=secrets,
            now=request.now,
        )
        return "v3"
    version = h.get(VERSION_HEADER, "").strip().lower()
    if version == "v2":
        verify_v2(
            request.headers, request.body, method=request.method, uri=request.uri, secrets=secrets
        )
        return "v2"
    if version == "v1":
        raise SignatureError(
            "signature v1 is not accepted: sign the workflow webhook with v2 or v3 "
            '("Use request signature" with the app id)'
        )
    raise SignatureError(
        "missing X-HubSpot-Signature-v3 (or a v2 X-HubSpot-Signature): turn on "
        '"Use request signature" in the workflow\'s webhook action'
    )


def parse_enrollment(body: bytes, *, version: str = "v3") -> NewEvent:
    """The one event a verified workflow body carries. Raises :class:`PayloadError` (400).

    The deal id is read from each of :data:`DEAL_ID_FIELDS` present, a plain value or
    ``{"value": …}`` (the legacy API's property shape); every one present must be a strict id
    (a positive integer or a string of ASCII digits: ``5.9``, ``" 12 "``, ``"٣"`` are refused,
    like ``crm.base.strict_id``) and they must agree.

    The portal is ``portalId`` (top level, plain or ``{"value": …}``), which the legacy deals
    API object carries. The CRM v3 object has none, and the reference documents no deal
    property holding it, so a body without ``portalId`` is refused with the fix (customise the
    body to include it) rather than stored under a guessed account: the account id is part of
    the deal's key (its record and its Calendar event id), and a guess would make a second
    deal beside the one the app's subscriptions store. The worker checks the portal against
    the access token's before it reads anything (``crm_wrong_account``).
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body is not valid JSON") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply to be a HubSpot deal") from None
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object: the deal the workflow enrolled")
    deal = _deal_id(data)
    raw_portal = _unwrap(data.get("portalId"))
    if raw_portal is None:
        raise PayloadError(
            "the workflow body has no portalId: keep the webhook's default request body, or add "
            "portalId (the HubSpot account id) to the customised body"
        )
    portal = strict_id(raw_portal)
    if portal is None:
        raise PayloadError(f"portalId {_show(raw_portal)} is not a HubSpot account id")
    digest = hashlib.sha256(body).hexdigest()
    return NewEvent(
        provider=PROVIDER,
        account_id=str(portal),
        deal_id=str(deal),
        dedupe_key=dedupe_key(str(portal), str(deal), body),
        trigger=TRIGGER,
        occurred_at=None,  # the body carries no time of the enrollment
        payload={
            "source": "hubspot workflow",
            "portalId": portal,
            "dealId": deal,
            "signature": version,
            "body_sha256": digest,
        },
    )


def dedupe_key(portal: str, deal: str, body: bytes) -> str:
    """``hubspot:workflow:<portal>:<deal>:<sha-256 of the raw body>``.

    A workflow request carries no event id. A retry (after a 429, a 5xx or a timeout; from a
    minute to three days later) resends the enrollment's body, so its hash makes the retry a
    duplicate. ``X-HubSpot-Request-Timestamp`` is not in the key: v3 refuses a time stamp over
    five minutes old, so a retry is necessarily signed afresh, and keying on it would make
    every retry a new event. Two enrollments of one deal differ in the body: re-enrolling
    takes a stage change, which moves ``hs_lastmodifieddate`` (``updatedAt``) that the default
    body carries; a customised body should include ``hs_lastmodifieddate`` too, else a second
    enrollment with identical bytes is taken for a retry. Should HubSpot rebuild the body for a
    retry after the deal changed, the retry is stored as a second event, which is harmless:
    the worker acts on the deal's current state, so it finds the meeting already in place.
    """
    return f"{PROVIDER}:{TRIGGER}:{portal}:{deal}:{hashlib.sha256(body).hexdigest()}"


def _deal_id(data: Mapping[str, Any]) -> int:
    properties = data.get("properties")
    found: dict[str, Any] = {}
    for name in DEAL_ID_FIELDS:
        if name.startswith("properties."):
            holder = properties if isinstance(properties, dict) else {}
            value = _unwrap(holder.get(name.split(".", 1)[1]))
        else:
            value = _unwrap(data.get(name))
        if value is not None:
            found[name] = value
    if not found:
        raise PayloadError(
            "the workflow body has no deal id (id, objectId, dealId or properties.hs_object_id)"
        )
    ids: set[int] = set()
    for name, value in found.items():
        number = strict_id(value)
        if number is None:
            raise PayloadError(f"{name} {_show(value)} is not a deal id")
        ids.add(number)
    if len(ids) > 1:
        raise PayloadError(f"the workflow body names {len(ids)} different deal ids")
    return ids.pop()


def _unwrap(value: Any) -> Any:
    """A plain value, or the ``value`` of the legacy API's ``{"value": …}`` shape."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _show(value: Any) -> str:
    """A value quoted for a message, cut short (it came from outside)."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 30 else text[:29] + "…"
