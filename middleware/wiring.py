"""The one place that builds adapters from :class:`~middleware.settings.Settings`.

The web process, the worker, ``middleware check``, the demo and the CLI all get their CRM
intakes and clients, their Google Calendar and their pipeline from here, once per process, with
one set of timeouts. A CRM or Google whose settings are missing is a stand-in whose calls fail
with ``not_configured`` and the one-line fix, so nothing downstream checks for ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from middleware.crm.base import CRMClient, NotConfiguredClient, WebhookIntake
from middleware.crm.registry import CRMS
from middleware.deadlines import CRM_TIMEOUTS, GOOGLE_TIMEOUTS, Timeouts
from middleware.errors import PermanentError
from middleware.settings import Settings

if TYPE_CHECKING:
    from middleware.google.oauth import OAuthClient
    from middleware.meetings import MeetingSpec
    from middleware.pipeline import Pipeline
    from middleware.store import Store


def webhook_intakes(settings: Settings) -> dict[tuple[str, str], WebhookIntake]:
    """Every webhook endpoint: ``(provider, variant)`` → its intake (see ``crm/base.py``)."""
    return {
        (provider, variant): intake
        for provider, module in CRMS.items()
        for variant, intake in module.intakes(settings).items()
    }


def crm_clients(settings: Settings, timeout: Timeouts = CRM_TIMEOUTS) -> dict[str, CRMClient]:
    """Every CRM's API client by provider (stand-ins for the unconfigured ones); ``timeout``:
    the limits of each call (:mod:`middleware.deadlines`)."""
    return {provider: module.client(settings, timeout=timeout) for provider, module in CRMS.items()}


class NotConfiguredCalendar:
    """Stands in for Google Calendar while ``GOOGLE_SERVICE_ACCOUNT_FILE`` is unset."""

    message = (
        "GOOGLE_SERVICE_ACCOUNT_FILE is not set: the worker cannot create Calendar events; "
        "set it, restart the worker and replay"
    )

    def _refuse(self) -> PermanentError:
        return PermanentError("not_configured", self.message)

    def ensure_event(self, *, spec: MeetingSpec, **_: Any) -> Any:
        raise self._refuse()

    def restore_event(self, **_: Any) -> Any:
        raise self._refuse()

    def cancel_event(self, **_: Any) -> None:
        raise self._refuse()

    def calendar_time_zone(self, organizer: str, calendar_id: str) -> str | None:
        raise self._refuse()


def oauth_client(settings: Settings) -> OAuthClient | None:
    """The OAuth client reps connect through, or None while it is not all set."""
    from middleware.google.oauth import OAuthClient

    if not (
        settings.google_oauth_client_id
        and settings.google_oauth_client_secret
        and settings.google_oauth_redirect_uri
        and settings.google_token_keys
    ):
        return None
    return OAuthClient(
        client_id=settings.google_oauth_client_id,
        client_secret=settings.google_oauth_client_secret,
        token_uri=settings.google_oauth_token_uri,
        auth_uri=settings.google_oauth_auth_uri,
        redirect_uri=settings.google_oauth_redirect_uri,
    )


def _credentials(settings: Settings, store: Store | None) -> dict[str, Any]:
    """The credential sources of the Google adapters: the service account key (if set), the
    reps' OAuth tokens over ``store`` (if OAuth is in use), and who uses which."""
    from middleware.google.credentials import read_key_file

    options: dict[str, Any] = {
        "service_account_info": (
            read_key_file(settings.google_service_account_file)
            if settings.google_service_account_file
            else None
        ),
        "auth_mode_for": settings.google_auth_mode_for,
    }
    client = oauth_client(settings) if settings.google_oauth_in_use else None
    if client is not None:
        from middleware.database import make_engine
        from middleware.google.oauth import OAuthSetup
        from middleware.google_connections import ConnectionVault
        from middleware.store import Store
        from middleware.token_cipher import TokenCipher

        if store is None:  # `middleware check`: a store of its own
            store = Store(make_engine(settings.database_url, pool_size=2))
        vault = ConnectionVault(store, TokenCipher(settings.google_token_keys), settings)
        options["oauth"] = OAuthSetup(client, vault)
    return options


