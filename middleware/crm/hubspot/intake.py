"""``POST /webhooks/hubspot``: verify the raw bytes (``signature.py``), then judge each
notification (``notifications.py``). Sans I/O: the Flask view hands over plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from middleware.crm.base import ParsedBatch, WebhookRequest
from middleware.crm.hubspot.notifications import parse_batch
from middleware.crm.hubspot.signature import verify_v3
from middleware.errors import WebhookError


def parse_webhook(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    uri: str,
    secrets: Sequence[str],
    trigger_stages: Sequence[str],
    now: datetime,
    cancel_stages: Sequence[str] = (),
    watched_properties: Sequence[str] = (),
) -> ParsedBatch:
    """Verify, then parse. The signature is checked on the raw bytes before any JSON parsing."""
    verify_v3(headers, body, method=method, uri=uri, secrets=secrets, now=now)
    return parse_batch(
        body,
        trigger_stages=trigger_stages,
        cancel_stages=cancel_stages,
        watched_properties=watched_properties,
    )


@dataclass(frozen=True)
class HubSpotIntake:
    """``POST /webhooks/hubspot``: Webhooks API batches signed with the app's client secret."""

    secrets: tuple[str, ...]
    trigger_stages: tuple[str, ...]
    cancel_stages: tuple[str, ...] = ()
    #: deal properties whose change is stored: the start property and the owner
    watched_properties: tuple[str, ...] = ()

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
            cancel_stages=self.cancel_stages,
            watched_properties=self.watched_properties,
        )
