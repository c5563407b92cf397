"""Typed records the store hands out: claims for workers, events and audit rows for operators.

Operators see these through ``json_shapes.py`` (the admin API, the CLI's JSON and OpenAPI all
use the same marshmallow schemas), never as raw rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from middleware.schema import events


@dataclass(frozen=True)
class AddResult:
    stored: int
    duplicates: int
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Claim:
    """An event a worker holds until it calls ``finish`` or ``release`` (or its lease expires)."""

    event_id: int
    token: str
    provider: str
    account_id: str
    deal_id: str
    trigger: str
    attempt: int
    attempts_since_replay: int
    force: bool
    payload: dict[str, Any]


@dataclass(frozen=True)
class DealRecord:
    """What the store remembers of the meeting made for a deal."""

    calendar_event_id: str | None = None
    calendar_id: str | None = None
    organizer: str | None = None
    meet_url: str | None = None
    spec_fingerprint: str | None = None
    #: "live" (the event may be live in Google), "cancelled" (it is, for sure), or None
    state: str | None = None
    #: n of the deal's n-th Calendar event id (``meetings.calendar_event_id``)
    series: int = 0

    @property
    def live(self) -> bool:
        return self.calendar_event_id is not None and self.state != "cancelled"


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    #: processing, succeeded, skipped, retrying, failed, abandoned, released
    outcome: str
    error_reason: str | None
    error: str | None
    retry_at: datetime | None


@dataclass(frozen=True)
class ErrorRecord:
    attempt: int
    at: datetime | None
    reason: str | None
    error: str


@dataclass(frozen=True)
class EventRecord:
    """An event as operators see it (CONTRACT.md, admin API)."""

    id: int
    provider: str
    account_id: str
    deal_id: str
    trigger: str
    status: str
    attempts: int
    last_error: str | None
    last_error_reason: str | None
    meet_url: str | None
    calendar_event_id: str | None
    #: what processing did (booked, moved, updated, cancelled, restored, recreated,
    #: reassigned, unchanged); None until it did something
    action: str | None
    #: when a ``pending``/``retrying`` event is due; None for the others.
    next_attempt_at: datetime | None
    occurred_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EventDetail(EventRecord):
    """One event with every attempt, the errors among them and the stored payload."""

    attempt_history: tuple[AttemptRecord, ...] = ()
    errors: tuple[ErrorRecord, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    #: the deal's meeting as the ledger holds it now (None before anything was booked)
    meeting: DealRecord | None = None


@dataclass(frozen=True)
class DealMeeting(DealRecord):
    """A deal ledger row: the meeting of the deal in one CRM account, and when it last changed."""

    account_id: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TrailEvent(EventRecord):
    """One event in a deal's trail: what the webhook carried and every attempt at it."""

    attempt_history: tuple[AttemptRecord, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DealTrail:
    """One deal's story: its events oldest first, and the ledger's meeting (per account)."""

    provider: str
    deal_id: str
    meetings: tuple[DealMeeting, ...]
    events: tuple[TrailEvent, ...]
    #: older events exist that are not in ``events`` (the trail holds the newest ``limit``)
    more_events: bool = False


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: dict[str, Any] | None
    count: int


@dataclass(frozen=True)
class EventFilter:
    """Operator filters shared by the admin API, the CLI, bulk replay and prune."""

    statuses: tuple[str, ...] = ()
    provider: str | None = None
    deal_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    reason: str | None = None
    #: what processing did (``events.action``: booked, moved, cancelled…)
    action: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.statuses:
            where.append(events.c.status.in_(self.statuses))
        if self.provider:
            where.append(events.c.provider == self.provider)
        if self.deal_id:
            where.append(events.c.deal_id == self.deal_id)
        if self.created_after:
            where.append(events.c.created_at >= self.created_after)
        if self.created_before:
            where.append(events.c.created_at < self.created_before)
        if self.reason:
            where.append(events.c.last_error_reason == self.reason)
        if self.action:
            where.append(events.c.action == self.action)
        return where

    def describe(self) -> dict[str, Any]:
        """The filter as the audit log records it (only what was set)."""
        out: dict[str, Any] = {}
        for name in ("provider", "deal_id", "reason", "action"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.statuses:
            out["status"] = list(self.statuses)
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value:
                out[name] = value.isoformat()
        return out
