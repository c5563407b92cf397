"""The state every part of the HubSpot emulator shares, behind one lock.

:class:`EmulatorState` is the base of :class:`~middleware.testing.hubspot.HubSpotEmulator` and
of each of its parts (seeding, fault injection, dispatch, the route groups): it holds the
settings a test may change, the logs a test reads, and the portal's records.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from middleware.testing.hubspot.limits import Delay, Fault, WireFault
from middleware.testing.hubspot.model import Owner, Pipeline, PropertyDefinition, Record
from middleware.testing.hubspot.server import EmulatorServer
from middleware.testing.hubspot.wire import (
    JsonDict,
    Response,
    as_hubspot_string,
    now_iso,
    object_not_found,
)

# v4 association pages: public code asks for limit=500 (hubspot-2026-and-calendar-lifecycle.md
# §A4); whether 500 is HubSpot's maximum is unconfirmed, so it is settable per emulator
# (HubSpotEmulator.association_page_max) and larger limits are cut to it.
ASSOCIATIONS_DEFAULT_LIMIT = 500
ASSOCIATIONS_MAX_LIMIT = 500
# A v3 object read embeds at most 100 associations of each type, with the next page's `after`
# in that block's `paging` (§A4 "Reading associations", HubSpot's 2021-01-18 changelog).
EMBEDDED_ASSOCIATIONS_LIMIT = 100

Route = tuple[str, "re.Pattern[str]", Callable[..., Response]]


class EmulatorState:
    """Settings, logs and records of one emulated portal; all mutation holds :attr:`_lock`."""

    def __init__(self, *, access_token: str, portal_id: int, time_zone: str) -> None:
        self.access_token = access_token
        #: The portal the token belongs to, as ``GET /account-info/v3/details`` answers it.
        self.portal_id = portal_id
        #: The account's ``timeZone`` (an IANA name; HubSpot's guide shows ``"US/Eastern"``).
        self.time_zone = time_zone
        #: The largest v4 association page served (see ASSOCIATIONS_MAX_LIMIT).
        self.association_page_max = ASSOCIATIONS_MAX_LIMIT
        #: Whether a deal read's embedded associations, cut at EMBEDDED_ASSOCIATIONS_LIMIT,
        #: say so with ``paging.next.after`` (the changelog's answer). Switch it off to model
        #: an account that cuts the list at 100 without saying so.
        self.embedded_association_paging = True
        #: Whether validation rules refuse v3 PATCHes too. HubSpot's changelog
        #: (crm-api-write-validation-enforcement) enforces them on writes of version 2026-09;
        #: whether legacy v3 writes are checked as well is unconfirmed: switch it off to model
        #: "v3 writes are not checked".
        self.validation_rules_apply_to_v3 = True
        #: One entry per successful ``PATCH /crm/v3/objects/deals/{id}``:
        #: ``{"deal_id": str, "properties": dict}`` (values as stored, i.e. strings).
        self.patches: list[JsonDict] = []
        #: Every request: ``{"method", "path", "query", "body", "status", "authorization_ok"}``;
        #: ``query`` maps each name to its value (repeated values joined with ",").
        self.requests: list[JsonDict] = []

        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

        self._deals: dict[str, Record] = {}
        self._contacts: dict[str, Record] = {}
        self._owners: dict[str, Owner] = {}
        self._deal_properties: dict[str, PropertyDefinition] = {}
        self._pipelines: dict[str, Pipeline] = {}
        self._faults: list[Fault] = []
        self._delays: list[Delay] = []
        self._wire_faults: list[WireFault] = []
        self._validation_rules: list[tuple[str, frozenset[str] | None]] = []
        self._recent_requests: deque[float] = deque()  # monotonic times, for rate-limit headers
        # Routes: (method, path regex, handler); filled in by HubSpotEmulator.
        self._routes: list[Route] = []

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash): the value for ``HUBSPOT_API_BASE_URL``."""
        if self._server is None:
            raise RuntimeError("HubSpotEmulator is not running: call start() first")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    # ---- helpers shared by the parts -------------------------------------------------------

    def _find_deal(self, deal_id: str, *, archived: bool = False) -> Record:
        # The emulator keeps no archived deals, and archived=true asks for archived ones only.
        deal = None if archived else self._deals.get(deal_id)
        if deal is None:
            raise object_not_found(deal_id)
        return deal

    def _checked_values(self, properties: Mapping[str, Any]) -> dict[str, str | None]:
        """Test-side property values as HubSpot stores them; undefined names raise ValueError."""
        unknown = sorted(set(properties) - set(self._deal_properties))
        if unknown:
            raise ValueError(
                f"deal properties {unknown} are not defined; call define_property() first"
            )
        return {
            name: None if value is None else as_hubspot_string(value)
            for name, value in properties.items()
        }

    def _touch(self, deal: Record) -> None:
        deal.updated_at = now_iso()
        deal.properties["hs_lastmodifieddate"] = deal.updated_at
