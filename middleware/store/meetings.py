"""The meetings API's rows: each meeting's desired state, changed together with its event.

A meeting made through ``/api/meetings`` is a "deal" of provider ``api``: its row in
``api_meetings`` is what the worker reads (``meetings_api/client.py``), and every change
(create, change, cancel) stores the new row *and* the event that makes Google follow it in one
transaction, so a change answered 202 is never lost and never applied without its event. The
``Idempotency-Key`` of a create is stored in the same transaction too: two requests with one
key make one meeting, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, true, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from middleware.meetings import OccurrenceChange
from middleware.model import NewEvent
from middleware.schema import api_idempotency_keys, api_meetings, events
from middleware.store.faults import raising_store_faults
from middleware.store.intake import EventIntake

#: The provider name of the meetings API's events, and the one "account" they belong to.
PROVIDER = "api"
ACCOUNT = "api"


class IdempotencyConflict(Exception):
    """The ``Idempotency-Key`` was used before with another body (HTTP 409)."""


@dataclass(frozen=True)
class MeetingRecord:
    """A meeting's desired state, what was made of it, and how its latest change went."""

    id: str
    organizer: str
    attendees: tuple[str, ...]
    title: str
    description: str
    start: datetime
    duration_minutes: int
    timezone: str
    recurrence: str | None
    occurrences: tuple[OccurrenceChange, ...]
    send_updates: str
    state: str
    version: int
    meet_url: str | None
    calendar_event_id: str | None
    created_at: datetime
    updated_at: datetime
    api_key_id: int | None = None
    #: the latest change's event, its status and error (the admin API's view of it)
    event_id: int | None = None
    status: str | None = None
    last_error: str | None = None
    last_error_reason: str | None = None


@dataclass(frozen=True)
class MeetingFilter:
    organizer: str | None = None
    state: str | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    #: emails and ``@domain`` suffixes the caller may see (None: every organizer)
    organizers_allowed: tuple[str, ...] | None = None


def occurrences_json(changes: Sequence[OccurrenceChange]) -> str:
    return json.dumps(
        [
            {
                "original_start": c.original_start.isoformat(),
                "start": c.start.isoformat() if c.start else None,
                "end": c.end.isoformat() if c.end else None,
                "cancelled": c.cancelled,
            }
            for c in changes
        ],
        separators=(",", ":"),
    )


def _occurrences(text: str) -> tuple[OccurrenceChange, ...]:
    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return tuple(
        OccurrenceChange(
            original_start=datetime.fromisoformat(o["original_start"]),
            start=moment(o.get("start")),
            end=moment(o.get("end")),
            cancelled=bool(o.get("cancelled")),
        )
        for o in json.loads(text or "[]")
    )


_COLUMNS = (*api_meetings.c, events.c.status, events.c.last_error, events.c.last_error_reason)


def _record(row: Any) -> MeetingRecord:
    return MeetingRecord(
        id=row.id,
        organizer=row.organizer,
        attendees=tuple(json.loads(row.attendees)),
        title=row.title,
        description=row.description,
        start=row.start,
        duration_minutes=row.duration_minutes,
        timezone=row.timezone,
        recurrence=row.recurrence,
        occurrences=_occurrences(row.occurrences),
        send_updates=row.send_updates,
        state=row.state,
        version=row.version,
        meet_url=row.meet_url,
        calendar_event_id=row.calendar_event_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        api_key_id=row.api_key_id,
        event_id=row.event_id,
        status=row.status,
        last_error=row.last_error,
        last_error_reason=row.last_error_reason,
    )


def _meeting_event(meeting_id: str, version: int, trigger: str) -> NewEvent:
    return NewEvent(
        provider=PROVIDER,
        account_id=ACCOUNT,
        deal_id=meeting_id,
        dedupe_key=f"{PROVIDER}:{meeting_id}:v{version}",
        trigger=trigger,
        occurred_at=None,
        payload={"meeting_id": meeting_id, "version": version},
    )


