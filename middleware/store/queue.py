"""The event queue: intake, claims with leases, renewal, outcomes, release.

The lease protocol, which makes "nothing lost, nothing done twice" hold across processes:

* an event is taken by setting ``status='processing'`` and a lease (owner token + expiry);
  a worker that dies leaves a lease that expires, and the next claim takes the event over,
  recording the dead worker's attempt as ``abandoned``;
* the deal's row in ``deals`` is leased with the same token in the same transaction, so two
  events of one deal are never worked on at once, by any process on any host;
* on PostgreSQL, candidates are read ``FOR UPDATE SKIP LOCKED`` so concurrent workers never
  wait on, or take, each other's rows; the deal lease is a conditional ``UPDATE`` that
  PostgreSQL re-checks after any concurrent writer commits. On SQLite every write transaction
  starts with ``BEGIN IMMEDIATE`` (see ``database.py``), which serialises writers: a claim's
  read of candidates and its writes happen under the one write lock;
* every lease time (its expiry, and "now" in the comparisons) is the database's clock, read in
  the claiming or renewing transaction (``base.py``), so hosts whose clocks disagree still agree
  on who holds what;
* the holder renews its leases while it works (``renew``); every result is written only by the
  lease holder (``WHERE lease_owner = :token``): a worker whose lease was taken over cannot
  overwrite the new holder's outcome (``finish`` and ``release`` return False).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Connection

from middleware.model import (
    FAILED,
    PENDING,
    PROCESSING,
    RETRYING,
    SKIPPED,
    SUCCEEDED,
)
from middleware.schema import attempts, deals, events, workers
from middleware.store.base import deal_params
from middleware.store.intake import EventIntake
from middleware.store.lease_statements import RELEASE_DEAL, claim_statements, finish_statements
from middleware.store.parks import park_message
from middleware.store.records import Claim


class EventQueue(EventIntake):
    """Intake (``intake.py``) and the lease protocol (see the module docstring). One
    transaction per call."""

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
        claims: list[Claim] = []
        candidates, take_deal, start, attempt = claim_statements(self._dialect)
        with self.engine.begin() as conn:
            now = self._now(conn)
            times = {
                "b_now": now,
                "b_expires": now + timedelta(seconds=lease_seconds),
                "b_dead": now - timedelta(seconds=DEAD_AFTER_SECONDS),
            }
            for row in conn.execute(candidates, {**times, "b_limit": limit * 4}).all():
                if len(claims) >= limit:
                    break
                if row.status == PROCESSING:
                    self._abandon_attempts(conn, row.id, now)
                    if row.attempts - row.attempts_at_replay >= max_attempts:
                        self._fail_exhausted(conn, row, now)
                        continue
                token = f"{worker}/{uuid.uuid4().hex[:12]}"
                number = row.attempts + 1
                params = {
                    **times,
                    **deal_params(row.provider, row.account_id, row.deal_id),
                    "b_id": row.id,
                    "v_owner": token,
                    "v_number": number,
                    "v_worker": worker,
                }
                if conn.execute(take_deal, params).rowcount != 1:
                    continue  # another event of this deal is being worked on
                conn.execute(start, params)
                conn.execute(attempt, params)
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

    def beat(self, worker: str) -> None:
        """``worker`` is alive (its heartbeat, every ``HEARTBEAT_SECONDS``)."""
        with self.engine.begin() as conn:
            now = self._now(conn)
            done = conn.execute(
                update(workers).where(workers.c.name == worker).values(last_seen=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    self._insert(workers)
                    .values(name=worker, last_seen=now)
                    .on_conflict_do_update(index_elements=["name"], set_={"last_seen": now})
                )

    def forget_worker(self, worker: str) -> None:
        """A worker that stopped cleanly (its leases are released), and the long dead."""
        with self.engine.begin() as conn:
            long_ago = self._now(conn) - timedelta(days=1)
            conn.execute(
                delete(workers).where(or_(workers.c.name == worker, workers.c.last_seen < long_ago))
            )

    def renew(self, claims: Sequence[Claim], lease_seconds: float) -> set[int]:
        """Extend the leases of held claims. Returns the ids whose lease another worker now
        holds (a claim that was finished meanwhile has nothing to renew, and is not lost)."""
        lost: set[int] = set()
        if not claims:
            return lost
        with self.engine.begin() as conn:
            expires = self._now(conn) + timedelta(seconds=lease_seconds)
            for claim in claims:
                result = conn.execute(
                    update(events)
                    .where(events.c.id == claim.event_id, events.c.lease_owner == claim.token)
                    .values(lease_expires_at=expires)
                )
                if result.rowcount != 1:
                    holder = conn.execute(
                        select(events.c.lease_owner).where(events.c.id == claim.event_id)
                    ).scalar()
                    if holder is not None:
                        lost.add(claim.event_id)
                    continue
                conn.execute(
                    update(deals).where(self._held_deal(claim)).values(lease_expires_at=expires)
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
        action: str | None = None,
    ) -> bool:
        """Record the outcome of an attempt and drop the leases.

        ``status`` is ``succeeded``, ``skipped``, ``failed`` or ``retrying`` (with ``retry_at``).
        ``park=True`` (``retrying`` only): due again at ``retry_at``, the park's end, and the
        attempt is given back (``attempts_at_replay`` moves up with ``attempts``, in the same
        statement), so the retry budget is untouched; the attempt row's outcome is ``parked``
        and ``last_error`` reads ``parked until <ISO time>: <message>``.
        ``action`` records what the event did (``booked``, ``cancelled``…), when it did.
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
        retrying = status == RETRYING
        with self.engine.begin() as conn:
            now = self._now(conn)
            event_done, attempt_done = finish_statements(park, action is not None, retrying)
            params: dict[str, Any] = {
                "b_id": claim.event_id,
                "b_token": claim.token,
                "b_number": claim.attempt,
                "b_now": now,
                "v_status": status,
                "v_outcome": "parked" if park else status,
                "v_last_error": message if status != SUCCEEDED else None,
                "v_last_error_reason": reason if status != SUCCEEDED else None,
                "v_reason": reason,
                "v_message": message,
                "v_action": action,
                "v_next_attempt_at": (retry_at or now) if retrying else None,
                "v_retry_at": retry_at if retrying else None,
            }
            if conn.execute(event_done, params).rowcount != 1:
                return False
            conn.execute(attempt_done, params)
            self._release_deal(conn, claim)
        return True

    def release(self, claim: Claim, why: str = "worker shutting down") -> bool:
        """Give an event back (graceful shutdown): due again now; the attempt shows ``released``."""
        with self.engine.begin() as conn:
            now = self._now(conn)
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
        params = deal_params(claim.provider, claim.account_id, claim.deal_id)
        conn.execute(RELEASE_DEAL, {**params, "b_token": claim.token})

    @classmethod
    def _held_deal(cls, claim: Claim) -> Any:
        """The claim's deal row while the claim holds its lease: found by its key (a unique
        index), not by the lease owner (no index: a scan of every deal, growing with them)."""
        return and_(
            cls._deal_key(claim.provider, claim.account_id, claim.deal_id),
            deals.c.lease_owner == claim.token,
        )


#: A worker beats every HEARTBEAT_SECONDS; silent for DEAD_AFTER_SECONDS, it is dead: its
#: leases are free at once, however long they had to run (a live but slow worker keeps beating,
#: so it keeps its leases). A worker that never beats (an older version) keeps the lease rule.
HEARTBEAT_SECONDS = 2.0
DEAD_AFTER_SECONDS = 10.0
