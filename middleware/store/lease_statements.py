"""The statements of the lease protocol's hot path (``queue.py``): claim and finish.

Every event runs them, so each is built once (per dialect, or per shape of the outcome) with
bind parameters: SQLAlchemy then reuses its compiled form instead of building and hashing a new
statement each time (much of the worker's CPU went there: BENCHMARKS.md, Pipeline).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, union_all, update

from middleware.model import PENDING, PROCESSING, RETRYING
from middleware.schema import attempts, deals, events, workers
from middleware.store.base import DEAL_BY_KEY

#: The claim's deal row while the claim holds its lease: found by its key (a unique index), not
#: by the lease owner (no index: a scan of every deal).
RELEASE_DEAL = (
    update(deals)
    .where(DEAL_BY_KEY, deals.c.lease_owner == bindparam("b_token"))
    .values(lease_owner=None, lease_expires_at=None)
)


def _at(name: str) -> Any:
    return bindparam(name, type_=events.c.updated_at.type)


#: What a claim reads of a candidate.
CLAIMED = (
    events.c.id,
    events.c.provider,
    events.c.account_id,
    events.c.deal_id,
    events.c.trigger,
    events.c.payload,
    events.c.status,
    events.c.attempts,
    events.c.attempts_at_replay,
    events.c.force,
    events.c.next_attempt_at,
)


@functools.cache
def claim_statements(dialect: str) -> tuple[Any, Any, Any, Any]:
    """The due candidates (``b_now``, ``b_dead``, ``b_limit``), the deal's lease, the event's
    start and its attempt row (``b_id``, ``v_owner``, ``v_number``, ``v_worker``, ``b_expires``)."""
    now, dead, expires = _at("b_now"), _at("b_dead"), _at("b_expires")
    deal_free = or_(
        deals.c.lease_owner.is_(None),
        deals.c.lease_expires_at < now,
        _held_by_a_dead_worker(deals.c.lease_owner, dead),
    )
    expired = and_(
        events.c.status == PROCESSING,
        or_(
            events.c.lease_expires_at < now,
            _held_by_a_dead_worker(events.c.lease_owner, dead),
        ),
    )
    with_deal = events.join(
        deals,
        and_(
            deals.c.provider == events.c.provider,
            deals.c.account_id == events.c.account_id,
            deals.c.deal_id == events.c.deal_id,
        ),
    )
    limit: Any = bindparam("b_limit")
    order = (events.c.next_attempt_at, events.c.id)

    def due(*where: Any) -> Any:
        return select(*CLAIMED).select_from(with_deal).where(*where, deal_free).order_by(*order)

    if dialect == "postgresql":
        waiting = and_(events.c.status.in_((PENDING, RETRYING)), events.c.next_attempt_at <= now)
        candidates = (
            due(or_(waiting, expired)).limit(limit).with_for_update(skip_locked=True, of=events)
        )
    else:
        # Each status read in its index's order (status, next_attempt_at, id), the first few
        # of each merged: one OR over all of them made SQLite sort every due event per claim
        # (a backlog of 1,000 cost 1 ms a claim, under the write lock).
        parts = [
            due(events.c.status == status, events.c.next_attempt_at <= now).limit(limit)
            for status in (PENDING, RETRYING)
        ]
        parts.append(due(expired).limit(limit))
        merged = union_all(*(select(part.subquery()) for part in parts)).subquery()
        candidates = select(merged).order_by(merged.c.next_attempt_at, merged.c.id).limit(limit)
    owner: Any = bindparam("v_owner")
    take_deal = (
        update(deals)
        .where(DEAL_BY_KEY, deal_free)
        .values(lease_owner=owner, lease_expires_at=expires)
    )
    start = (
        update(events)
        .where(events.c.id == bindparam("b_id"))
        .values(
            status=PROCESSING,
            lease_owner=owner,
            lease_expires_at=expires,
            attempts=bindparam("v_number"),
            updated_at=now,
        )
    )
    attempt = insert(attempts).values(
        event_id=bindparam("b_id"),
        number=bindparam("v_number"),
        worker=bindparam("v_worker"),
        started_at=now,
        outcome=PROCESSING,
    )
    return candidates, take_deal, start, attempt


@functools.cache
def finish_statements(park: bool, with_action: bool, retrying: bool) -> tuple[Any, Any]:
    """The event's outcome (held by ``b_token``) and its attempt's (``b_number``)."""
    now = _at("b_now")
    values: dict[str, Any] = {
        "status": bindparam("v_status"),
        "lease_owner": None,
        "lease_expires_at": None,
        "force": False,
        "last_error": bindparam("v_last_error"),
        "last_error_reason": bindparam("v_last_error_reason"),
        "updated_at": now,
    }
    if park:  # the attempt is given back: the retry budget is untouched
        values["attempts_at_replay"] = events.c.attempts_at_replay + 1
    if with_action:
        values["action"] = bindparam("v_action")
    if retrying:
        values["next_attempt_at"] = _at("v_next_attempt_at")
    event_done = (
        update(events)
        .where(events.c.id == bindparam("b_id"), events.c.lease_owner == bindparam("b_token"))
        .values(**values)
    )
    attempt_done = (
        update(attempts)
        .where(attempts.c.event_id == bindparam("b_id"), attempts.c.number == bindparam("b_number"))
        .values(
            outcome=bindparam("v_outcome"),
            finished_at=now,
            error_reason=bindparam("v_reason"),
            error_message=bindparam("v_message"),
            retry_at=_at("v_retry_at"),
        )
    )
    return event_done, attempt_done


def _held_by_a_dead_worker(lease_owner: Any, dead_before: Any) -> Any:
    """The lease token (``<worker>/<nonce>``) names a worker last seen before ``dead_before``."""
    prefix = workers.c.name + "/"
    return exists().where(
        workers.c.last_seen < dead_before,
        func.substr(lease_owner, 1, func.length(prefix)) == prefix,
    )
