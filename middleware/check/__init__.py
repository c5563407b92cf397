"""``middleware check``: find set-up mistakes before the first real deal fails.

Each check is one :class:`CheckResult` line: what was checked and, when it fails, what to fix.
The checks run against the real configuration: the rules file and the database
(``service.py``); each CRM in use (``hubspot.py``, ``pipedrive.py``: webhook credentials and
URL, token, fields, stages, owners); Google (the key when a rep uses delegation, the OAuth
client when a rep uses OAuth, and a token, the calendar and Meet for each rep: ``--rep``, else
every owner of every CRM in use).

A CRM is *in use* once any of its settings is set (HubSpot: ``HUBSPOT_ACCESS_TOKEN`` or
``HUBSPOT_CLIENT_SECRET``; Pipedrive: any ``PIPEDRIVE_*``); only CRMs in use are checked, so a
HubSpot-only or Pipedrive-only set-up passes without the other's settings, and a half-set CRM
fails with what is missing. With no CRM in use, one ``crm`` line fails.

Nothing here changes a CRM; the only write is the Meet probe that
``GooglePreflight.check_access`` may make (a private event on 2000-01-01, deleted at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from middleware.check import hubspot, pipedrive
from middleware.check.base import CheckResult, CRMReport
from middleware.check.service import check_admin_token, check_database, check_google
from middleware.settings import Settings

__all__ = ["CheckResult", "run_checks"]

#: (in use?, its checks) per CRM, in the order their lines are printed
CRM_CHECKS: tuple[
    tuple[
        str, Callable[[Settings], bool], Callable[[Settings, Callable[[Settings], Any]], CRMReport]
    ],
    ...,
] = (
    (hubspot.PROVIDER, hubspot.in_use, hubspot.check_hubspot),
    (pipedrive.PROVIDER, pipedrive.in_use, pipedrive.check_pipedrive),
)
NO_CRM = (
    "no CRM is configured: set HUBSPOT_ACCESS_TOKEN and HUBSPOT_CLIENT_SECRET (HubSpot), or "
    "PIPEDRIVE_API_TOKEN, PIPEDRIVE_API_BASE_URL, PIPEDRIVE_WEBHOOK_USER and "
    "PIPEDRIVE_WEBHOOK_PASSWORD (Pipedrive)"
)


def run_checks(
    settings: Settings,
    *,
    reps: Sequence[str] = (),
    calendar_factory: Callable[[Settings], Any] | None = None,
    client_factory: Callable[[Settings, str], Any] | None = None,
) -> list[CheckResult]:
    """Run every check; never raises for an expected failure (it becomes a FAIL line).

    ``client_factory(settings, provider)`` builds a CRM's API client (default: the
    registry's, as the worker builds it); ``calendar_factory`` the Google preflight."""
    results: list[CheckResult] = [
        CheckResult(True, "rules file", f"{settings.config_path} is valid"),
        check_database(settings),
        check_admin_token(settings),
    ]
    owners: set[str] = set()
    no_owners: list[str] = []
    in_use = [(p, check) for p, used, check in CRM_CHECKS if used(settings)]
    if not in_use:
        results.append(CheckResult(False, "crm", NO_CRM))
    for provider, check in in_use:
        report = check(settings, _for_provider(client_factory or _crm_client, provider))
        results.extend(report.results)
        owners.update(report.owners)
        if report.owners_missing:
            no_owners.append(report.owners_missing)
    results.extend(
        check_google(
            settings, calendar_factory or _calendar, list(reps) or sorted(owners), no_owners
        )
    )
    return results


def _for_provider(
    factory: Callable[[Settings, str], Any], provider: str
) -> Callable[[Settings], Any]:
    return lambda settings: factory(settings, provider)


def _crm_client(settings: Settings, provider: str) -> Any:
    from middleware.crm.registry import CRMS
    from middleware.deadlines import CRM_TIMEOUTS

    return CRMS[provider].client(settings, timeout=CRM_TIMEOUTS)


def _calendar(settings: Settings) -> Any:
    from middleware import wiring

    return wiring.google_preflight(settings)
