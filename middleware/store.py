"""The durable event store: intake, claiming with leases, outcomes, and the operator queries.

One :class:`Store` per process, shared by its threads. Every method is one short transaction.

Claiming (``claim``) is what makes "nothing lost, nothing done twice" hold across processes:

* an event is taken by setting ``status='processing'`` and a lease (owner token + expiry);
  a worker that dies leaves a lease that expires, and the next claim takes the event over;
* the deal's row in ``deals`` is leased with the same token in the same transaction, so two
  events of one deal are never worked on at once, by any process on any host;
* on PostgreSQL, candidates are read ``FOR UPDATE SKIP LOCKED`` so concurrent workers never
  wait on, or take, each other's rows; the deal lease is a conditional ``UPDATE`` that
  PostgreSQL re-checks after any concurrent writer commits. On SQLite every transaction
  starts with ``BEGIN IMMEDIATE`` (see ``database.py``), which serialises writers.
* every result is written only by the lease holder (``WHERE lease_owner = :token``): a worker
  whose lease was taken over cannot overwrite the new holder's outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from middleware.model import (
    FAILED,
    PENDING,
    PROCESSING,
    RETRYING,
    SKIPPED,
    STATUSES,
    SUCCEEDED,
    NewEvent,
)
from middleware.parks import ParkQueries, park_message
from middleware.schema import attempts, audit_log, deals, events


def utcnow() -> datetime:
    return datetime.now(UTC)


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


@dataclass(frozen=True)
class EventFilter:
    """Operator filters shared by the admin API, the CLI, bulk replay and prune."""

    statuses: tuple[str, ...] = ()
    provider: str | None = None
    deal_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    reason: str | None = None

    def clauses(self) -> list[Any]:
        where: list[Any] = []
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
        return where

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("provider", "deal_id", "reason"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.statuses:
            out["status"] = list(self.statuses)
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value:
                out[name] = _iso(value)
        return out


@dataclass
class ReplayResult:
    """Outcome of a single replay request: ``ok`` or a refusal with an HTTP-like code."""

    ok: bool
    status: int = 202
    error: str | None = None
    event: dict[str, Any] | None = None


@dataclass
class BulkReplayResult:
    count: int
    sample: list[dict[str, Any]] = field(default_factory=list)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _event_dict(row: Any) -> dict[str, Any]:
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
        "next_attempt_at": _iso(row.next_attempt_at) if row.status in (PENDING, RETRYING) else None,
        "occurred_at": _iso(row.occurred_at),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _attempt_dict(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "worker": row.worker,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "outcome": row.outcome,
        "error_reason": row.error_reason,
        "error": row.error_message,
        "retry_at": _iso(row.retry_at),
    }


class Store(ParkQueries):
    """The event store over one SQLAlchemy engine (SQLite or PostgreSQL).

    Parks (``park``, ``active_park``) come from :class:`~middleware.parks.ParkQueries`.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._dialect = engine.dialect.name

    # --- intake ---------------------------------------------------------------------------------

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(table)

    def add_events(self, new: Sequence[NewEvent]) -> AddResult:
        """Store new events in one transaction; a known ``dedupe_key`` is counted, not stored.

        Returns only after the commit, so the caller may acknowledge the webhook.
        """
        if not new:
            return AddResult(0, 0)
        now = self.clock()
        ids: list[int] = []
        with self.engine.begin() as conn:
            for item in new:
                stmt = (
                    self._insert(events)
                    .values(
                        provider=item.provider,
                        account_id=item.account_id,
                        deal_id=item.deal_id,
                        dedupe_key=item.dedupe_key,
                        trigger=item.trigger,
                        occurred_at=item.occurred_at,
                        payload=json.dumps(item.payload, separators=(",", ":")),
                        status=PENDING,
                        attempts=0,
                        attempts_at_replay=0,
                        force=False,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["dedupe_key"])
                    .returning(events.c.id)
                )
                row = conn.execute(stmt).first()
                if row is None:
                    continue
                ids.append(row.id)
                conn.execute(
                    self._insert(deals)
                    .values(
                        provider=item.provider,
                        account_id=item.account_id,
                        deal_id=item.deal_id,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["provider", "account_id", "deal_id"])
                )
        return AddResult(stored=len(ids), duplicates=len(new) - len(ids), ids=tuple(ids))

    # --- claiming -------------------------------------------------------------------------------

    @staticmethod
    def _deal_key(provider: Any, account_id: Any, deal_id: Any) -> Any:
        return and_(
            deals.c.provider == provider,
            deals.c.account_id == account_id,
            deals.c.deal_id == deal_id,
        )

    def claim(
        self, worker: str, limit: int, lease_seconds: float, *, max_attempts: int = 10
    ) -> list[Claim]:
        """Take up to ``limit`` due events (and their deals) for ``lease_seconds``.

        Due: ``pending``/``retrying`` whose ``next_attempt_at`` has come, or ``processing``
        whose lease expired (its worker died). An expired event that already used its whole
        retry budget is marked ``failed`` instead of being taken again, so an event that kills
        its worker cannot loop forever.
        """
        if limit <= 0:
            return []
        now = self.clock()
        expires = now + timedelta(seconds=lease_seconds)
        deal_free = or_(deals.c.lease_owner.is_(None), deals.c.lease_expires_at < now)
        due = or_(
            and_(events.c.status.in_((PENDING, RETRYING)), events.c.next_attempt_at <= now),
            and_(events.c.status == PROCESSING, events.c.lease_expires_at < now),
        )
        query = (
            select(events)
            .select_from(
                events.join(
                    deals, self._deal_key(events.c.provider, events.c.account_id, events.c.deal_id)
                )
            )
            .where(due, deal_free)
            .order_by(events.c.next_attempt_at, events.c.id)
            .limit(limit * 4)
        )
        if self._dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=events)
        claims: list[Claim] = []
        with self.engine.begin() as conn:
            for row in conn.execute(query).all():
                if len(claims) >= limit:
                    break
                if row.status == PROCESSING:
                    self._abandon_attempts(conn, row.id, now)
                    if row.attempts - row.attempts_at_replay >= max_attempts:
                        self._fail_exhausted(conn, row, now)
                        continue
                token = f"{worker}/{uuid.uuid4().hex[:12]}"
                taken = conn.execute(
                    update(deals)
                    .where(self._deal_key(row.provider, row.account_id, row.deal_id), deal_free)
                    .values(lease_owner=token, lease_expires_at=expires)
                )
                if taken.rowcount != 1:
                    continue  # another event of this deal is being worked on
                number = row.attempts + 1
                conn.execute(
                    update(events)
                    .where(events.c.id == row.id)
                    .values(
                        status=PROCESSING,
                        lease_owner=token,
                        lease_expires_at=expires,
                        attempts=number,
                        updated_at=now,
                    )
                )
                conn.execute(
                    insert(attempts).values(
                        event_id=row.id,
                        number=number,
                        worker=worker,
                        started_at=now,
                        outcome=PROCESSING,
                    )
                )
                claims.append(
                    Claim(
                        event_id=row.id,
                        token=token,
                        provider=row.provider,
                        account_id=row.account_id,
                        deal_id=row.deal_id,
                        trigger=row.trigger,
                        attempt=number,
                        attempts_since_replay=number - row.attempts_at_replay,
                        force=bool(row.force),
                        payload=json.loads(row.payload),
                    )
                )
        return claims

    @staticmethod
    def _abandon_attempts(conn: Connection, event_id: int, now: datetime) -> None:
        conn.execute(
            update(attempts)
            .where(attempts.c.event_id == event_id, attempts.c.outcome == PROCESSING)
            .values(
                outcome="abandoned",
                finished_at=now,
                error_reason="lease_expired",
                error_message=(
                    "the worker holding this event stopped (crash, kill or stall) before "
                    "finishing; another worker took it over"
                ),
            )
        )

    def _fail_exhausted(self, conn: Connection, row: Any, now: datetime) -> None:
        message = (
            f"event {row.id}: {row.attempts} workers stopped while processing it (crash, kill or "
            "stall); check the worker logs, then replay it"
        )
        conn.execute(
            update(events)
            .where(events.c.id == row.id)
            .values(
                status=FAILED,
                lease_owner=None,
                lease_expires_at=None,
                last_error=message,
                last_error_reason="worker_lost",
                updated_at=now,
            )
        )

    def renew(self, claims: Sequence[Claim], lease_seconds: float) -> set[int]:
        """Extend the leases of held claims. Returns the ids whose lease was lost."""
        lost: set[int] = set()
        if not claims:
            return lost
        now = self.clock()
        expires = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            for claim in claims:
                result = conn.execute(
                    update(events)
                    .where(events.c.id == claim.event_id, events.c.lease_owner == claim.token)
                    .values(lease_expires_at=expires)
                )
                if result.rowcount != 1:
                    lost.add(claim.event_id)
                    continue
                conn.execute(
                    update(deals)
                    .where(deals.c.lease_owner == claim.token)
                    .values(lease_expires_at=expires)
                )
        return lost

    def finish(
        self,
        claim: Claim,
        status: str,
        *,
        reason: str | None = None,
        message: str | None = None,
        retry_at: datetime | None = None,
        park: bool = False,
    ) -> bool:
        """Record the outcome of an attempt and drop the leases.

        ``status`` is ``succeeded``, ``skipped``, ``failed`` or ``retrying`` (with ``retry_at``).
        ``park=True`` (``retrying`` only): due again at ``retry_at``, the park's end, and the
        attempt is given back (``attempts_at_replay`` moves up with ``attempts``, in the same
        statement), so the retry budget is untouched; the attempt row's outcome is ``parked``
        and ``last_error`` reads ``parked until <ISO time>: <message>``.
        Returns False (and changes nothing) when the lease was lost to another worker.
        Raises ValueError for another status, or ``park`` without ``retrying`` and ``retry_at``.
        """
        if status not in (SUCCEEDED, SKIPPED, FAILED, RETRYING):
            raise ValueError(f"not an outcome: {status}")
        if park and (status != RETRYING or retry_at is None):
            raise ValueError("a park is an outcome 'retrying' with retry_at (the park's end)")
        if park:
            assert retry_at is not None
            message = park_message(retry_at, message or reason or "parked")
        now = self.clock()
        values: dict[str, Any] = {
            "status": status,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
            "force": False,
            "last_error": message if status != SUCCEEDED else None,
            "last_error_reason": reason if status != SUCCEEDED else None,
        }
        if status == RETRYING:
            values["next_attempt_at"] = retry_at or now
        if park:
            values["attempts_at_replay"] = events.c.attempts_at_replay + 1
        with self.engine.begin() as conn:
            result = conn.execute(
                update(events)
                .where(events.c.id == claim.event_id, events.c.lease_owner == claim.token)
                .values(**values)
            )
            if result.rowcount != 1:
                return False
            conn.execute(
                update(attempts)
                .where(attempts.c.event_id == claim.event_id, attempts.c.number == claim.attempt)
                .values(
                    outcome="parked" if park else status,
                    finished_at=now,
                    error_reason=reason,
                    error_message=message,
                    retry_at=retry_at if status == RETRYING else None,
                )
            )
            self._release_deal(conn, claim)
        return True

    def release(self, claim: Claim, why: str = "worker shutting down") -> bool:
        """Give an event back (graceful shutdown): due again now; the attempt shows ``released``."""
        now = self.clock()
        with self.engine.begin() as conn:
            result = conn.execute(
                update(events)
                .where(events.c.id == claim.event_id, events.c.lease_owner == claim.token)
                .values(
                    status=PENDING if claim.attempt == 1 else RETRYING,
                    lease_owner=None,
                    lease_expires_at=None,
                    next_attempt_at=now,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                return False
            conn.execute(
                update(attempts)
                .where(attempts.c.event_id == claim.event_id, attempts.c.number == claim.attempt)
                .values(outcome="released", finished_at=now, error_message=why)
            )
            self._release_deal(conn, claim)
        return True

    @staticmethod
    def _release_deal(conn: Connection, claim: Claim) -> None:
        conn.execute(
            update(deals)
            .where(deals.c.lease_owner == claim.token)
            .values(lease_owner=None, lease_expires_at=None)
        )

    # --- the deal's meeting ---------------------------------------------------------------------

    def deal_record(self, provider: str, account_id: str, deal_id: str) -> DealRecord:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(deals).where(self._deal_key(provider, account_id, deal_id))
            ).first()
        if row is None:
            return DealRecord()
        return DealRecord(
            calendar_event_id=row.calendar_event_id,
            calendar_id=row.calendar_id,
            organizer=row.organizer,
            meet_url=row.meet_url,
            spec_fingerprint=row.spec_fingerprint,
        )

    def record_meeting(
        self,
        claim: Claim,
        *,
        calendar_id: str,
        calendar_event_id: str,
        organizer: str,
        meet_url: str,
        spec_fingerprint: str,
    ) -> None:
        """Remember the Calendar event and Meet URL before anything is written to the CRM."""
        if not meet_url:
            raise ValueError("refusing to record an empty Meet URL")
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                update(deals)
                .where(self._deal_key(claim.provider, claim.account_id, claim.deal_id))
                .values(
                    calendar_event_id=calendar_event_id,
                    calendar_id=calendar_id,
                    organizer=organizer,
                    meet_url=meet_url,
                    spec_fingerprint=spec_fingerprint,
                    updated_at=now,
                )
            )
            conn.execute(
                update(events)
                .where(events.c.id == claim.event_id, events.c.lease_owner == claim.token)
                .values(meet_url=meet_url, calendar_event_id=calendar_event_id, updated_at=now)
            )

    # --- health ---------------------------------------------------------------------------------

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # --- operator queries -----------------------------------------------------------------------

    def get_event(self, event_id: int) -> dict[str, Any] | None:
        """One event with its attempts (oldest first) and its stored payload."""
        with self.engine.connect() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).first()
            if row is None:
                return None
            tries = conn.execute(
                select(attempts)
                .where(attempts.c.event_id == event_id)
                .order_by(attempts.c.started_at, attempts.c.id)
            ).all()
        result = _event_dict(row)
        result["attempt_history"] = [_attempt_dict(t) for t in tries]
        result["errors"] = [
            {
                "attempt": t.number,
                "at": _iso(t.finished_at),
                "reason": t.error_reason,
                "error": t.error_message,
            }
            for t in tries
            if t.error_message and t.outcome not in (SUCCEEDED, "released")
        ]
        result["payload"] = json.loads(row.payload)
        return result

    def list_events(
        self, flt: EventFilter, *, limit: int = 50, before_id: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Newest first. Returns the page and the id to continue before (None on the last page).

        Paging by id ("before this id") stays correct while events arrive: new events get
        higher ids and never shift a page the caller has not read yet.
        """
        where = flt.clauses()
        if before_id is not None:
            where.append(events.c.id < before_id)
        rows, next_before = self._page(select(events).where(*where), events.c.id, limit)
        return [_event_dict(r) for r in rows], next_before

    def _page(self, query: Any, id_column: Any, limit: int) -> tuple[list[Any], int | None]:
        """Newest ``limit`` rows of ``query`` by id, and the id to continue before (or None)."""
        with self.engine.connect() as conn:
            rows = list(conn.execute(query.order_by(id_column.desc()).limit(limit + 1)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more and rows else None)

    def count_events(self, flt: EventFilter) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(events).where(*flt.clauses())
                ).scalar_one()
            )

    def count_unfinished(self) -> int:
        """Events not yet ``succeeded``, ``skipped`` or ``failed``."""
        return self.count_events(EventFilter(statuses=(PENDING, RETRYING, PROCESSING)))

    def status_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.status, func.count()).group_by(events.c.status)
            ).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    def replay_event(self, event_id: int, *, force: bool = False) -> ReplayResult:
        """Send one event back to ``pending``. Refuses ``processing`` (409) and, without
        ``force``, ``succeeded`` (409)."""
        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).first()
            if row is None:
                return ReplayResult(False, 404, f"event {event_id} not found")
            if row.status == PROCESSING:
                return ReplayResult(
                    False,
                    409,
                    f"event {event_id} is being processed right now; replay it when it has finished",
                )
            if row.status == SUCCEEDED and not force:
                return ReplayResult(
                    False,
                    409,
                    f"event {event_id} already succeeded; pass force=true to check it again against "
                    "Google and the CRM (it never makes a second meeting)",
                )
            conn.execute(self._replay_update(now, force).where(events.c.id == event_id))
        return ReplayResult(True, 202, event=self.get_event(event_id))

    @staticmethod
    def _replay_update(now: datetime, force: bool) -> Any:
        return update(events).values(
            status=PENDING,
            next_attempt_at=now,
            attempts_at_replay=events.c.attempts,
            force=force,
            last_error=None,
            last_error_reason=None,
            updated_at=now,
        )

    def replay_matching(
        self, flt: EventFilter, *, force: bool = False, dry_run: bool = False, sample_size: int = 10
    ) -> BulkReplayResult:
        """Replay every event the filter matches, except ``processing`` ones (and ``succeeded``
        ones unless ``force``). With ``dry_run`` nothing changes: count and a sample."""
        excluded = [PROCESSING] if force else [PROCESSING, SUCCEEDED]
        where = [*flt.clauses(), events.c.status.not_in(excluded)]
        now = self.clock()
        if dry_run:
            with self.engine.connect() as conn:
                count = conn.execute(
                    select(func.count()).select_from(events).where(*where)
                ).scalar_one()
                rows = conn.execute(
                    select(events).where(*where).order_by(events.c.id.desc()).limit(sample_size)
                ).all()
            return BulkReplayResult(int(count), [_event_dict(r) for r in rows])
        with self.engine.begin() as conn:
            result = conn.execute(self._replay_update(now, force).where(*where))
        return BulkReplayResult(int(result.rowcount))

    def prune(
        self, older_than: datetime, *, include_failed: bool = False, dry_run: bool = False
    ) -> int:
        """Delete finished events (and their attempts) last updated before ``older_than``.

        ``failed`` events are kept unless ``include_failed``: they are the ones someone must
        still look at.
        """
        statuses = [SUCCEEDED, SKIPPED] + ([FAILED] if include_failed else [])
        where = [events.c.status.in_(statuses), events.c.updated_at < older_than]
        with self.engine.begin() as conn:
            ids = select(events.c.id).where(*where)
            if dry_run:
                return int(
                    conn.execute(
                        select(func.count()).select_from(events).where(*where)
                    ).scalar_one()
                )
            conn.execute(delete(attempts).where(attempts.c.event_id.in_(ids)))
            return int(conn.execute(delete(events).where(*where)).rowcount)

    # --- audit ----------------------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: dict[str, Any], count: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(audit_log).values(
                    at=self.clock(),
                    actor=actor,
                    action=action,
                    target=json.dumps(target, sort_keys=True),
                    count=count,
                )
            )

    def list_audit(
        self, *, limit: int = 50, before_id: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        query = select(audit_log)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        rows, next_before = self._page(query, audit_log.c.id, limit)
        items = [
            {
                "id": r.id,
                "at": _iso(r.at),
                "actor": r.actor,
                "action": r.action,
                "target": json.loads(r.target) if r.target else None,
                "count": r.count,
            }
            for r in rows
        ]
        return items, next_before
