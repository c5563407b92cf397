"""A deal's page: its live meeting (the deal ledger) and its trail of events and attempts.

The trail is the store's (``Store.deal_trail``, as ``GET /admin/deals/…`` and
``middleware events trail`` read it), narrowed to the page's CRM account, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask.typing import ResponseReturnValue

from middleware.store import DealRecord, Store, TrailEvent
from middleware.troubleshooting import fix_for
from middleware.web.dashboard.blueprint import bp, svc

TRAIL_EVENTS = 25


@dataclass(frozen=True)
class AccountTrail:
    provider: str
    account_id: str
    deal_id: str
    #: the meeting as the deal ledger holds it (empty before anything was booked)
    meeting: DealRecord
    #: the deal's newest events first, each with every attempt
    events: tuple[TrailEvent, ...]
    #: more events than shown (older ones: the event list filtered by the deal has them all)
    more: bool


def account_trail(
    store: Store, provider: str, account_id: str, deal_id: str, *, limit: int = TRAIL_EVENTS
) -> AccountTrail:
    trail = store.deal_trail(provider, deal_id, limit=limit)
    events = trail.events if trail else ()
    meetings = trail.meetings if trail else ()
    return AccountTrail(
        provider=provider,
        account_id=account_id,
        deal_id=deal_id,
        # the same deal id in another CRM account is another deal
        meeting=next((m for m in meetings if m.account_id == account_id), DealRecord()),
        events=tuple(e for e in reversed(events) if e.account_id == account_id),
        more=bool(trail and trail.more_events),
    )


@bp.get("/deals/<provider>/<account_id>/<deal_id>")
def deal(provider: str, account_id: str, deal_id: str) -> ResponseReturnValue:
    trail = account_trail(svc().store, provider, account_id, deal_id)
    status = 200 if trail.events or trail.meeting.calendar_event_id else 404
    return render_template("dashboard/deal.html", trail=trail, fix_for=fix_for), status
