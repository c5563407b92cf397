"""The meetings API's provider client: what a CRM client is for a CRM deal, over the store.

``fetch_deal`` reads the meeting's row (``plan.meeting_deal``); ``write_back`` records the Meet
link and Calendar event id into it, ``clear_write_back`` empties them once it is cancelled. The
pipeline records the link in the deal ledger first, as for every provider.
"""

from __future__ import annotations

from middleware.crm.base import Stage
from middleware.errors import PermanentError
from middleware.meetings_api.plan import meeting_deal
from middleware.model import Deal
from middleware.store.meetings import PROVIDER, MeetingStore


class MeetingsClient:
    """:class:`~middleware.crm.base.CRMClient` of provider ``api``."""

    provider = PROVIDER

    def __init__(self, store: MeetingStore) -> None:
        self.store = store

    def fetch_deal(self, account_id: str, deal_id: str) -> Deal:
        """The meeting as a deal. Raises :class:`PermanentError` ``deal_not_found``."""
        meeting = self.store.get_meeting(deal_id)
        if meeting is None:
            raise PermanentError("deal_not_found", f"meeting {deal_id} not found")
        return meeting_deal(meeting)

    def write_back(self, deal: Deal, *, meet_url: str, calendar_event_id: str) -> bool:
        return self.store.record_meeting_link(deal.deal_id, meet_url, calendar_event_id)

    def clear_write_back(self, deal: Deal) -> bool:
        return self.store.record_meeting_link(deal.deal_id, None, None)

    def list_stages(self) -> list[Stage]:
        return []

    def close(self) -> None:
        return None
