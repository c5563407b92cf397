"""Pipedrive's part of ``middleware check``: the webhook's basic auth and URL, the API token,
the custom fields the rules name (``pipedrive_fields.py``), the trigger and cancel stage ids, and the
active users (fed to the Google rep checks). Nothing here changes Pipedrive.

Calls: ``GET /v1/users/me`` (token), ``GET /api/v2/dealFields``, ``GET /api/v2/stages``,
``GET /v1/users`` (see ``crm/pipedrive/metadata.py``).
"""

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
from middleware.check.pipedrive_fields import check_fields
from middleware.errors import MiddlewareError
from middleware.settings import Settings

PROVIDER = "pipedrive"


def in_use(settings: Settings) -> bool:
    """Pipedrive is checked once any of its settings is set (the API or the webhook)."""
    return any(
        (
            settings.pipedrive_api_token,
            settings.pipedrive_api_base_url,
            settings.pipedrive_webhook_user,
            settings.pipedrive_webhook_password,
        )
    )


def check_pipedrive(settings: Settings, client_factory: Callable[[Settings], Any]) -> CRMReport:
    report = CRMReport(owners_missing="Pipedrive users could not be listed")
    report.results.extend(_webhook(settings))
    missing = [
        fix
        for value, fix in (
            (
                settings.pipedrive_api_token,
                "PIPEDRIVE_API_TOKEN is not set: copy the API token (your profile → Personal "
                "preferences → API) of a user who can see and edit the deals",
            ),
            (
                settings.pipedrive_api_base_url,
                "PIPEDRIVE_API_BASE_URL is not set: set it to your company's address, "
                "e.g. https://acme.pipedrive.com",
            ),
        )
        if not value
    ]
    if missing:
        report.results.extend(CheckResult(False, "pipedrive token", fix) for fix in missing)
        return report
    return with_client(settings, client_factory, report, _check_account)


def _webhook(settings: Settings) -> list[CheckResult]:
    name = "pipedrive webhook auth"
    if settings.pipedrive_webhook_user and settings.pipedrive_webhook_password:
        auth = CheckResult(
            True, name, "PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD are set"
        )
    else:
        auth = CheckResult(
            False,
            name,
            "PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD are not set "
            "(/webhooks/pipedrive answers 503): pick a user name and a long random password, "
            "set them, and give the webhook the same HTTP auth in Pipedrive",
        )
    url = check_webhook_url(
        settings,
        "pipedrive webhook url",
        "/webhooks/pipedrive",
        unset=CheckResult(
            True,
            "pipedrive webhook url",
            "PUBLIC_BASE_URL is not set (basic auth does not need it): point the Pipedrive "
            "webhook at https://YOUR-HOST/webhooks/pipedrive, version 2.0",
        ),
        not_https="Pipedrive would send the webhook's user name and password in clear text; "
        "serve the service over https",
        target="the Pipedrive webhook's endpoint URL",
        note=" (event object deal, version 2.0, with that HTTP auth)",
    )
    return [auth, url]


def _check_account(client: Any, settings: Settings, report: CRMReport) -> None:
    try:
        me = client.check_token()
    except MiddlewareError as exc:
        report.results.append(CheckResult(False, "pipedrive token", exc.message))
        return
    who = ", ".join(
        str(part)
        for part in (me.get("email"), me.get("company_name") and f"company {me['company_name']}")
        if part
    )
    report.results.append(CheckResult(True, "pipedrive token", f"accepted ({who or 'no user'})"))
    rules = settings.rules.pipedrive
    try:
        fields = client.list_deal_fields()
    except MiddlewareError as exc:
        report.results.append(CheckResult(False, "pipedrive fields", exc.message))
    else:
        report.results.extend(check_fields(fields, rules))
    report.results.extend(
        check_stages(
            client,
            (
                StageRule(
                    "pipedrive trigger stages",
                    "pipedrive.trigger_stage_ids",
                    tuple(str(i) for i in rules.trigger_stage_ids),
                    required=True,
                ),
                StageRule(
                    "pipedrive cancel stages",
                    "pipedrive.cancel_stage_ids",
                    tuple(str(i) for i in rules.cancel_stage_ids),
                ),
            ),
            labels=False,
        )
    )
    try:
        users = client.list_users()
    except MiddlewareError as exc:
        report.results.append(CheckResult(False, "pipedrive users", exc.message))
        return
    # A deactivated user cannot own a deal's demo (and may have left the company's Google).
    active = [u for u in users if u.get("active_flag") is not False and not u.get("is_deleted")]
    report.owners = sorted({str(u["email"]).lower() for u in active if u.get("email")})
    report.owners_missing = None if report.owners else "Pipedrive has no active user with an email"
