"""HubSpot: one CRM module (see ``crm/base.py``).

``signature.py`` and ``notifications.py`` (sans I/O) → ``intake.py`` (the webhook endpoint);
``workflow.py`` (sans I/O: the workflow webhook endpoint, ``/webhooks/hubspot/workflow``);
``http.py`` → ``metadata.py`` → ``client.py`` (the CRM API); ``errors.py`` (HubSpot's answers
→ the error tree, pure); ``project.py`` (the developer-platform project to upload).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from middleware.crm.base import (
    CRMClient,
    NotConfiguredClient,
    ParsedBatch,
    WebhookIntake,
    resolve_stages,
)
from middleware.crm.hubspot.intake import HubSpotIntake, parse_webhook
from middleware.crm.hubspot.notifications import PROVIDER, dedupe_key, is_label, parse_batch
from middleware.crm.hubspot.signature import (
    normalize_uri,
    sign_v2,
    sign_v3,
    signed_headers,
    verify_v2,
    verify_v3,
)
from middleware.crm.hubspot.workflow import HubSpotWorkflowIntake
from middleware.errors import ConfigError, MiddlewareError

if TYPE_CHECKING:
    from middleware.deadlines import Timeouts
    from middleware.settings import Settings

#: The deal property holding its owner (the rep); a change is a new organizer.
OWNER_PROPERTY = "hubspot_owner_id"

__all__ = [
    "MODULE",
    "PROVIDER",
    "HubSpotIntake",
    "HubSpotModule",
    "HubSpotWorkflowIntake",
    "ParsedBatch",
    "dedupe_key",
    "normalize_uri",
    "parse_batch",
    "parse_webhook",
    "sign_v2",
    "sign_v3",
    "signed_headers",
    "verify_v2",
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
            ),
            # the same app's client secret signs workflow webhooks ("Use request signature")
            "workflow": HubSpotWorkflowIntake(settings.hubspot_secrets),
        }

    def client(self, settings: Settings, *, timeout: Timeouts) -> CRMClient:
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

    def with_resolved_stages(self, settings: Settings, client: CRMClient) -> Settings:
        rules = settings.rules.hubspot
        if not any(map(is_label, (*rules.trigger_stages, *rules.cancel_stages))):
            return settings
        if isinstance(client, NotConfiguredClient):
            raise ConfigError(
                "hubspot.trigger_stages / hubspot.cancel_stages name a stage by label, which "
                f"needs the pipelines API: {client.message}"
            )
        try:
            stages = client.list_stages()
        except MiddlewareError as exc:
            raise ConfigError(f"cannot resolve the stage labels in the rules file: {exc}") from exc
        resolved = dataclasses.replace(
            rules,
            trigger_stages=resolve_stages(
                rules.trigger_stages, stages, key="hubspot.trigger_stages"
            ),
            cancel_stages=resolve_stages(rules.cancel_stages, stages, key="hubspot.cancel_stages"),
        )
        both = set(resolved.trigger_stages) & set(resolved.cancel_stages)
        if both:
            raise ConfigError(
                f"hubspot.cancel_stages: stage {sorted(both)[0]!r} is also a trigger stage"
            )
        return dataclasses.replace(
            settings, rules=dataclasses.replace(settings.rules, hubspot=resolved)
        )


MODULE = HubSpotModule()
