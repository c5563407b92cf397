"""The deal ledger: what was booked for each deal (its Calendar event, organizer, Meet URL).

A deal's row is also where its lease lives (``queue.py``); this module reads and writes what
was booked, which is recorded *before* the CRM write-back so a crash between the two never loses
the link and never makes a second meeting.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from middleware.schema import deals, events
from middleware.store.base import DEAL_BY_KEY, StoreBase, deal_params
from middleware.store.records import Claim, DealRecord

# Built once (SQLAlchemy then reuses their compiled form): every booking runs them.
_DEAL_RECORD = select(deals).where(DEAL_BY_KEY)
_EVENT_MEETING = (
    update(events)
    .where(events.c.id == bindparam("b_id"), events.c.lease_owner == bindparam("b_token"))
    .values(meet_url=bindparam("b_meet_url"), calendar_event_id=bindparam("b_event_id"))
)


@functools.cache
def _deal_update(columns: frozenset[str]) -> Any:
    """``UPDATE deals SET <columns>, updated_at`` of one deal, built once per set of columns."""
    values = {c: bindparam(f"v_{c}", type_=deals.c[c].type) for c in (*columns, "updated_at")}
    return update(deals).where(DEAL_BY_KEY).values(**values)


class DealLedger(StoreBase):
    """Per-deal meeting records."""

    def deal_record(self, provider: str, account_id: str, deal_id: str) -> DealRecord:
        with self.reader.connect() as conn:
            row = conn.execute(_DEAL_RECORD, deal_params(provider, account_id, deal_id)).first()
        if row is None:
            return DealRecord()
        return DealRecord(
            calendar_event_id=row.calendar_event_id,
            calendar_id=row.calendar_id,
            organizer=row.organizer,
            meet_url=row.meet_url,
            spec_fingerprint=row.spec_fingerprint,
            state=row.meeting_state,
            series=row.event_series or 0,
        )

    def record_intent(
        self, claim: Claim, *, calendar_id: str, calendar_event_id: str, organizer: str, series: int
    ) -> None:
        """Name the event about to be created *before* it is: a crash after Google made it
        leaves the ledger pointing at it, and the retry reconciles that id instead of making
        another. Only call this when the previously recorded event is cancelled for sure: the
        ledger's one id is the only one that may be live."""
        self._set_deal(
            claim,
            calendar_event_id=calendar_event_id,
            calendar_id=calendar_id,
            organizer=organizer,
            meet_url=None,
            spec_fingerprint=None,
            meeting_state="live",
            event_series=series,
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
        series: int = 0,
    ) -> None:
        """Remember the live Calendar event and Meet URL before anything is written to the CRM."""
        if not meet_url:
            raise ValueError("refusing to record an empty Meet URL")
        # The event and the deal together, the event's row first: every transaction that
        # writes both (claim, renew, finish) locks them in that order, so on PostgreSQL two of
        # them can never wait for each other (a deal-then-event order here deadlocked with
        # the heartbeat's renew of the same claim).
        with self.engine.begin() as conn:
            conn.execute(
                _EVENT_MEETING,
                {
                    "b_id": claim.event_id,
                    "b_token": claim.token,
                    "b_meet_url": meet_url,
                    "b_event_id": calendar_event_id,
                },
            )
            self._set_deal(
                claim,
                conn=conn,
                calendar_event_id=calendar_event_id,
                calendar_id=calendar_id,
                organizer=organizer,
                meet_url=meet_url,
                spec_fingerprint=spec_fingerprint,
                meeting_state="live",
                event_series=series,
            )

    def record_cancelled(self, claim: Claim) -> None:
        """The recorded event is cancelled in Google (its id, organizer and link are kept, to
        restore it when the deal comes back)."""
        self._set_deal(claim, meeting_state="cancelled", spec_fingerprint=None)

    def _set_deal(self, claim: Claim, conn: Connection | None = None, **values: object) -> None:
        if conn is None:
            with self.engine.begin() as own:
                self._set_deal(claim, own, **values)
            return
        params = {f"v_{name}": value for name, value in values.items()}
        params["v_updated_at"] = self._now(conn)
        params.update(deal_params(claim.provider, claim.account_id, claim.deal_id))
        conn.execute(_deal_update(frozenset(values)), params)
