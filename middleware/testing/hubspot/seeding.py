"""Seeding and reading the HubSpot emulator's state from a test (no HTTP involved).

What a test does "in the CRM": add owners, contacts, deals, property definitions and pipeline
stages, edit a deal as a person would, and read a deal's stored values back.
"""

from __future__ import annotations

from collections.abc import Iterable

from middleware.testing.hubspot.model import (
    Owner,
    Pipeline,
    PropertyDefinition,
    Record,
    Stage,
    object_json,
    owner_json,
)
from middleware.testing.hubspot.state import EmulatorState
from middleware.testing.hubspot.wire import now_iso


class Seeding(EmulatorState):
    """The ``add_*`` / ``set_*`` / ``define_*`` methods of the emulator; all take the lock."""

    def add_owner(
        self,
        owner_id: str,
        email: str,
        first_name: str = "Sam",
        last_name: str = "Rep",
        *,
        archived: bool = False,
        user_id: int | None = None,
    ) -> dict:
        """Add (or replace) an owner; returns it as ``GET /crm/v3/owners/{id}`` would.

        ``user_id`` (the HubSpot user behind the owner) defaults to a number derived from the id.
        """
        owner_id = str(owner_id)
        now = now_iso()
        with self._lock:
            if user_id is None:
                user_id = 9_000_000 + (int(owner_id) if owner_id.isdigit() else len(self._owners))
            owner = Owner(owner_id, email, first_name, last_name, user_id, archived, now, now)
            self._owners[owner_id] = owner
            return owner_json(owner)

    def add_contact(
        self,
        contact_id: str,
        email: str | None,
        first_name: str = "",
        last_name: str = "",
        *,
        company: str | None = None,
    ) -> dict:
        """Add (or replace) a contact; empty names and a None email are left unset (null)."""
        contact_id = str(contact_id)
        now = now_iso()
        properties: dict[str, str | None] = {
            "email": email or None,
            "firstname": first_name or None,
            "lastname": last_name or None,
            "company": company or None,
            "hs_object_id": contact_id,
            "createdate": now,
            "lastmodifieddate": now,
        }
        contact = Record(contact_id, properties, now, now)
        with self._lock:
            self._contacts[contact_id] = contact
            return object_json(contact, sorted(contact.properties))

    def add_deal(
        self, deal_id: str, properties: dict[str, str | None], contact_ids: Iterable[str] = ()
    ) -> dict:
        """Add (or replace) a deal associated with ``contact_ids``; returns it with all properties.

        Values are stored as strings like HubSpot does (None = unset). ``pipeline`` defaults to
        ``"default"`` as in HubSpot; pass ``"pipeline": None`` to leave it unset. A property that
        is not defined raises ValueError (call :meth:`define_property` first), because HubSpot
        refuses unknown properties too.
        """
        deal_id = str(deal_id)
        now = now_iso()
        with self._lock:
            values = self._checked_values(properties)
            stored: dict[str, str | None] = {"pipeline": "default", **values}
            stored.update(hs_object_id=deal_id, createdate=now, hs_lastmodifieddate=now)
            deal = Record(deal_id, stored, now, now, [str(c) for c in contact_ids])
            self._deals[deal_id] = deal
            return object_json(deal, sorted(self._deal_properties))

    def set_deal_properties(self, deal_id: str, **props: str | None) -> None:
        """Change a deal as if someone edited it in HubSpot (not recorded in :attr:`patches`).

        Any defined property may be set, read-only ones included; None unsets. Raises KeyError
        for an unknown deal and ValueError for an undefined property.
        """
        with self._lock:
            deal = self._deals[str(deal_id)]
            deal.properties.update(self._checked_values(props))
            self._touch(deal)

    def delete_deal(self, deal_id: str) -> None:
        """Delete a deal as a user would: HubSpot archives it, and reads answer 404."""
        with self._lock:
            del self._deals[str(deal_id)]

    def deal_properties(self, deal_id: str) -> dict[str, str | None]:
        """The deal's current value of every defined property, None where unset.

        Raises KeyError if there is no such deal.
        """
        with self._lock:
            stored = self._deals[str(deal_id)].properties
            return {name: stored.get(name) for name in sorted(self._deal_properties)}

    def define_property(
        self,
        name: str,
        *,
        type: str = "string",  # noqa: A002 - HubSpot's field name
        field_type: str = "text",
        label: str | None = None,
        read_only: bool = False,
    ) -> None:
        """Define (or redefine) a custom deal property, as ``POST /crm/v3/properties/deals`` does."""
        with self._lock:
            self._deal_properties[name] = PropertyDefinition(
                name, label or name, type, field_type, read_only=read_only
            )

    def remove_property(self, name: str) -> None:
        """Delete a deal property definition and its values (KeyError if it is not defined)."""
        with self._lock:
            del self._deal_properties[name]
            for deal in self._deals.values():
                deal.properties.pop(name, None)

    def add_stage(
        self,
        pipeline_id: str,
        stage_id: str,
        label: str,
        *,
        probability: str = "0.5",
        is_closed: bool = False,
    ) -> None:
        """Add a stage at the end of a pipeline (created, labelled by its id, if missing).

        An existing stage with that id is relabelled instead.
        """
        with self._lock:
            pipeline = self._pipelines.get(pipeline_id)
            if pipeline is None:
                pipeline = Pipeline(pipeline_id, pipeline_id, len(self._pipelines))
                self._pipelines[pipeline_id] = pipeline
            for stage in pipeline.stages:
                if stage.id == stage_id:
                    stage.label = label
                    return
            pipeline.stages.append(
                Stage(stage_id, label, len(pipeline.stages), probability, is_closed)
            )
