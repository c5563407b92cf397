"""What operators change: replay one event, replay what a filter matches, prune old events,
and a rep's Google connection (which replays the events that waited for it).

The admin API, the CLI (and the dashboard to come) are thin mappers over these functions. Each
change writes its audit row in the same transaction as the change itself, so the audit log never
misses a change nor records one that did not happen. Refusals are exceptions with a message a
person can act on; the web layer maps them to HTTP statuses (404, 409).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from middleware.errors import Reason
from middleware.google.oauth_errors import waiting_prefix
from middleware.model import FAILED, PENDING, PROCESSING, SKIPPED, SUCCEEDED
from middleware.schema import attempts, audit_log, events
from middleware.store import EventDetail, EventFilter, EventRecord, Store
from middleware.store.queries import event_record
from middleware.store.wakeup import notify_new_events


class OperationError(Exception):
    """An operation refused; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EventNotFound(OperationError):
    """No event has that id (pruned, or never stored)."""


class ReplayRefused(OperationError):
    """The event may not be replayed now (``processing``, or ``succeeded`` without force)."""


@dataclass(frozen=True)
class BulkReplayResult:
    count: int
    sample: list[EventRecord] = field(default_factory=list)


def _audit(
    conn: Connection, store: Store, actor: str, action: str, target: dict[str, Any], count: int
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=store.clock(),
            actor=actor,
            action=action,
            target=json.dumps(target, sort_keys=True),
            count=count,
        )
    )


def _replay_update(now: datetime, force: bool) -> Any:
    """Back to ``pending`` now, with a fresh retry budget; history is kept."""
    return update(events).values(
        status=PENDING,
        next_attempt_at=now,
        attempts_at_replay=events.c.attempts,
        force=force,
        last_error=None,
        last_error_reason=None,
        updated_at=now,
    )


def replay_event(store: Store, event_id: int, *, actor: str, force: bool = False) -> EventDetail:
    """Send one event back to ``pending`` and return it.

    Raises :class:`EventNotFound`, or :class:`ReplayRefused` while it is ``processing`` and,
    without ``force``, when it ``succeeded`` (force re-checks Google and the CRM; it never
    makes a second meeting).
    """
    now = store.clock()
    with store.engine.begin() as conn:
        row = conn.execute(select(events.c.status).where(events.c.id == event_id)).first()
        if row is None:
            raise EventNotFound(f"event {event_id} not found")
        if row.status == PROCESSING:
            raise ReplayRefused(
                f"event {event_id} is being processed right now; replay it when it has finished"
            )
        if row.status == SUCCEEDED and not force:
            raise ReplayRefused(
                f"event {event_id} already succeeded; pass force=true to check it again against "
                "Google and the CRM (it never makes a second meeting)"
            )
        conn.execute(_replay_update(now, force).where(events.c.id == event_id))
        _audit(conn, store, actor, "replay", {"event_id": event_id, "force": force}, 1)
        notify_new_events(conn)
    detail = store.get_event(event_id)
    if detail is None:  # pruned in between: the replay happened, the event is gone now
        raise EventNotFound(f"event {event_id} not found")
    return detail


def replay_matching(
    store: Store,
    flt: EventFilter,
    *,
    actor: str,
    force: bool = False,
    dry_run: bool = False,
    sample_size: int = 10,
) -> BulkReplayResult:
    """Replay every event the filter matches, except ``processing`` ones (and ``succeeded``
    ones unless ``force``). With ``dry_run`` nothing changes (and nothing is audited): the
    count and a sample of the newest."""
    excluded = [PROCESSING] if force else [PROCESSING, SUCCEEDED]
    where = [*flt.clauses(), events.c.status.not_in(excluded)]
    if dry_run:
        with store.reader.connect() as conn:
            matching = conn.execute(select(func.count()).select_from(events).where(*where))
            rows = conn.execute(
                select(events).where(*where).order_by(events.c.id.desc()).limit(sample_size)
            ).all()
            return BulkReplayResult(int(matching.scalar_one()), [event_record(r) for r in rows])
    now = store.clock()
    with store.engine.begin() as conn:
        result = conn.execute(_replay_update(now, force).where(*where))
        count = int(result.rowcount)
        _audit(conn, store, actor, "bulk_replay", {**flt.describe(), "force": force}, count)
        if count:
            notify_new_events(conn)
    return BulkReplayResult(count)


def replay_after_connect(
    store: Store,
    *,
    email: str,
    sealed_refresh_token: str,
    scopes: list[str],
    actor: str,
) -> int:
    """Store ``email``'s new Google connection and replay every event of theirs that failed
    ``google_oauth_reconnect`` (their messages begin ``rep EMAIL must``), in one transaction
    with its audit row. Returns how many were replayed."""
    now = store.clock()
    with store.engine.begin() as conn:
        generation = store.save_google_connection(conn, email, sealed_refresh_token, scopes)
        waiting = [
            events.c.status == FAILED,
            events.c.last_error_reason == Reason.GOOGLE_OAUTH_RECONNECT.value,
            events.c.last_error.startswith(waiting_prefix(email), autoescape=True),
        ]
        count = int(conn.execute(_replay_update(now, False).where(*waiting)).rowcount)
        target = {"rep": email, "generation": generation, "reason": "google_oauth_reconnect"}
        _audit(conn, store, actor, "google_connect", target, count)
    return count


def reseal_google_tokens(store: Store, reseal: Callable[[str, str], str], *, actor: str) -> int:
    """Re-seal every rep's stored refresh token with ``reseal(email, sealed)`` (the first key
    of ``GOOGLE_TOKEN_KEYS``, after a rotation), all or nothing, with its audit row. Returns
    how many were re-sealed; ``reseal`` raising changes nothing."""
    with store.engine.begin() as conn:
        count = store.reseal_google_connections(conn, reseal)
        _audit(conn, store, actor, "google_reseal", {}, count)
    return count


def prune(
    store: Store,
    older_than_days: int,
    *,
    actor: str,
    include_failed: bool = False,
    dry_run: bool = False,
) -> int:
    """Delete finished events (and their attempts) last updated more than N days ago.

    ``failed`` events are kept unless ``include_failed``: they are the ones someone must still
    look at. Deals' meeting records are kept, so pruning never allows a second meeting.
    Returns how many events were (or, with ``dry_run``, would be) deleted.
    """
    cutoff = store.clock() - timedelta(days=older_than_days)
    statuses = [SUCCEEDED, SKIPPED] + ([FAILED] if include_failed else [])
    where = [events.c.status.in_(statuses), events.c.updated_at < cutoff]
    with store.engine.begin() as conn:
        if dry_run:
            matching = conn.execute(select(func.count()).select_from(events).where(*where))
            return int(matching.scalar_one())
        ids = select(events.c.id).where(*where)
        conn.execute(delete(attempts).where(attempts.c.event_id.in_(ids)))
        deleted = int(conn.execute(delete(events).where(*where)).rowcount)
        target = {"older_than_days": older_than_days, "include_failed": include_failed}
        _audit(conn, store, actor, "prune", target, deleted)
    return deleted