def google_calendar(settings: Settings, store: Store | None = None, **overrides: Any) -> Any:
    """The Calendar adapter, or :class:`NotConfiguredCalendar` when no rep has a credential
    source (no service account key, no OAuth). ``store`` keeps the reps' OAuth tokens.

    Raises :class:`~middleware.errors.ConfigError` when the key file cannot be loaded.
    """
    if not settings.google_service_account_file and not settings.google_oauth_in_use:
        return NotConfiguredCalendar()
    from middleware.google import GoogleCalendar

    options: dict[str, Any] = {
        "api_base_url": settings.google_api_base_url,
        "timeout": GOOGLE_TIMEOUTS,
        "quota_park_seconds": settings.rules.retry.quota_park_minutes * 60.0,
        "pace": _pacer(settings, store),
        "link_in_description": settings.rules.meeting.link_in_description,
        **_credentials(settings, store),
        **overrides,
    }
    return GoogleCalendar(**options)


def _pacer(settings: Settings, store: Store | None) -> Any:
    """Google's rate quotas, paced across every worker process through the store."""
    if store is None:
        return None
    from middleware.store.pacing import Pacer

    return Pacer(
        store,
        rep_per_minute=settings.google_rep_requests_per_minute,
        project_per_minute=settings.google_project_requests_per_minute,
        rep_burst=settings.google_rep_requests_burst,
        project_burst=settings.google_project_requests_burst,
    )


def google_preflight(settings: Settings, store: Store | None = None) -> Any:
    """What ``middleware check`` asks of Google. Raises ``ConfigError`` for a bad key file."""
    from middleware.google.preflight import GooglePreflight

    return GooglePreflight(
        api_base_url=settings.google_api_base_url,
        timeout=GOOGLE_TIMEOUTS,
        **_credentials(settings, store),
    )


def pipeline(
    settings: Settings,
    store: Store,
    *,
    crm_timeout: Timeouts = CRM_TIMEOUTS,
    google_timeout: Timeouts = GOOGLE_TIMEOUTS,
) -> Pipeline:
    """The worker's pipeline: every CRM client, the meetings API's, and the calendar
    (stand-ins where unset).

    The timeouts are the limits of each outbound call (tests shorten them).
    Raises :class:`~middleware.errors.ConfigError` when the key file cannot be loaded.
    """
    from middleware.meetings_api.client import MeetingsClient
    from middleware.pipeline import Pipeline

    settings = with_resolved_stages(settings, crm_timeout)
    # The meetings API is one more provider: its "deals" are rows of the store.
    crms: dict[str, CRMClient] = {
        **crm_clients(settings, crm_timeout),
        MeetingsClient.provider: MeetingsClient(store),
    }
    return Pipeline(
        store=store,
        rules=settings.rules,
        crms=crms,
        calendar=google_calendar(settings, store, timeout=google_timeout),
    )


def with_resolved_stages(settings: Settings, timeout: Timeouts = CRM_TIMEOUTS) -> Settings:
    """``settings`` with every CRM's stages given by label resolved to ids (CONTRACT.md: an
    unknown or ambiguous label stops the worker with one line). Raises ``ConfigError``."""
    for module in CRMS.values():
        client = module.client(settings, timeout=timeout)
        try:
            settings = module.with_resolved_stages(settings, client)
        finally:
            client.close()
    return settings


def not_configured_messages(clients: Mapping[str, CRMClient], calendar: Any) -> dict[str, str]:
    """provider (or ``"google"``) → why it is not usable, for the worker's start-up warnings."""
    messages = {p: c.message for p, c in clients.items() if isinstance(c, NotConfiguredClient)}
    if isinstance(calendar, NotConfiguredCalendar):
        messages["google"] = calendar.message
    return messages
