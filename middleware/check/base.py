"""What every part of ``middleware check`` shares: the result line, a CRM's report, the
stage and webhook-URL checks both CRMs make."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from middleware.crm.base import resolve_stages
from middleware.errors import ConfigError, MiddlewareError
from middleware.settings import Settings


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class CRMReport:
    """One CRM's check lines, and the emails of its owners for the Google rep checks."""

    results: list[CheckResult] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    #: why there are no owners to check (e.g. "HubSpot owners could not be listed"), or None
    owners_missing: str | None = None


@dataclass(frozen=True)
class StageRule:
    """One rules key naming stages: its line's name, the key, the stages it names."""

    name: str
    key: str
    stages: tuple[str, ...]
    #: an empty list is a failure (trigger stages) rather than "nothing is ever cancelled"
    required: bool = False


def check_stages(client: Any, rules: Sequence[StageRule], *, labels: bool) -> list[CheckResult]:
    """Every stage the rules name exists (by id, or with ``labels`` by exactly one label)."""
    try:
        stages = client.list_stages()
    except MiddlewareError as exc:
        return [CheckResult(False, rules[0].name, exc.message)]
    results: list[CheckResult] = []
    by_id = {s.id: s for s in stages}
    for rule in rules:
        if not rule.stages:
            results.append(
                CheckResult(False, rule.name, f"{rule.key} is empty: no deal would ever be booked")
                if rule.required
                else CheckResult(True, rule.name, "none: nothing is ever cancelled")
            )
            continue
        try:
            ids = resolve_stages(rule.stages, stages, key=rule.key, labels=labels)
        except ConfigError as exc:
            results.append(CheckResult(False, rule.name, str(exc)))
            continue
        shown = "; ".join(
            f"{name} = {by_id[i].label} in {by_id[i].pipeline}"
            if name == i
            else f"{name} = {i} ({by_id[i].label} in {by_id[i].pipeline})"
            for name, i in zip(rule.stages, ids, strict=False)
        )
        results.append(CheckResult(True, rule.name, shown))
    return results


def check_webhook_url(
    settings: Settings,
    name: str,
    path: str,
    *,
    unset: CheckResult,
    not_https: str,
    target: str,
    note: str = "",
) -> CheckResult:
    """``PUBLIC_BASE_URL``: ``unset`` when it is not set, a failure ending in ``not_https``
    when it is plain http, else ok: ``target`` (what to set in the CRM), the full URL and
    ``note``."""
    base = settings.public_base_url
    if not base:
        return unset
    if not base.startswith("https://"):
        return CheckResult(False, name, f"{base} is not https: {not_https}")
    return CheckResult(True, name, f"set {target} to {base}{path}{note}")


def with_client(
    settings: Settings,
    client_factory: Callable[[Settings], Any],
    report: CRMReport,
    check: Callable[[Any, Settings, CRMReport], None],
) -> CRMReport:
    """Run ``check`` with a CRM client made for it, closed afterwards; ``report`` filled."""
    client = client_factory(settings)
    try:
        check(client, settings, report)
    finally:
        client.close()
    return report
