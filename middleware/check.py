"""``middleware check``: find set-up mistakes before the first real deal fails.

Each check is one :class:`CheckResult` line: what was checked and, when it fails, what to fix.
The checks run against the real configuration: the service account key, Google (a token per
rep and the rep's calendar), HubSpot (token, deal properties, pipeline stages), the database
and the public webhook URL. Nothing here changes the CRM; the only write is the Meet probe that
``GooglePreflight.check_access`` may make (a private event on 2000-01-01, deleted at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from middleware import wiring
from middleware.crm.base import resolve_stages
from middleware.errors import ConfigError, MiddlewareError
from middleware.settings import Settings

# HubSpot property types that can hold a start time the planner reads (ISO text or epoch ms).
# A `date` property holds a day without a time of day ("midnight UTC", reference
# hubspot-2026-and-calendar-lifecycle.md §A5): every demo would be at 00:00, so it is refused.
_START_TYPES = {"datetime", "string"}
_DATE_ONLY_FIX = (
    "has type 'date' (a day without a time of day: every invitation would be at 00:00): "
    "make it a date-and-time property (Date picker with time, type datetime) or single-line "
    "text holding ISO 8601 such as 2026-12-01T15:00:00+01:00, or point {key} at one"
)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def run_checks(
    settings: Settings,
    *,
    reps: Sequence[str] = (),
    calendar_factory: Callable[[Settings], Any] | None = None,
    hubspot_factory: Callable[[Settings], Any] | None = None,
) -> list[CheckResult]:
    """Run every check; never raises for an expected failure (it becomes a FAIL line)."""
    results: list[CheckResult] = [
        CheckResult(True, "rules file", f"{settings.config_path} is valid")
    ]
    results.append(_check_database(settings))
    results.extend(_check_webhook(settings))
    hubspot_results, hubspot, owners = _check_hubspot(settings, hubspot_factory or _hubspot_client)
    results.extend(hubspot_results)
    results.extend(
        _check_google(
            settings, calendar_factory or _calendar, list(reps) or owners, hubspot is not None
        )
    )
    return results


def _check_database(settings: Settings) -> CheckResult:
    from sqlalchemy.exc import SQLAlchemyError

    from middleware.database import make_engine, schema_is_current

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        current = schema_is_current(engine)
    except SQLAlchemyError as exc:
        return CheckResult(
            False, "database", f"cannot connect ({type(exc).__name__}): check DATABASE_URL"
        )
    finally:
        engine.dispose()
    if not current:
        return CheckResult(
            True, "database", "reachable; the schema will be migrated when the service starts"
        )
    return CheckResult(True, "database", f"reachable, schema current ({engine.dialect.name})")


def _check_webhook(settings: Settings) -> list[CheckResult]:
    results = []
    if settings.hubspot_client_secret:
        results.append(CheckResult(True, "hubspot webhook secret", "HUBSPOT_CLIENT_SECRET is set"))
    else:
        results.append(
            CheckResult(
                False,
                "hubspot webhook secret",
                "HUBSPOT_CLIENT_SECRET is not set: copy the app's client secret",
            )
        )
    if not settings.public_base_url:
        results.append(
            CheckResult(
                False,
                "webhook url",
                "PUBLIC_BASE_URL is not set: set it to the public https URL HubSpot reaches this service at "
                "(the signature covers the full URL)",
            )
        )
    elif not settings.public_base_url.startswith("https://"):
        results.append(
            CheckResult(
                False,
                "webhook url",
                f"{settings.public_base_url} is not https: HubSpot only calls https URLs",
            )
        )
    else:
        results.append(
            CheckResult(
                True,
                "webhook url",
                f"set the HubSpot app's target URL to {settings.public_base_url}/webhooks/hubspot",
            )
        )
    return results


def _hubspot_client(settings: Settings) -> Any:
    return wiring.crm_clients(settings)["hubspot"]


def _check_hubspot(
    settings: Settings, factory: Callable[[Settings], Any]
) -> tuple[list[CheckResult], Any, list[str]]:
    if not settings.hubspot_access_token:
        return (
            [
                CheckResult(
                    False,
                    "hubspot token",
                    "HUBSPOT_ACCESS_TOKEN is not set: install the HubSpot app "
                    "(middleware hubspot-project) and copy its access token",
                )
            ],
            None,
            [],
        )
    client = factory(settings)
    try:
        client.check_token()
    except MiddlewareError as exc:
        return [CheckResult(False, "hubspot token", exc.message)], None, []
    results = [CheckResult(True, "hubspot token", "accepted")]
    rules = settings.rules.hubspot
    wanted = (
        ("hubspot.start_property", rules.start_property, _START_TYPES),
        ("hubspot.meet_url_property", rules.meet_url_property, {"string"}),
        ("hubspot.event_id_property", rules.event_id_property, {"string"}),
    )
    for key, name, types in wanted:
        results.append(_check_property(client, key, name, types))
    results.extend(_check_stages(client, rules))
    owners: list[str] = []
    try:
        owners = sorted({str(o["email"]).lower() for o in client.list_owners() if o.get("email")})
    except MiddlewareError as exc:
        results.append(CheckResult(False, "hubspot owners", exc.message))
    return results, client, owners


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


def _check_stages(client: Any, rules: Any) -> list[CheckResult]:
    """Trigger and cancel stages exist (ids) or name exactly one stage (labels)."""
    try:
        stages = client.list_stages()
    except MiddlewareError as exc:
        return [CheckResult(False, "trigger stages", exc.message)]
    results: list[CheckResult] = []
    by_id = {s.id: s for s in stages}
    for key, names in (
        ("hubspot.trigger_stages", rules.trigger_stages),
        ("hubspot.cancel_stages", rules.cancel_stages),
    ):
        label = "trigger stages" if key.endswith("trigger_stages") else "cancel stages"
        if not names:
            results.append(CheckResult(True, label, "none: nothing is ever cancelled"))
            continue
        try:
            ids = resolve_stages(names, stages, key=key)
        except ConfigError as exc:
            results.append(CheckResult(False, label, str(exc)))
            continue
        shown = "; ".join(
            f"{name} = {by_id[i].label} in {by_id[i].pipeline}"
            if name == i
            else f"{name} = {i} ({by_id[i].label} in {by_id[i].pipeline})"
            for name, i in zip(names, ids, strict=False)
        )
        results.append(CheckResult(True, label, shown))
    return results


def _calendar(settings: Settings) -> Any:
    return wiring.google_preflight(settings)


def _check_google(
    settings: Settings, factory: Callable[[Settings], Any], reps: Sequence[str], crm_ok: bool
) -> list[CheckResult]:
    if not settings.google_service_account_file:
        return [
            CheckResult(
                False,
                "google key",
                "GOOGLE_SERVICE_ACCOUNT_FILE is not set: create a JSON key for the service account",
            )
        ]
    try:
        calendar = factory(settings)
    except ConfigError as exc:
        return [CheckResult(False, "google key", str(exc))]
    results = [
        CheckResult(
            True,
            "google key",
            f"service account {calendar.client_email} (client id {calendar.client_id})",
        )
    ]
    if not reps:
        detail = "no rep to check: pass --rep EMAIL" + (
            "" if crm_ok else " (HubSpot owners could not be listed)"
        )
        results.append(CheckResult(False, "google reps", detail))
        return results
    calendar_id = settings.rules.meeting.calendar_id
    for rep in reps:
        problems = calendar.check_access(rep, calendar_id)
        if problems:
            results.extend(CheckResult(False, f"google rep {rep}", p) for p in problems)
        else:
            results.append(
                CheckResult(
                    True,
                    f"google rep {rep}",
                    f"token minted, calendar {calendar_id!r} reachable, Meet allowed",
                )
            )
    return results
