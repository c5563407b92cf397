"""The demo's lifecycle: bring a deal's one Calendar event to what the deal says *now*.

CONTRACT.md, *The demo's lifecycle*. Processing reads the deal as the CRM reports it when the
event is processed, so the order webhooks arrive in does not change the end state, and an
older event processed after a newer one finds nothing to do:

==============================  =============================================================
deal now                        what happens (``events.action``)
==============================  =============================================================
deleted, or in a cancel stage   the live event is cancelled in Google, the write-back
                                properties emptied (``cancelled``; ``unchanged`` if none)
in a trigger stage, no owner    ``skipped`` ``waiting_for_owner``
or no start                     ``skipped`` ``waiting_for_start``
in a trigger stage, nothing     a new event (``booked``)
booked
booked, same organizer          the same event brought to the plan: ``moved`` (new start),
                                ``updated`` (title, guests…) or ``unchanged``
booked, owner changed           old event cancelled, a new one on the new owner's calendar
                                (``reassigned``)
cancelled, back in a trigger    the same event restored (``restored``); if Google refuses or
stage                           it is gone, the deal's next event id (``recreated``)
any other stage                 ``skipped`` ``not_in_trigger_stage``; a live event is left
==============================  =============================================================

Never two live events: the deal ledger names one event at a time, and it moves to a new id
(``meetings.calendar_event_id(…, series)``) only after the old one is cancelled for sure
(``record_cancelled``), recording the new id *before* creating it (``record_intent``). A crash
at any step leaves the ledger naming the one event that may be live; the retry reconciles it
(deterministic ids: a repeated insert is a 409, a repeated delete a 410).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from middleware.crm.base import CRMClient
from middleware.errors import PermanentError, RestoreRefused, RetryableError, SkipEvent
from middleware.meetings import (
    MeetingSpec,
    calendar_event_id,
    conference_request_id,
    plan_meeting,
    rep_of,
    rep_timezone,
)
from middleware.metrics import count_action
from middleware.model import Deal
from middleware.rules import MeetingRules
from middleware.store import Claim, DealRecord, Store

BOOKED = "booked"
MOVED = "moved"
UPDATED = "updated"
CANCELLED = "cancelled"
RESTORED = "restored"
RECREATED = "recreated"
REASSIGNED = "reassigned"
UNCHANGED = "unchanged"
ACTIONS = (BOOKED, MOVED, UPDATED, CANCELLED, RESTORED, RECREATED, REASSIGNED, UNCHANGED)


@dataclass(frozen=True)
class Done:
    """What processing did, and the Meet link the deal now has (None when cancelled)."""

    action: str
    meet_url: str | None = None
    #: the deal's live Calendar event, when there is one
    event_id: str | None = None


class Lifecycle:
    """Acts on one claimed event's deal. ``check_rep`` raises when the rep's Google scope is
    parked (the pipeline's park check), before any call to Google for that rep."""

    def __init__(
        self,
        *,
        store: Store,
        calendar: Any,
        rules: MeetingRules,
        check_rep: Callable[[str], None],
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.rules = rules
        self.check_rep = check_rep
        #: rep → their calendar's time zone, read once per process (None: Google gave none)
        self._zones: dict[str, str | None] = {}

    def apply(self, claim: Claim, crm: CRMClient, deal: Deal | None) -> Done:
        """Bring the deal's meeting to the deal's current state (see the module docstring).

        Raises :class:`SkipEvent` (waiting, another stage, a deleted deal without meeting) and
        the errors of the CRM and Google adapters.
        """
        if deal is None or deal.in_cancel_stage:
            return self._cancel(claim, crm, deal)
        if not deal.in_trigger_stage:
            raise SkipEvent(
                f"deal {deal.deal_id} is in stage {deal.stage!r}, neither a trigger nor a cancel "
                "stage; a live meeting is left as it is"
            )
        return self._book(claim, crm, deal)

    # ---- cancelled -------------------------------------------------------------------------

    def _cancel(self, claim: Claim, crm: CRMClient, deal: Deal | None) -> Done:
        record = self._record(claim)
        action = UNCHANGED
        if record.live and record.organizer and record.calendar_event_id:
            self._cancel_recorded(claim, record, self._send_updates(deal))
            action = CANCELLED
            count_action(claim.provider, action)
        if deal is not None:
            crm.clear_write_back(deal)
        elif action == UNCHANGED:
            raise SkipEvent(
                f"deal {claim.deal_id} was deleted in the CRM and has no live meeting",
                "deal_deleted",
            )
        return Done(action)

    # ---- booked ----------------------------------------------------------------------------

    def _book(self, claim: Claim, crm: CRMClient, deal: Deal) -> Done:
        try:
            rep = rep_of(deal)
        except PermanentError as exc:
            raise SkipEvent(
                f"{exc.message}; the demo is booked when the owner is set", "waiting_for_owner"
            ) from None
        if deal.start_value is None or not str(deal.start_value).strip():
            raise SkipEvent(
                f"deal {deal.deal_id}: {deal.start_property} is empty; the demo is booked when "
                "it is filled",
                "waiting_for_start",
            )
        # A meeting its source spells out (the meetings API) is taken as it is.
        spec = deal.meeting or plan_meeting(deal, self.rules, timezone=self._zone(rep))
        send = self._send_updates(deal)
        record = self._record(claim)
        calendar_id = self.rules.calendar_id
        if record.calendar_event_id is None:
            done = self._create(claim, spec, send, series=0, action=BOOKED)
        elif record.organizer != rep or (record.calendar_id or calendar_id) != calendar_id:
            action = REASSIGNED if record.live else RECREATED
            if record.live:
                self._cancel_recorded(claim, record, send)
            done = self._create(claim, spec, send, series=record.series + 1, action=action)
        elif record.live:
            done = self._bring_to_plan(claim, spec, send, record)
        else:
            done = self._restore(claim, spec, send, record)
        if done.meet_url and done.event_id:
            crm.write_back(deal, meet_url=done.meet_url, calendar_event_id=done.event_id)
        return done

    def _zone(self, rep: str) -> str:
        named = self.rules.rep_timezones.get(rep)
        calendar_zone = (
            None if named else self.calendar.calendar_time_zone(rep, self.rules.calendar_id)
        )
        return rep_timezone(rep, self.rules, calendar_zone)

    def _create(
        self, claim: Claim, spec: MeetingSpec, send: str, *, series: int, action: str
    ) -> Done:
        event_id = calendar_event_id(claim.provider, claim.account_id, claim.deal_id, series)
        if series:  # name it before making it: a retry after a crash reconciles this id
            self.store.record_intent(
                claim,
                calendar_id=self.rules.calendar_id,
                calendar_event_id=event_id,
                organizer=spec.organizer,
                series=series,
            )
        self.check_rep(spec.organizer)
        meeting = self.calendar.ensure_event(**self._call(spec, event_id, send), verify=False)
        return self._recorded(claim, spec, meeting, series, action)

    def _bring_to_plan(
        self, claim: Claim, spec: MeetingSpec, send: str, record: DealRecord
    ) -> Done:
        assert record.calendar_event_id is not None
        if record.spec_fingerprint == spec.fingerprint() and record.meet_url and not claim.force:
            # The same meeting is already made (a duplicate, or another event of the deal):
            # nothing to ask Google; only make sure the event and the CRM show the link.
            self.store.record_meeting(
                claim,
                calendar_id=record.calendar_id or self.rules.calendar_id,
                calendar_event_id=record.calendar_event_id,
                organizer=spec.organizer,
                meet_url=record.meet_url,
                spec_fingerprint=record.spec_fingerprint,
                series=record.series,
            )
            count_action(claim.provider, UNCHANGED)
            return Done(UNCHANGED, record.meet_url, record.calendar_event_id)
        self.check_rep(spec.organizer)
        try:
            meeting = self.calendar.ensure_event(
                **self._call(spec, record.calendar_event_id, send), verify=True
            )
        except RestoreRefused:
            # Deleted by hand in Google, and Google will not take it back: it is cancelled for
            # sure, so the deal's next id is the one live event.
            self.store.record_cancelled(claim)
            return self._create(claim, spec, send, series=record.series + 1, action=RECREATED)
        changed = set(getattr(meeting, "changed", ()) or ())
        if "status" in changed:
            action = RESTORED  # someone deleted it in Google; it is live again
        elif changed & {"start", "end"}:
            action = MOVED
        elif changed - {"conferenceData"}:
            action = UPDATED
        else:
            action = UNCHANGED
        return self._recorded(claim, spec, meeting, record.series, action)

    def _restore(self, claim: Claim, spec: MeetingSpec, send: str, record: DealRecord) -> Done:
        assert record.calendar_event_id is not None
        self.check_rep(spec.organizer)
        try:
            meeting = self.calendar.restore_event(
                **self._call(spec, record.calendar_event_id, send)
            )
        except RestoreRefused:
            # Google will not make it live again (refused, or the cancelled event is gone):
            # the deal's next id. The old one is cancelled, so there is still one live event.
            return self._create(claim, spec, send, series=record.series + 1, action=RECREATED)
        return self._recorded(claim, spec, meeting, record.series, RESTORED)

    def _cancel_recorded(self, claim: Claim, record: DealRecord, send: str) -> None:
        assert record.organizer and record.calendar_event_id
        self.check_rep(record.organizer)
        self.calendar.cancel_event(
            organizer=record.organizer,
            calendar_id=record.calendar_id or self.rules.calendar_id,
            event_id=record.calendar_event_id,
            send_updates=send,
        )
        self.store.record_cancelled(claim)

    def _recorded(
        self, claim: Claim, spec: MeetingSpec, meeting: Any, series: int, action: str
    ) -> Done:
        if not meeting.meet_url:  # never write an empty link anywhere
            raise RetryableError(
                "conference_pending", "Google returned the event without a Meet link yet"
            )
        self.store.record_meeting(
            claim,
            calendar_id=self.rules.calendar_id,
            calendar_event_id=meeting.event_id,
            organizer=spec.organizer,
            meet_url=meeting.meet_url,
            spec_fingerprint=spec.fingerprint(),
            series=series,
        )
        count_action(claim.provider, action)
        return Done(action, meeting.meet_url, meeting.event_id)

    # ---- helpers ---------------------------------------------------------------------------

    def _call(self, spec: MeetingSpec, event_id: str, send: str) -> dict[str, Any]:
        return {
            "organizer": spec.organizer,
            "calendar_id": self.rules.calendar_id,
            "event_id": event_id,
            "spec": spec,
            "send_updates": send,
            "request_id": conference_request_id(event_id),
        }

    def _send_updates(self, deal: Deal | None) -> str:
        """Who Google tells: the deal's own choice (the meetings API), else the rules'."""
        return (deal.send_updates if deal else None) or self.rules.send_updates

    def _record(self, claim: Claim) -> DealRecord:
        return self.store.deal_record(claim.provider, claim.account_id, claim.deal_id)
