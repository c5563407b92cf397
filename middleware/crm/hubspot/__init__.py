"""HubSpot: one CRM module (see ``crm/base.py``).

``signature.py`` and ``notifications.py`` (sans I/O) → ``intake.py`` (the webhook endpoint);
``http.py`` → ``metadata.py`` → ``client.py`` (the CRM API); ``errors.py`` (HubSpot's answers
→ the error tree, pure); ``project.py`` (the developer-platform project to upload).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from middleware.crm.base import CRMClient, NotConfiguredClient, ParsedBatch, WebhookIntake
from middleware.crm.hubspot.intake import HubSpotIntake, parse_webhook
from middleware.crm.hubspot.notifications import PROVIDER, dedupe_key, parse_batch
from middleware.crm.hubspot.signature import normalize_uri, sign_v3, signed_headers, verify_v3

if TYPE_CHECKING:
    from middleware.settings import Settings

#: The deal property holding its owner (the rep); a change is a new organizer.
OWNER_PROPERTY = "hubspot_owner_id"

__all__ = [
    "MODULE",
    "PROVIDER",
    "HubSpotIntake",
    "HubSpotModule",
    "ParsedBatch",
    "dedupe_key",
    "normalize_uri",
    "parse_batch",
    "parse_webhook",
    "sign_v3",
    "signed_headers",
    "verify_v3",
]


class HubSpotModule:
    """HubSpot as the CRM registry knows it."""

    provider = PROVIDER

    def intakes(self, settings: Settings) -> Mapping[str, WebhookIntake]:
        rules = settings.rules.hubspot
        return {
            "": HubSpotIntake(
                settings.hubspot_secrets,
                rules.trigger_stages,
                cancel_stages=rules.cancel_stages,
                watched_properties=(rules.start_property, OWNER_PROPERTY),
            )
        }

    def client(self, settings: Settings, *, timeout: tuple[float, float]) -> CRMClient:
        if not settings.hubspot_access_token:
            return NotConfiguredClient(
                PROVIDER,
                "HUBSPOT_ACCESS_TOKEN is not set: the worker cannot read HubSpot deals; "
                "set it, restart the worker and replay",
            )
        from middleware.crm.hubspot.client import HubSpotClient

        return HubSpotClient(
            base_url=settings.hubspot_api_base_url,
            access_token=settings.hubspot_access_token,
            rules=settings.rules.hubspot,
            timeout=timeout,
            max_attendees=settings.rules.meeting.max_attendees,
        )


MODULE = HubSpotModule()
