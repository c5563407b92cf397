"""Pipedrive: one CRM module (see ``crm/base.py``).

``intake.py`` (sans I/O: basic auth, v2 webhooks) is the webhook endpoint; ``client.py`` the
API (``start.py`` reads the demo's start from the custom fields, ``errors.py`` maps Pipedrive's
answers to the error tree). Stages are numeric ids in the rules file, so nothing is resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from middleware.crm.base import CRMClient, NotConfiguredClient, WebhookIntake
from middleware.crm.pipedrive.intake import (
    PROVIDER,
    PipedriveIntake,
    basic_auth_headers,
    check_basic_auth,
    parse_webhook,
)

if TYPE_CHECKING:
    from middleware.deadlines import Timeouts
    from middleware.settings import Settings

__all__ = [
    "MODULE",
    "PROVIDER",
    "PipedriveIntake",
    "PipedriveModule",
    "basic_auth_headers",
    "check_basic_auth",
    "parse_webhook",
]


class PipedriveModule:
    """Pipedrive as the CRM registry knows it."""

    provider = PROVIDER

    def intakes(self, settings: Settings) -> Mapping[str, WebhookIntake]:
        rules = settings.rules.pipedrive
        return {
            "": PipedriveIntake(
                user=settings.pipedrive_webhook_user,
                password=settings.pipedrive_webhook_password,
                trigger_stage_ids=tuple(rules.trigger_stage_ids),
                cancel_stage_ids=tuple(rules.cancel_stage_ids),
                start_fields=tuple(f for f in (rules.start_field, rules.start_time_field) if f),
            )
        }

    def client(self, settings: Settings, *, timeout: Timeouts) -> CRMClient:
        missing = [
            name
            for name, value in (
                ("PIPEDRIVE_API_TOKEN", settings.pipedrive_api_token),
                ("PIPEDRIVE_API_BASE_URL", settings.pipedrive_api_base_url),
            )
            if not value
        ]
        if not settings.pipedrive_api_token or not settings.pipedrive_api_base_url:
            return NotConfiguredClient(
                PROVIDER,
                f"{' and '.join(missing)} not set: the worker cannot read Pipedrive deals; "
                "set it, restart the worker and replay",
            )
        from middleware.crm.pipedrive.client import PipedriveClient

        return PipedriveClient(
            base_url=settings.pipedrive_api_base_url,
            api_token=settings.pipedrive_api_token,
            rules=settings.rules.pipedrive,
            timeout=timeout,
            max_attendees=settings.rules.meeting.max_attendees,
        )

    def with_resolved_stages(self, settings: Settings, client: CRMClient) -> Settings:
        """Pipedrive's rules name stages by numeric id only: nothing to resolve."""
        return settings


MODULE = PipedriveModule()
