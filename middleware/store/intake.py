"""Intake: a webhook's events stored in one short transaction, or many requests' at once.

Every event's row and its deal's row are written with one multi-row ``INSERT … ON CONFLICT DO
NOTHING`` each (in chunks), so a batch of 100 costs what a batch of 1 does plus the rows, and
:meth:`EventIntake.add_event_groups` lets one writer commit several requests together (group
commit, ``group_commit.py``). A ``dedupe_key`` already stored is a duplicate: counted, not
stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from middleware.model import PENDING, NewEvent
from middleware.schema import deals, events
from middleware.store.base import StoreBase
from middleware.store.faults import raising_store_faults
from middleware.store.records import AddResult
from middleware.store.wakeup import notify_new_events


class EventIntake(StoreBase):
    """Storing accepted notifications (the write side of a webhook)."""

    def add_events(self, new: Sequence[NewEvent]) -> AddResult:
        """Store new events in one transaction; a known ``dedupe_key`` is counted, not stored.

        Returns only after the commit, so the caller may acknowledge the webhook. Waits at most
        ``INTAKE_LOCK_WAIT_SECONDS`` for the write lock; raises
        :class:`~middleware.errors.StoreUnavailable` when the store is locked past that, full,
        read-only or unreachable (nothing is stored then).
        """
        return self.add_event_groups([new])[0]

    def add_event_groups(self, groups: Sequence[Sequence[NewEvent]]) -> list[AddResult]:
        """:meth:`add_events` for several requests' events in one transaction (group commit).

        One multi-row insert per table (in chunks), so the cost is one commit and a few
        statements whatever the number of events. A ``dedupe_key`` met twice, in one group or
        across groups, is stored for its first occurrence only; each group's result lists its
        own stored ids in its own order.
        """
        firsts: dict[str, NewEvent] = {}
        for group in groups:
            for item in group:
                firsts.setdefault(item.dedupe_key, item)
        stored: dict[str, int] = {}
        if firsts:
            with raising_store_faults(), self.intake.begin() as conn:
                stored = self._insert_events(conn, list(firsts.values()), self._now(conn))
        results = []
        for group in groups:
            ids = []
            for item in group:
                event_id = stored.pop(item.dedupe_key, None)  # the first occurrence takes it
                if event_id is not None:
                    ids.append(event_id)
            results.append(AddResult(len(ids), len(group) - len(ids), tuple(ids)))
        return results

    def _insert_events(
        self, conn: Connection, items: Sequence[NewEvent], now: datetime
    ) -> dict[str, int]:
        """Insert ``items`` (distinct dedupe keys) and their deals' rows on ``conn``, in the
        caller's transaction; returns dedupe key → id of those stored (not duplicates)."""
        stored: dict[str, int] = {}
        rows = [self._event_row(item, now) for item in items]
        insert_events = (
            self._insert(events)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(events.c.id, events.c.dedupe_key)
        )
        for chunk in _chunks(rows):
            stored.update((r.dedupe_key, r.id) for r in conn.execute(insert_events, chunk))
        if stored:
            notify_new_events(conn)  # idle workers wake at the commit (wakeup.py)
        new_deals = {
            (e.provider, e.account_id, e.deal_id): None for e in items if e.dedupe_key in stored
        }
        if new_deals:
            conn.execute(
                self._insert(deals).on_conflict_do_nothing(
                    index_elements=["provider", "account_id", "deal_id"]
                ),
                [
                    {"provider": p, "account_id": a, "deal_id": d, "updated_at": now}
                    for p, a, d in new_deals
                ],
            )
        return stored

    @staticmethod
    def _event_row(item: NewEvent, now: datetime) -> dict[str, Any]:
        return {
            "provider": item.provider,
            "account_id": item.account_id,
            "deal_id": item.deal_id,
            "dedupe_key": item.dedupe_key,
            "trigger": item.trigger,
            "occurred_at": item.occurred_at,
            "payload": json.dumps(item.payload, separators=(",", ":")),
            "status": PENDING,
            "attempts": 0,
            "attempts_at_replay": 0,
            "force": False,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }


#: Rows per multi-row INSERT: 14 columns × 500 stays far below SQLite's 32,766 parameters.
_CHUNK_ROWS = 500


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + _CHUNK_ROWS] for i in range(0, len(rows), _CHUNK_ROWS)]
