"""What every CRM module provides, and the data that crosses the boundary.

A CRM is one module under ``crm/`` (listed in ``crm/registry.py``) with two halves:

* **intake**, sans I/O: a :class:`WebhookIntake` per webhook endpoint turns a
  :class:`WebhookRequest` (headers, raw body, the signed URI, ``now``) into a
  :class:`ParsedBatch`, or raises :class:`~middleware.errors.WebhookError` with the HTTP status
  to answer. The one Flask view (``web/webhooks.py``) does the I/O for every CRM;
* the **API client**, a :class:`CRMClient`: read a deal, write the meeting back, clear it,
  list the stages (labels in the rules file resolve through :func:`resolve_stages`). When the CRM's
  settings are missing, :class:`NotConfiguredClient` stands in and every call raises
  ``not_configured`` with the one-line fix.

:class:`CRMModule` ties the two to the settings; ``wiring.py`` calls it once per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from middleware.errors import ConfigError, PermanentError
from middleware.model import Deal, NewEvent

if TYPE_CHECKING:
    from middleware.settings import Settings


@dataclass(frozen=True)
class WebhookRequest:
    """One webhook request as plain values: what the intake needs, and no request object."""

    headers: Mapping[str, str]
    body: bytes
    method: str
    #: the full URI the CRM called (``PUBLIC_BASE_URL`` + the raw path), as it was signed.
    uri: str
    now: datetime


@dataclass(frozen=True)
class ParsedBatch:
    """What one webhook request held: events to store, and counts of the rest."""

    events: list[NewEvent]
    received: int
    #: type label (e.g. ``deal.associationChange``) → how many were ignored.
    ignored_types: Mapping[str, int] = field(default_factory=dict)
    #: one line per notification the CRM module would act on but could not use.
    problems: list[str] = field(default_factory=list)

    @property
    def ignored(self) -> int:
        return sum(self.ignored_types.values())

    @property
    def invalid(self) -> int:
        return len(self.problems)


@dataclass(frozen=True)
class Stage:
    """A deal stage as the CRM's pipelines API lists it."""

    id: str
    label: str
    pipeline: str


def resolve_stages(names: Sequence[str], stages: Sequence[Stage], *, key: str) -> tuple[str, ...]:
    """Stage ids for rules that name stages by id or by label (``"Demo Scheduled"``).

    An id is kept as it is; a label (compared without case or surrounding spaces) must name
    exactly one stage. Raises :class:`~middleware.errors.ConfigError` with one line naming the
    rules ``key``, the label and the stages it could mean. Pure.
    """
    by_id = {s.id for s in stages}
    resolved: list[str] = []
    for name in names:
        if name in by_id:
            resolved.append(name)
            continue
        matches = [s for s in stages if s.label.strip().lower() == name.strip().lower()]
        if len(matches) == 1:
            resolved.append(matches[0].id)
        elif not matches:
            known = ", ".join(f"{s.id} ({s.label!r} in {s.pipeline})" for s in stages[:30])
            raise ConfigError(f"{key}: no deal stage has the id or label {name!r}; stages: {known}")
        else:
            which = ", ".join(f"{s.id} in {s.pipeline}" for s in matches)
            raise ConfigError(
                f"{key}: the label {name!r} names {len(matches)} stages ({which}); use the id"
            )
    return tuple(dict.fromkeys(resolved))


class WebhookIntake(Protocol):
    """One webhook endpoint of a CRM (``POST /webhooks/<provider>[/<variant>]``)."""

    def parse(self, request: WebhookRequest) -> ParsedBatch:
        """Verify (raw bytes first), then parse.

        Raises :class:`~middleware.errors.WebhookError`: 401 for a bad signature or
        credentials, 400 for a body that is not what the CRM sends, 503 while disabled.
        """
        ...


class CRMClient(Protocol):
    """The API half of a CRM module."""

    provider: str

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        """Read the deal, its contacts' emails and its owner's email.

        Raises :class:`~middleware.errors.PermanentError` or
        :class:`~middleware.errors.RetryableError`.
        """
        ...

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        """Store the Meet URL and the Calendar event id on the deal.

        Returns False when the deal already held both values (nothing was sent).
        """
        ...

    def clear_write_back(self, deal: Deal) -> bool:
        """Empty the Meet URL and event id properties (a cancelled meeting).

        Returns False when both were already empty (nothing was sent).
        """
        ...

    def list_stages(self) -> list[Stage]:
        """Every deal stage the account has, to resolve stages given by label."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


class CRMModule(Protocol):
    """A CRM as the registry knows it: its name, its endpoints and its client."""

    provider: str

    def intakes(self, settings: Settings) -> Mapping[str, WebhookIntake]:
        """Webhook endpoints by variant: ``""`` is ``/webhooks/<provider>``, ``"workflow"``
        is ``/webhooks/<provider>/workflow``. A disabled CRM's intakes answer 503."""
        ...

    def client(self, settings: Settings, *, timeout: tuple[float, float]) -> CRMClient:
        """The API client, or a :class:`NotConfiguredClient` naming the missing setting."""
        ...

    def with_resolved_stages(self, settings: Settings, client: CRMClient) -> Settings:
        """``settings`` with this CRM's stages given by label replaced by their ids (one
        pipelines read, only when a label is there). Raises
        :class:`~middleware.errors.ConfigError` (one line) for an unknown or ambiguous label."""
        ...


class NotConfiguredClient:
    """Stands in for a CRM whose API settings are missing: every call fails with the fix."""

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        self.message = message

    def _refuse(self) -> PermanentError:
        return PermanentError("not_configured", self.message)

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        raise self._refuse()

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        raise self._refuse()

    def clear_write_back(self, deal: Deal) -> bool:
        raise self._refuse()

    def list_stages(self) -> list[Stage]:
        raise self._refuse()

    def close(self) -> None:
        return None


#: Ids that are stored fit a signed 64-bit integer (PostgreSQL BIGINT).
MAX_ID = 2**63 - 1


def strict_id(value: Any) -> int | None:
    """A positive id sent as a JSON integer or a string of ASCII digits; else None.

    ``5.9``, ``" 12 "``, ``"٣"`` and ``True`` are not ids: reading them as 5, 12 or 3 would
    process the wrong deal.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive (RFC 9110 §5.1): look them up lower-cased."""
    return {str(k).lower(): str(v) for k, v in headers.items()}
