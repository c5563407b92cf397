"""The HubSpot emulator itself: its parts put together, its route table and its lifecycle.

Each part is a small class over :class:`~middleware.testing.hubspot.state.EmulatorState`
(seeding, fault injection, dispatch and one per route group); this module combines them,
seeds the portal every HubSpot account starts with, and starts and stops the server.
"""

from __future__ import annotations

import re

from middleware.testing.hubspot.account import AccountRoutes
from middleware.testing.hubspot.catalog import CatalogRoutes
from middleware.testing.hubspot.contacts import ContactRoutes
from middleware.testing.hubspot.deals import DealRoutes
from middleware.testing.hubspot.dispatch import Dispatch
from middleware.testing.hubspot.faults import FaultInjection
from middleware.testing.hubspot.model import (
    DEFAULT_CUSTOM_PROPERTY_DEFINITIONS,
    DEFAULT_DEAL_PROPERTY_DEFINITIONS,
    DEFAULT_STAGES,
    Pipeline,
    PropertyDefinition,
)
from middleware.testing.hubspot.owners import OwnerRoutes
from middleware.testing.hubspot.seeding import Seeding
from middleware.testing.hubspot.server import Served


class HubSpotEmulator(
    Served,
    Seeding,
    FaultInjection,
    Dispatch,
    DealRoutes,
    ContactRoutes,
    OwnerRoutes,
    CatalogRoutes,
    AccountRoutes,
):
    """HubSpot CRM v3 on ``http://127.0.0.1:<free port>``, with state a test can seed and read.

    Seed with :meth:`add_owner`, :meth:`add_contact`, :meth:`add_deal`; change state "in the
    CRM" with :meth:`set_deal_properties`; read it with :meth:`deal_properties`. Every request
    is logged in :attr:`requests` and every successful deal PATCH in :attr:`patches`.
    """

    thread_name = "hubspot-emulator"

    def __init__(
        self,
        *,
        access_token: str = "pat-na1-test-token",
        portal_id: int = 62515,
        time_zone: str = "US/Eastern",
    ) -> None:
        super().__init__(access_token=access_token, portal_id=portal_id, time_zone=time_zone)

        for name, label, type_, field_type, read_only in DEFAULT_DEAL_PROPERTY_DEFINITIONS:
            self._deal_properties[name] = PropertyDefinition(
                name, label, type_, field_type, read_only=read_only, hubspot_defined=True
            )
        self._deal_properties["dealtype"].options = (
            ("newbusiness", "New Business"),
            ("existingbusiness", "Existing Business"),
        )
        for name, label, type_, field_type in DEFAULT_CUSTOM_PROPERTY_DEFINITIONS:
            self.define_property(name, type=type_, field_type=field_type, label=label)
        self._pipelines["default"] = Pipeline("default", "Sales Pipeline", 0)
        for stage_id, label, probability, closed in DEFAULT_STAGES:
            self.add_stage("default", stage_id, label, probability=probability, is_closed=closed)

        # Routes: (method, path regex, handler). A trailing slash is accepted, as HubSpot does.
        self._routes = [
            (method, re.compile(pattern + "/?"), handler)
            for method, pattern, handler in (
                ("GET", r"/crm/v3/objects/deals/(?P<deal_id>[^/]+)", self._get_deal),
                ("PATCH", r"/crm/v3/objects/deals/(?P<deal_id>[^/]+)", self._patch_deal),
                (
                    "GET",
                    r"/crm/v3/objects/deals/(?P<deal_id>[^/]+)/associations/(?:contacts?|0-1)",
                    self._get_deal_contacts_v3,
                ),
                (
                    "GET",
                    r"/crm/v4/objects/deals/(?P<deal_id>[^/]+)/associations/(?:contacts?|0-1)",
                    self._get_deal_contacts_v4,
                ),
                ("POST", r"/crm/v3/objects/contacts/batch/read", self._batch_read_contacts),
                ("GET", r"/crm/v3/objects/contacts/(?P<contact_id>[^/]+)", self._get_contact),
                ("GET", r"/crm/v3/owners", self._list_owners),
                ("GET", r"/crm/v3/owners/(?P<owner_id>[^/]+)", self._get_owner),
                ("GET", r"/crm/v3/properties/deals/(?P<name>[^/]+)", self._get_deal_property),
                ("GET", r"/crm/v3/pipelines/deals", self._list_pipelines),
                ("GET", r"/crm/v3/pipelines/deals/(?P<pipeline_id>[^/]+)", self._get_pipeline),
                ("GET", r"/account-info/(?:v3|2026-03)/details", self._get_account_details),
            )
        ]

    # ---- lifecycle -------------------------------------------------------------------------

    def reset_log(self) -> None:
        """Forget the logged :attr:`requests` and :attr:`patches` (state is kept)."""
        with self._lock:
            self.requests.clear()
            self.patches.clear()
