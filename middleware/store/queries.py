"""Operator queries: find events, read one with its attempts, count, read the audit log.

Everything returns typed records (``records.py``); nothing here knows about HTTP.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from sqlalchemy import func, select, text

from middleware.model import PENDING, PROCESSING, RETRYING, STATUSES, SUCCEEDED
from middleware.schema import attempts, audit_log, deals, events
from middleware.store.deals import DealLedger
from middleware.store.records import (
    AttemptRecord,
    AuditRecord,
    DealMeeting,
    DealTrail,
    ErrorRecord,
    EventDetail,
    EventFilter,
    EventRecord,
    TrailEvent,
)

#: Outcomes of an attempt that are not an error, whatever message they carry.
_NOT_ERRORS = (SUCCEEDED, "released")


def event_record(row: Any) -> EventRecord:
    """A row of ``events`` as operators see it."""
    return EventRecord(**_event_values(row))


def _event_values(row: Any) -> dict[str, Any]:
    due = row.status in (PENDING, RETRYING)
    return {
        "id": row.id,
        "provider": row.provider,
        "account_id": row.account_id,
        "deal_id": row.deal_id,
        "trigger": row.trigger,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "last_error_reason": row.last_error_reason,
        "meet_url": row.meet_url,
        "calendar_event_id": row.calendar_event_id,
        "action": row.action,
        "next_attempt_at": row.next_attempt_at if due else None,
        "occurred_at": row.occurred_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _attempt_record(row: Any) -> AttemptRecord:
    return AttemptRecord(
        number=row.number,
        worker=row.worker,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        error_reason=row.error_reason,
        error=row.error_message,
        retry_at=row.retry_at,
    )


def _meeting(row: Any) -> DealMeeting:
    return DealMeeting(
        calendar_event_id=row.calendar_event_id,
        calendar_id=row.calendar_id,
        organizer=row.organizer,
        meet_url=row.meet_url,
        spec_fingerprint=row.spec_fingerprint,
        state=row.meeting_state,
        series=row.event_series or 0,
        account_id=row.account_id,
        updated_at=row.updated_at,
    )


class OperatorQueries(DealLedger):
    """Reads for the admin API, the CLI and the tests."""

    def ping(self) -> None:
        with self.reader.connect() as conn:
            conn.execute(text("SELECT 1"))

    def get_event(self, event_id: int) -> EventDetail | None:
        """One event with its attempts (oldest first) and its stored payload."""
        with self.reader.connect() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).first()
            if row is None:
                return None
            tries = conn.execute(
                select(attempts)
                .where(attempts.c.event_id == event_id)
                .order_by(attempts.c.started_at, attempts.c.id)
            ).all()
        history = tuple(_attempt_record(t) for t in tries)
        errors = tuple(
            ErrorRecord(attempt=a.number, at=a.finished_at, reason=a.error_reason, error=a.error)
            for a in history
            if a.error and a.outcome not in _NOT_ERRORS
        )
        meeting = self.deal_record(row.provider, row.account_id, row.deal_id)
        return EventDetail(
            **_event_values(row),
            attempt_history=history,
            errors=errors,
            payload=json.loads(row.payload),
            meeting=meeting if meeting.calendar_event_id else None,
        )

    def list_events(
        self, flt: EventFilter, *, limit: int = 50, before_id: int | None = None
    ) -> tuple[list[EventRecord], int | None]:
        """Newest first. Returns the page and the id to continue before (None on the last page).

        Paging by id ("before this id") stays correct while events arrive: new events get
        higher ids and never shift a page the caller has not read yet.
        """
        where = flt.clauses()
        if before_id is not None:
            where.append(events.c.id < before_id)
        rows, next_before = self._page(select(events).where(*where), events.c.id, limit)
        return [event_record(r) for r in rows], next_before

    def _page(self, query: Any, id_column: Any, limit: int) -> tuple[list[Any], int | None]:
        """Newest ``limit`` rows of ``query`` by id, and the id to continue before (or None)."""
        with self.reader.connect() as conn:
            rows = list(conn.execute(query.order_by(id_column.desc()).limit(limit + 1)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more and rows else None)

    def count_events(self, flt: EventFilter) -> int:
        with self.reader.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(events).where(*flt.clauses())
                ).scalar_one()
            )

    def count_unfinished(self) -> int:
        """Events not yet ``succeeded``, ``skipped`` or ``failed``."""
        return self.count_events(EventFilter(statuses=(PENDING, RETRYING, PROCESSING)))

    def status_counts(self) -> dict[str, int]:
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(events.c.status, func.count()).group_by(events.c.status)
            ).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    def deal_trails(
        self, deal_id: str, *, provider: str | None = None, limit: int = 100
    ) -> list[DealTrail]:
        """Each provider's story of ``deal_id`` (see :meth:`deal_trail`), one per provider
        with an event or a ledger row for it; empty when none has."""
        if provider:
            trail = self.deal_trail(provider, deal_id, limit=limit)
            return [trail] if trail else []
        with self.engine.connect() as conn:
            named = set(
                conn.execute(
                    select(events.c.provider).where(events.c.deal_id == deal_id).distinct()
                )
                .scalars()
                .all()
            )
            named |= set(
                conn.execute(select(deals.c.provider).where(deals.c.deal_id == deal_id)).scalars()
            )
        trails = (self.deal_trail(p, deal_id, limit=limit) for p in sorted(named))
        return [t for t in trails if t is not None]

    def deal_trail(self, provider: str, deal_id: str, *, limit: int = 100) -> DealTrail | None:
        """One deal's story: its newest ``limit`` events, oldest first, with their attempts
        and payloads, and the deal ledger's rows (one per CRM account, usually one). None when
        no event and no ledger row names the deal."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events)
                .where(events.c.provider == provider, events.c.deal_id == deal_id)
                .order_by(events.c.id.desc())
                .limit(limit + 1)
            ).all()
            more = len(rows) > limit
            rows = sorted(rows[:limit], key=lambda r: r.id)
            tries = conn.execute(
                select(attempts)
                .where(attempts.c.event_id.in_([r.id for r in rows]))
                .order_by(attempts.c.started_at, attempts.c.id)
            ).all()
            ledger = conn.execute(
                select(deals)
                .where(deals.c.provider == provider, deals.c.deal_id == deal_id)
                .order_by(deals.c.account_id)
            ).all()
        if not rows and not ledger:
            return None
        history: dict[int, list[AttemptRecord]] = {}
        for t in tries:
            history.setdefault(t.event_id, []).append(_attempt_record(t))
        return DealTrail(
            provider=provider,
            deal_id=deal_id,
            meetings=tuple(_meeting(d) for d in ledger),
            events=tuple(
                TrailEvent(
                    **_event_values(r),
                    attempt_history=tuple(history.get(r.id, ())),
                    payload=json.loads(r.payload),
                )
                for r in rows
            ),
            more_events=more,
        )

    def list_audit(
        self, *, limit: int = 50, before_id: int | None = None
    ) -> tuple[list[AuditRecord], int | None]:
        """Operator actions, newest first, paged like :meth:`list_events`."""
        query = select(audit_log)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        rows, next_before = self._page(query, audit_log.c.id, limit)
        items = [
            AuditRecord(
                id=r.id,
                at=r.at.astimezone(UTC),
                actor=r.actor,
                action=r.action,
                target=json.loads(r.target) if r.target else None,
                count=r.count,
            )
            for r in rows
        ]
        return items, next_before
