"""A deal's trail for its page: the ledger's meeting and the deal's events with their attempts.

Stop-gap, kept apart on purpose: it composes the store's existing queries (``list_events``,
``get_event``, ``deal_record``) rather than adding SQL of its own. When the store gains a
``trail`` query (``store/queries.py``), the deal page should read that instead and this module
should go.
"""

from __future__ import annotations

from dataclasses import dataclass

from middleware.store import DealRecord, EventDetail, EventFilter, Store

TRAIL_EVENTS = 25


@dataclass(frozen=True)
class DealTrail:
    provider: str
    account_id: str
    deal_id: str
    #: the meeting as the deal ledger holds it (empty before anything was booked)
    meeting: DealRecord
    #: the deal's newest events first, each with every attempt
    events: tuple[EventDetail, ...]
    #: more events than shown (older ones: the event list filtered by the deal has them all)
    more: bool


def deal_trail(
    store: Store, provider: str, account_id: str, deal_id: str, *, limit: int = TRAIL_EVENTS
) -> DealTrail:
    page, before = store.list_events(EventFilter(provider=provider, deal_id=deal_id), limit=limit)
    details = []
    for record in page:
        if record.account_id != account_id:  # the same deal id in another CRM account
            continue
        detail = store.get_event(record.id)
        if detail is not None:  # pruned in between
            details.append(detail)
    return DealTrail(
        provider=provider,
        account_id=account_id,
        deal_id=deal_id,
        meeting=store.deal_record(provider, account_id, deal_id),
        events=tuple(details),
        more=before is not None,
    )
