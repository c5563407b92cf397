"""HubSpot's part of ``middleware check``: the webhook secret and URL, the token, the deal
properties the rules name, the trigger and cancel stages, and the owners (fed to the Google
rep checks). Nothing here changes HubSpot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from middleware.check.base import (
    CheckResult,
    CRMReport,
    StageRule,
    check_stages,
    check_webhook_url,
    with_client,
)
from middleware.errors import MiddlewareError
from middleware.settings import Settings

PROVIDER = "hubspot"
# HubSpot property types that can hold a start time the planner reads (ISO text or epoch ms).
# A `date` property holds a day without a time of day ("midnight UTC", reference
# hubspot-2026-and-calendar-lifecycle.md §A5): every demo would be at 00:00, so it is refused.
_START_TYPES = {"datetime", "string"}
_DATE_ONLY_FIX = (
    "has type 'date' (a day without a time of day: every invitation would be at 00:00): "
    "make it a date-and-time property (Date picker with time, type datetime) or single-line "
    "text holding ISO 8601 such as 2026-12-01T15:00:00+01:00, or point {key} at one"
)


def in_use(settings: Settings) -> bool:
    """HubSpot is checked once its token or its client secret is set."""
    return bool(settings.hubspot_access_token or settings.hubspot_secrets)


def check_hubspot(settings: Settings, client_factory: Callable[[Settings], Any]) -> CRMReport:
    report = CRMReport(owners_missing="HubSpot owners could not be listed")
    report.results.extend(_webhook(settings))
    if not settings.hubspot_access_token:
        report.results.append(
            CheckResult(
                False,
                "hubspot token",
                "HUBSPOT_ACCESS_TOKEN is not set: install the HubSpot app "
                "(middleware hubspot-project) and copy its access token",
            )
        )
        return report
    return with_client(settings, client_factory, report, _check_account)


def _webhook(settings: Settings) -> list[CheckResult]:
    if settings.hubspot_client_secret:
        secret = CheckResult(True, "hubspot webhook secret", "HUBSPOT_CLIENT_SECRET is set")
    else:
        secret = CheckResult(
            False,
            "hubspot webhook secret",
            "HUBSPOT_CLIENT_SECRET is not set: copy the app's client secret",
        )
    url = check_webhook_url(
        settings,
        "webhook url",
        "/webhooks/hubspot",
        unset=CheckResult(
            False,
            "webhook url",
            "PUBLIC_BASE_URL is not set: set it to the public https URL HubSpot reaches this "
            "service at (the signature covers the full URL)",
        ),
        not_https="HubSpot only calls https URLs",
        target="the HubSpot app's target URL",
    )
    return [secret, url]


def _check_account(client: Any, settings: Settings, report: CRMReport) -> None:
    try:
        client.check_token()
    except MiddlewareError as exc:
        report.results.append(CheckResult(False, "hubspot token", exc.message))
        return
    report.results.append(CheckResult(True, "hubspot token", "accepted"))
    rules = settings.rules.hubspot
    wanted = (
        ("hubspot.start_property", rules.start_property, _START_TYPES),
        ("hubspot.meet_url_property", rules.meet_url_property, {"string"}),
        ("hubspot.event_id_property", rules.event_id_property, {"string"}),
    )
    for key, name, types in wanted:
        report.results.append(_check_property(client, key, name, types))
    report.results.extend(
        check_stages(
            client,
            (
                StageRule("trigger stages", "hubspot.trigger_stages", rules.trigger_stages, True),
                StageRule("cancel stages", "hubspot.cancel_stages", rules.cancel_stages),
            ),
            labels=True,
        )
    )
    try:
        owners = client.list_owners()
    except MiddlewareError as exc:
        report.results.append(CheckResult(False, "hubspot owners", exc.message))
        return
    report.owners = sorted({str(o["email"]).lower() for o in owners if o.get("email")})
    report.owners_missing = None if report.owners else "HubSpot has no owner with an email"


def _check_property(client: Any, key: str, name: str, types: set[str]) -> CheckResult:
    label = f"deal property {name}"
    try:
        prop = client.get_deal_property(name)
    except MiddlewareError as exc:
        return CheckResult(False, label, exc.message)
    if prop is None:
        kind = (
            "a date-and-time (datetime) or single-line text"
            if "datetime" in types
            else "a single-line text"
        )
        return CheckResult(
            False, label, f"does not exist: create {kind} deal property {name!r}, or fix {key}"
        )
    if prop.get("type") == "date" and "datetime" in types:
        return CheckResult(False, label, _DATE_ONLY_FIX.format(key=key))
    if prop.get("type") not in types:
        return CheckResult(
            False,
            label,
            f"has type {prop.get('type')!r}; it must be one of {', '.join(sorted(types))} ({key})",
        )
    if "datetime" not in types and (prop.get("modificationMetadata") or {}).get("readOnlyValue"):
        return CheckResult(
            False,
            label,
            f"is read-only: the service must write it; use a plain text property ({key})",
        )
    return CheckResult(True, label, f"exists ({prop.get('type')})")
