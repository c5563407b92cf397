"""In-process fakes of the pipeline's two gateways: a CRM and Google Calendar.

Real implementations of the same interfaces (``CRMClient``, ``CalendarGateway``) with the
semantics the pipeline relies on: one event per id (a second create is "409" and becomes a
get + update; a cancelled event keeps its id and is restored by writing it back, unless
``refuse_restore`` says Google will not), write-back and clearing recorded, calendar time
zones, errors injectable. Unit tests use these; integration tests use the HTTP emulators and
the real adapters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from middleware.crm.base import Stage
from middleware.errors import MiddlewareError, PermanentError, RestoreRefused
from middleware.meetings import MeetingSpec
from middleware.model import Deal


@dataclass
class FakeMeeting:
    event_id: str
    calendar_id: str
    meet_url: str
    organizer: str
    spec: MeetingSpec
    status: str = "confirmed"
    writes: int = 1
    #: what the call that returned this copy changed (see ``CalendarEvent.changed``)
    changed: frozenset[str] = field(default=frozenset(), compare=False)


class FakeCalendar:
    def __init__(self) -> None:
        self.events: dict[tuple[str, str], FakeMeeting] = {}
        self.calls: list[str] = []
        #: organizer of each call, in order (parallel to ``calls``).
        self.organizers: list[str] = []
        self.errors: list[MiddlewareError] = []
        #: organizer → the error every call as that organizer raises (like Google's
        #: ``quotaExceeded`` for a rep whose calendar is read-only), until ``heal``.
        self.failing: dict[str, MiddlewareError] = {}
        #: rep → the time zone of their calendar (None: Google answers no zone)
        self.zones: dict[str, str] = {}
        #: event ids whose restore Google refuses (or that are gone once cancelled)
        self.refuse_restore: set[str] = set()
        self._lock = threading.Lock()

    def live(self) -> list[FakeMeeting]:
        """Every event that is not cancelled."""
        return [m for m in self.events.values() if m.status != "cancelled"]

    def fail_next(self, *errors: MiddlewareError) -> None:
        self.errors.extend(errors)

    def fail_for(self, organizer: str, error: MiddlewareError) -> None:
        self.failing[organizer] = error

    def heal(self, organizer: str) -> None:
        self.failing.pop(organizer, None)

    def ensure_event(
        self,
        *,
        organizer: str,
        calendar_id: str,
        event_id: str,
        spec: MeetingSpec,
        send_updates: str,
        request_id: str,
        verify: bool = False,
    ) -> FakeMeeting:
        with self._lock:
            self.calls.append(event_id)
            self.organizers.append(organizer)
            if organizer in self.failing:
                raise self.failing[organizer]
            if self.errors:
                raise self.errors.pop(0)
            key = (organizer, event_id)
            existing = self.events.get(key)
            cancelled = existing is not None and existing.status == "cancelled"
            if cancelled and event_id in self.refuse_restore:
                raise RestoreRefused(f"Google refused to restore {event_id}")
            changed: frozenset[str] = frozenset()
            if existing is None:
                existing = FakeMeeting(
                    event_id,
                    calendar_id,
                    f"https://meet.google.com/fak-{len(self.events):04d}-xyz",
                    organizer,
                    spec,
                )
                self.events[key] = existing
                changed = frozenset({"created"})
            elif existing.spec != spec or existing.status != "confirmed":
                changed = frozenset(
                    name
                    for name, differs in (
                        ("status", existing.status != "confirmed"),
                        ("start", existing.spec.start != spec.start),
                        ("end", existing.spec.end != spec.end),
                        ("summary", existing.spec.title != spec.title),
                        ("attendees", existing.spec.attendees != spec.attendees),
                        ("description", existing.spec.description != spec.description),
                        ("recurrence", existing.spec.recurrence != spec.recurrence),
                        ("occurrences", existing.spec.occurrences != spec.occurrences),
                    )
                    if differs
                )
                existing.spec, existing.status = spec, "confirmed"
                existing.writes += 1
            return replace(existing, changed=changed)

    def restore_event(self, *, event_id: str, organizer: str, **call: Any) -> FakeMeeting:
        with self._lock:
            meeting = self.events.get((organizer, event_id))
            gone = meeting is None or event_id in self.refuse_restore
        if gone:
            self.calls.append(event_id)
            self.organizers.append(organizer)
            raise RestoreRefused(f"Google refused to restore {event_id}")
        return self.ensure_event(event_id=event_id, organizer=organizer, verify=True, **call)

    def cancel_event(
        self, *, organizer: str, calendar_id: str, event_id: str, send_updates: str
    ) -> None:
        with self._lock:
            self.calls.append(f"cancel:{event_id}")
            self.organizers.append(organizer)
            if organizer in self.failing:
                raise self.failing[organizer]
            if self.errors:
                raise self.errors.pop(0)
            meeting = self.events.get((organizer, event_id))
            if meeting is not None:
                meeting.status = "cancelled"

    def calendar_time_zone(self, organizer: str, calendar_id: str) -> str | None:
        return self.zones.get(organizer)


@dataclass
class FakeCRM:
    provider: str = "hubspot"
    deals: dict[str, Deal] = field(default_factory=dict)
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[MiddlewareError] = field(default_factory=list)
    write_errors: list[MiddlewareError] = field(default_factory=list)
    #: (account_id, deal_id) of every ``fetch_deal`` call, in order.
    reads: list[tuple[str, str]] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)

    def add(self, deal: Deal) -> None:
        self.deals[deal.deal_id] = deal

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        self.reads.append((account_id, deal_id))
        if self.errors:
            raise self.errors.pop(0)
        try:
            return self.deals[deal_id]
        except KeyError:
            raise PermanentError("deal_not_found", f"deal {deal_id} not found") from None

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        if self.write_errors:
            raise self.write_errors.pop(0)
        current = self.deals[deal.deal_id]
        if current.current_meet_url == meet_url and current.current_event_id == calendar_event_id:
            return False
        self.deals[deal.deal_id] = replace(
            current, current_meet_url=meet_url, current_event_id=calendar_event_id
        )
        self.writes.append((deal.deal_id, meet_url, calendar_event_id))
        return True

    def clear_write_back(self, deal: Deal) -> bool:
        current = self.deals.get(deal.deal_id, deal)
        if not current.current_meet_url and not current.current_event_id:
            return False
        if deal.deal_id in self.deals:
            self.deals[deal.deal_id] = replace(
                current, current_meet_url=None, current_event_id=None
            )
        self.writes.append((deal.deal_id, "", ""))
        return True

    def list_stages(self) -> list[Stage]:
        return list(self.stages)

    def close(self) -> None:
        return None


def make_deal(deal_id: str = "1", **overrides: Any) -> Deal:
    values: dict[str, Any] = {
        "provider": "hubspot",
        "account_id": "62515",
        "deal_id": deal_id,
        "name": f"Acme {deal_id}",
        "stage": "demoscheduled",
        "in_trigger_stage": True,
        "owner_email": "rep@seller.example",
        "company": "Acme Inc",
        "start_value": "2030-01-07T15:00:00Z",
        "start_property": "demo_start_time",
        "contact_emails": ("buyer@acme.example",),
    }
    values.update(overrides)
    return Deal(**values)
