"""Process one claimed event: read the deal now → the lifecycle acts on it → record the outcome.

``lifecycle.py`` decides and does what the deal's meeting must become (book, move, cancel,
restore, reassign); this module reads the deal (a deleted deal reads as None), guards every
remote call with the parks, and turns what happened into the event's outcome:

* ``succeeded`` with the ``action`` it took (``booked``, ``moved``, ``cancelled``…);
* ``skipped`` with a reason: ``waiting_for_start``, ``waiting_for_owner``,
  ``not_in_trigger_stage``, ``deal_deleted`` (nothing to cancel);
* ``retrying`` with backoff for :class:`RetryableError` until the retry budget is spent, then
  ``failed``; ``failed`` at once for :class:`PermanentError`.

The event id and Meet URL are recorded in the store *before* the CRM write-back, so a crash
between the two never loses the link; the write-back is skipped when the deal holds both.

A store fault during the attempt (its connection terminated, a deadlock) retries the event
with that ``store_*`` reason; recording the outcome is tried again on the pool's next connection
a few times before the fault is left to the worker (and the lease to expire).

Parking: a :class:`RetryableError` with ``park_scope`` (an account- or rep-wide wait) parks its
scope in the store and the event waits until the park ends, spending no attempt. Before calling
the CRM for an account, or Google for a rep, an active park of that scope (or of all of Google)
parks the event the same way without any remote call; other accounts and reps go on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from middleware import logs, metrics
from middleware.crm.base import CRMClient
from middleware.errors import MiddlewareError, PermanentError, RetryableError, SkipEvent
from middleware.lifecycle import Done, Lifecycle
from middleware.meetings import MeetingSpec
from middleware.model import FAILED, RETRYING, SKIPPED, SUCCEEDED, Deal
from middleware.retry import GOOGLE_PROJECT_SCOPE, RetryPolicy, account_scope, rep_scope
from middleware.rules import Rules
from middleware.store import Claim, Store, utcnow
from middleware.store.faults import store_fault
from middleware.store.parks import Park

log = logging.getLogger(__name__)

#: pauses between tries of recording an outcome when the store failed (a broken connection is
#: replaced by the pool's next one); after the last, the lease is left to expire
RECORD_RETRY_PAUSES = (0.2, 0.5, 1.0)


class CalendarMeeting(Protocol):
    @property
    def event_id(self) -> str: ...
    @property
    def calendar_id(self) -> str: ...
    @property
    def meet_url(self) -> str: ...


class CalendarGateway(Protocol):
    """What the pipeline needs from Google Calendar (``middleware.google.GoogleCalendar``)."""

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
    ) -> CalendarMeeting: ...

    def restore_event(
        self,
        *,
        organizer: str,
        calendar_id: str,
        event_id: str,
        spec: MeetingSpec,
        send_updates: str,
        request_id: str,
    ) -> CalendarMeeting: ...

    def cancel_event(
        self, *, organizer: str, calendar_id: str, event_id: str, send_updates: str
    ) -> None: ...

    def calendar_time_zone(self, organizer: str, calendar_id: str) -> str | None: ...


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str | None = None
    message: str | None = None
    retry_at: datetime | None = None
    meet_url: str | None = None
    #: ``retrying`` until ``retry_at`` without spending an attempt (a park).
    parked: bool = False
    #: what a succeeded event did (``lifecycle.ACTIONS``)
    action: str | None = None


class _Parked(Exception):
    """Raised inside ``_process`` when the scope about to be called is parked."""

    def __init__(self, park: Park) -> None:
        super().__init__(park.message)
        self.park = park


class Pipeline:
    """Runs claimed events to an outcome and records it in the store."""

    def __init__(
        self,
        *,
        store: Store,
        rules: Rules,
        crms: Mapping[str, CRMClient],
        calendar: CalendarGateway,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.rules = rules
        self.crms = dict(crms)
        self.calendar = calendar
        self.clock = clock
        self.rand = rand
        self.lifecycle = Lifecycle(
            store=store, calendar=calendar, rules=rules.meeting, check_rep=self._check_rep
        )
        self.policy = RetryPolicy(
            max_attempts=rules.retry.max_attempts,
            base_seconds=rules.retry.base_seconds,
            max_seconds=rules.retry.max_seconds,
        )

    @logs.with_claim
    @metrics.observe_processing
    def run(self, claim: Claim) -> Outcome:
        """Process ``claim`` and record the outcome (only if this worker still holds the lease)."""
        outcome = self._outcome(claim)
        self._record(claim, outcome)
        log.info(
            "event %s (%s deal %s, attempt %s): %s%s%s%s",
            claim.event_id,
            claim.provider,
            claim.deal_id,
            claim.attempt,
            outcome.status,
            f" ({outcome.action})" if outcome.action else "",
            f" [{outcome.reason}] {outcome.message}" if outcome.reason else "",
            f" (parked until {outcome.retry_at:%Y-%m-%d %H:%M:%S} UTC)" if outcome.parked else "",
            extra={"status": outcome.status, "action": outcome.action, "reason": outcome.reason},
        )
        return outcome

    def _record(self, claim: Claim, outcome: Outcome) -> None:
        """``store.finish`` the attempt; after a store fault (a connection terminated or broken
        mid-way, a deadlock) try again with the pool's next connection, ``RECORD_RETRY_PAUSES``
        apart, then raise it (the worker logs it and the lease expires: the event is taken
        over). Finishing is conditional on the lease, so a try whose answer was lost but which
        was committed makes the next one change nothing."""
        for tried, pause in enumerate((*RECORD_RETRY_PAUSES, None)):
            try:
                recorded = self.store.finish(
                    claim,
                    outcome.status,
                    reason=outcome.reason,
                    message=outcome.message,
                    retry_at=outcome.retry_at,
                    park=outcome.parked,
                    action=outcome.action,
                )
            except SQLAlchemyError as exc:
                fault = store_fault(exc)
                if pause is None or fault is None:
                    raise
                log.warning(
                    "event %s: cannot record the outcome yet (%s: %s); trying again",
                    claim.event_id,
                    fault.reason,
                    fault.detail,
                )
                time.sleep(pause)
                continue
            if not recorded:
                log.warning(
                    "event %s: outcome not recorded: the lease was lost to another worker%s",
                    claim.event_id,
                    ", or an earlier try recorded it" if tried else "",
                )
            return

    def _outcome(self, claim: Claim) -> Outcome:
        try:
            done = self._process(claim)
        except SkipEvent as exc:
            return Outcome(SKIPPED, exc.reason, exc.message)
        except _Parked as parked:
            park = parked.park
            return Outcome(RETRYING, park.reason, park.message, retry_at=park.until, parked=True)
        except RetryableError as exc:
            if exc.park_scope:
                return self._park(exc, exc.park_scope)
            return self._retry_or_fail(claim, exc)
        except PermanentError as exc:
            return Outcome(FAILED, exc.reason, exc.message)
        except SQLAlchemyError as exc:
            fault = store_fault(exc)
            if fault is None:  # a constraint, a value too long…: a bug
                return self._unexpected(claim, exc)
            # The attempt's own store call failed (a connection terminated or broken, a
            # deadlock): a transient fault, recorded on a fresh connection and retried.
            log.warning(
                "event %s: the event store failed during the attempt (%s: %s); retrying",
                claim.event_id,
                fault.reason,
                fault.detail,
            )
            error = RetryableError(
                fault.reason,
                f"the event store failed during this attempt ({fault.reason}); it is tried "
                "again, and whatever it made in Google is found again by its event id",
            )
            return self._retry_or_fail(claim, error)
        except Exception as exc:  # a bug or an unmapped library error: retry, bounded
            return self._unexpected(claim, exc)
        return Outcome(SUCCEEDED, meet_url=done.meet_url, action=done.action)

    def _unexpected(self, claim: Claim, exc: Exception) -> Outcome:
        log.exception("event %s: unexpected error", claim.event_id)
        error = RetryableError(
            "internal_error", f"unexpected {type(exc).__name__} (see the worker log)"
        )
        return self._retry_or_fail(claim, error)

    def _retry_or_fail(self, claim: Claim, exc: MiddlewareError) -> Outcome:
        decision = self.policy.decide(
            claim.attempts_since_replay, retry_after=exc.retry_after, rand=self.rand
        )
        if decision.give_up:
            message = f"gave up after {claim.attempts_since_replay} attempts: {exc.message}"
            return Outcome(FAILED, exc.reason, message)
        retry_at = self.clock() + timedelta(seconds=decision.delay_seconds)
        return Outcome(RETRYING, exc.reason, exc.message, retry_at=retry_at)

    def _park(self, exc: MiddlewareError, scope: str) -> Outcome:
        """Park ``scope`` (kept if already parked longer); this event waits for its end."""
        decision = self.policy.decide(0, retry_after=exc.retry_after, parked=True)
        until = self.clock() + timedelta(seconds=decision.delay_seconds)
        park = self.store.park(scope, until, reason=exc.reason, message=exc.message)
        log.warning("parked %s until %s: [%s] %s", scope, park.until, exc.reason, exc.message)
        return Outcome(RETRYING, exc.reason, exc.message, retry_at=park.until, parked=True)

    def _check_park(self, *scopes: str) -> None:
        """Raise :class:`_Parked` when any of ``scopes`` is parked now."""
        park = self.store.active_park(*scopes, now=self.clock())
        if park is not None:
            raise _Parked(park)

    def _process(self, claim: Claim) -> Done:
        crm = self.crms.get(claim.provider)
        if crm is None:  # an event stored by a CRM module this build no longer has
            raise PermanentError(
                "not_configured", f"no CRM module for provider {claim.provider!r} in this version"
            )
        self._check_park(account_scope(claim.provider, claim.account_id))
        deal: Deal | None
        try:
            deal = crm.fetch_deal(claim.account_id, claim.deal_id)
        except PermanentError as exc:
            if exc.reason != "deal_not_found":
                raise
            deal = None  # deleted (or merged away) in the CRM: its meeting is cancelled
        return self.lifecycle.apply(claim, crm, deal)

    def _check_rep(self, rep: str) -> None:
        self._check_park(rep_scope(rep), GOOGLE_PROJECT_SCOPE)
