"""A deal owner's email: from the first page of the owners list, else read alone; cached.

A sales team's owners fit on one page of ``GET /crm/v3/owners`` (up to 500), so the first
booking of an account lists them once and every owner on that page is cached (five minutes,
``crm/owners.py``): a burst of bookings for 40 reps costs one CRM call, not 40. An owner not on
that page (a larger portal, or one added since) is read alone with ``GET /crm/v3/owners/{id}``,
which answers 404 for a deactivated one (``owner_not_found``). The page is listed at most once
per account per five minutes, by one thread while the others wait for it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from middleware.crm.hubspot.http import _results, _segment, _text
from middleware.crm.hubspot.metadata import HubSpotMetadata
from middleware.errors import PermanentError

#: Owners on the one page listed (HubSpot's maximum ``limit``).
OWNERS_PAGE_LIMIT = 500


class HubSpotOwners(HubSpotMetadata):
    """The owner reads of :class:`~middleware.crm.hubspot.client.HubSpotClient`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # account → when its page was listed, and the page (owner id → email)
        self._owner_pages: dict[str, tuple[float, dict[str, str | None]]] = {}
        self._owner_pages_lock = threading.Lock()

    def _owner_email(self, account_id: str, deal_id: str, owner_id: str) -> str | None:
        """The owner's email (None when the owner has none). Raises ``owner_not_found`` and
        the errors of any call (see :meth:`fetch_deal`)."""
        return self._owners.get(
            (account_id, owner_id), lambda: self._load_owner(account_id, deal_id, owner_id)
        )

    def _load_owner(self, account_id: str, deal_id: str, owner_id: str) -> str | None:
        listed = self._list_owner_page(account_id, f"owner {owner_id} of deal {deal_id}")
        if owner_id in listed:
            return listed[owner_id]
        return self._read_owner(account_id, deal_id, owner_id)

    def _list_owner_page(self, account_id: str, wanted: str) -> dict[str, str | None]:
        """The first page of active owners (id → email), each put in the cache; the page
        listed last when that was within the cache's time to live. ``wanted`` names the owner
        asked for, in messages."""
        with self._owner_pages_lock:  # one listing at a time; the others wait for its answer
            listed = self._owner_pages.get(account_id)
            if listed is not None and time.monotonic() - listed[0] < self._owners.ttl_seconds:
                return listed[1]
            what = f"the list of owners (for {wanted})"
            response = self._send(
                "GET",
                "/crm/v3/owners",
                what,
                params={"limit": OWNERS_PAGE_LIMIT, "archived": "false"},
                account_id=account_id,
            )
            page = {
                str(owner["id"]): _text(owner.get("email")) or None
                for owner in _results(self._json_object(response, what), what)
                if owner.get("id") is not None and not owner.get("archived")
            }
            for owner_id, email in page.items():
                self._owners.put((account_id, owner_id), email)
            self._owner_pages[account_id] = (time.monotonic(), page)
            return page

    def _read_owner(self, account_id: str, deal_id: str, owner_id: str) -> str | None:
        what = f"the read of owner {owner_id} of deal {deal_id}"
        response = self._send(
            "GET", f"/crm/v3/owners/{_segment(owner_id)}", what, account_id=account_id
        )
        if response.status_code == 404:
            # Owners are looked up among active ones (archived=false is the default).
            raise PermanentError(
                "owner_not_found",
                f"deal {deal_id}: owner {owner_id} not found in HubSpot (deactivated?): "
                "assign an active owner",
            )
        return _text(self._json_object(response, what).get("email")) or None