class MeetingStore(EventIntake):
    """The ``api_meetings`` and ``api_idempotency_keys`` tables. Writes give up after
    ``INTAKE_LOCK_WAIT_SECONDS`` like webhooks (:class:`~middleware.errors.StoreUnavailable`)."""

    def create_meeting(
        self,
        values: Mapping[str, Any],
        *,
        api_key_id: int,
        idempotency_key: str,
        body_hash: str,
    ) -> tuple[MeetingRecord, bool]:
        """Store a new meeting (``values``: its columns, ``id`` included) and its first event,
        unless ``idempotency_key`` was used before by ``api_key_id``: then the meeting made
        then, unchanged. Returns (the meeting, whether it is new).

        Raises :class:`IdempotencyConflict` when the key came with another ``body_hash``.
        """
        for attempt in (1, 2):
            try:
                with raising_store_faults(), self.intake.begin() as conn:
                    earlier = self._idempotent(conn, api_key_id, idempotency_key, body_hash)
                    if earlier is not None:
                        return self._meeting(conn, earlier), False
                    now = self._now(conn)
                    meeting_id = str(values["id"])
                    conn.execute(
                        insert(api_meetings).values(
                            **values,
                            api_key_id=api_key_id,
                            state="live",
                            version=1,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    conn.execute(
                        insert(api_idempotency_keys).values(
                            api_key_id=api_key_id,
                            key=idempotency_key,
                            body_hash=body_hash,
                            meeting_id=meeting_id,
                            created_at=now,
                        )
                    )
                    self._enqueue(conn, meeting_id, 1, "api.create", now)
                    return self._meeting(conn, meeting_id), True
            except IntegrityError:
                # PostgreSQL: another request with this key committed first; read it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def change_meeting(
        self, meeting_id: str, change: Callable[[MeetingRecord], Mapping[str, Any] | None]
    ) -> MeetingRecord | None:
        """Apply ``change`` to the meeting in one transaction (the row locked): it gets the
        current record and returns the columns to change, or None for nothing to do (no new
        version, no event). Whatever ``change`` raises propagates, with nothing stored.
        Returns the meeting as it now is; None when no meeting has that id."""
        with raising_store_faults(), self.intake.begin() as conn:
            query = select(api_meetings.c.id).where(api_meetings.c.id == meeting_id)
            if self._dialect == "postgresql":
                query = query.with_for_update()
            if conn.execute(query).first() is None:
                return None
            current = self._meeting(conn, meeting_id)
            values = change(current)
            if values is None:
                return current
            now = self._now(conn)
            version = current.version + 1
            trigger = "api.cancel" if values.get("state") == "cancelled" else "api.change"
            conn.execute(
                update(api_meetings)
                .where(api_meetings.c.id == meeting_id)
                .values(**values, version=version, updated_at=now)
            )
            self._enqueue(conn, meeting_id, version, trigger, now)
            return self._meeting(conn, meeting_id)

    def get_meeting(self, meeting_id: str) -> MeetingRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(self._select().where(api_meetings.c.id == meeting_id)).first()
        return _record(row) if row is not None else None

    def list_meetings(
        self, where: MeetingFilter, *, limit: int, before_seq: int | None = None
    ) -> tuple[list[MeetingRecord], int | None]:
        """Meetings newest first; the second value continues the listing (None: the last page)."""
        conditions = []
        if where.organizer:
            conditions.append(api_meetings.c.organizer == where.organizer)
        if where.state:
            conditions.append(api_meetings.c.state == where.state)
        if where.starts_after:
            conditions.append(api_meetings.c.start >= where.starts_after)
        if where.starts_before:
            conditions.append(api_meetings.c.start < where.starts_before)
        if where.organizers_allowed is not None:
            conditions.append(_organizers(where.organizers_allowed))
        if before_seq is not None:
            conditions.append(api_meetings.c.seq < before_seq)
        query = (
            self._select(api_meetings.c.seq)
            .where(and_(true(), *conditions))
            .order_by(api_meetings.c.seq.desc())
            .limit(limit + 1)
        )
        with self.reader.connect() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [_record(r) for r in rows], (rows[-1].seq if more and rows else None)

    def record_meeting_link(
        self, meeting_id: str, meet_url: str | None, event_id: str | None
    ) -> bool:
        """The meeting's write-back: its Meet link and Calendar event id (None, None: cleared).
        Returns False when it already held both values."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(api_meetings)
                .where(
                    api_meetings.c.id == meeting_id,
                    or_(
                        api_meetings.c.meet_url.is_distinct_from(meet_url),
                        api_meetings.c.calendar_event_id.is_distinct_from(event_id),
                    ),
                )
                .values(meet_url=meet_url, calendar_event_id=event_id)
            )
        return bool(result.rowcount)

    # ---- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _select(*extra: Any) -> Any:
        return select(*_COLUMNS, *extra).select_from(
            api_meetings.outerjoin(events, events.c.id == api_meetings.c.event_id)
        )

    def _meeting(self, conn: Connection, meeting_id: str) -> MeetingRecord:
        row = conn.execute(self._select().where(api_meetings.c.id == meeting_id)).one()
        return _record(row)

    def _enqueue(
        self, conn: Connection, meeting_id: str, version: int, trigger: str, now: datetime
    ) -> None:
        event = _meeting_event(meeting_id, version, trigger)
        stored = self._insert_events(conn, [event], now)
        conn.execute(
            update(api_meetings)
            .where(api_meetings.c.id == meeting_id)
            .values(event_id=stored[event.dedupe_key])
        )

    @staticmethod
    def _idempotent(conn: Connection, api_key_id: int, key: str, body_hash: str) -> str | None:
        row = conn.execute(
            select(api_idempotency_keys).where(
                api_idempotency_keys.c.api_key_id == api_key_id,
                api_idempotency_keys.c.key == key,
            )
        ).first()
        if row is None:
            return None
        if row.body_hash != body_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with another body; use a new key for a new meeting"
            )
        return str(row.meeting_id)


def _organizers(allowed: Sequence[str]) -> Any:
    emails = [a for a in allowed if not a.startswith("@")]
    domains = [a for a in allowed if a.startswith("@")]
    return or_(
        api_meetings.c.organizer.in_(emails),
        *(api_meetings.c.organizer.like(f"%{d}", escape="\\") for d in _escaped(domains)),
    )


def _escaped(domains: Sequence[str]) -> list[str]:
    return [d.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for d in domains]
