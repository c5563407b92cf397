"""Deal routes of the HubSpot emulator: ``GET`` and ``PATCH /crm/v3/objects/deals/{dealId}``.

A read with ``associations=contacts`` embeds the first 100 contact links, with the next page's
``after`` in the block's ``paging`` when there are more (hubspot-2026-and-calendar-lifecycle.md
§A4 "Reading associations"); ``embedded_association_paging`` off leaves that out.

A PATCH is validated against the deal property definitions (unknown and read-only names are
refused whole, as HubSpot does) and against the account's validation rules
(crm-webhooks-and-apis.md §1.7; changelog crm-api-write-validation-enforcement).
"""

from __future__ import annotations

import json

from middleware.testing.hubspot.model import (
    ALWAYS_DEAL_PROPERTIES,
    DEFAULT_DEAL_PROPERTIES,
    Record,
    association_cursor,
    contact_links,
    object_json,
)
from middleware.testing.hubspot.state import EMBEDDED_ASSOCIATIONS_LIMIT, EmulatorState
from middleware.testing.hubspot.wire import (
    ApiError,
    JsonDict,
    Request,
    Response,
    as_hubspot_string,
    request_json,
)


class DealRoutes(EmulatorState):
    """Read and update one deal."""

    def _get_deal(self, request: Request, deal_id: str) -> Response:
        deal = self._find_deal(deal_id, archived=request.bool_param("archived"))
        requested = request.list_param("properties")
        names = DEFAULT_DEAL_PROPERTIES if requested is None else requested
        # Unknown names are ignored; defined-but-unset ones come back as null.
        wanted = {n for n in names if n in self._deal_properties} | set(ALWAYS_DEAL_PROPERTIES)
        body = object_json(deal, sorted(wanted))
        associations = request.list_param("associations") or []
        # HubSpot only includes the "associations" key when there are associated objects.
        if deal.contact_ids and any(a in ("contacts", "contact", "0-1") for a in associations):
            body["associations"] = {"contacts": self._embedded_contacts(deal)}
        return Response(200, body)

    def _embedded_contacts(self, deal: Record) -> JsonDict:
        """The first EMBEDDED_ASSOCIATIONS_LIMIT contact links; when more follow, the block's
        ``paging.next`` with an opaque ``after`` (unless :attr:`embedded_association_paging`
        is off) (hubspot-2026-and-calendar-lifecycle.md §A4)."""
        links = contact_links(deal)
        block: JsonDict = {"results": links[:EMBEDDED_ASSOCIATIONS_LIMIT]}
        if len(links) > EMBEDDED_ASSOCIATIONS_LIMIT and self.embedded_association_paging:
            after = association_cursor(EMBEDDED_ASSOCIATIONS_LIMIT)
            block["paging"] = {
                "next": {
                    "after": after,
                    "link": f"{self.base_url}/crm/v3/objects/deals/{deal.id}/associations/"
                    f"contacts?after={after}",
                }
            }
        return block

    def _patch_deal(self, request: Request, deal_id: str) -> Response:
        body = request_json(request)
        deal = self._find_deal(deal_id)
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise ApiError(
                400,
                'Invalid input JSON: the body must be an object with a "properties" object',
                "VALIDATION_ERROR",
            )
        updates: dict[str, str] = {}
        invalid: list[JsonDict] = []
        for name, value in properties.items():
            definition = self._deal_properties.get(name)
            if definition is None:
                invalid.append(
                    self._invalid_property(
                        name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST"
                    )
                )
            elif definition.read_only:
                invalid.append(
                    self._invalid_property(
                        name,
                        f'"{name}" is a read only property; its value cannot be set.',
                        "READ_ONLY_VALUE",
                    )
                )
            elif isinstance(value, (dict, list)):
                raise ApiError(
                    400,
                    f'Invalid input JSON: the value of property "{name}" must be a string',
                    "VALIDATION_ERROR",
                )
            else:
                # null and "" both clear a value; HubSpot then reads it back as "".
                updates[name] = "" if value is None else as_hubspot_string(value)
        if invalid:
            raise ApiError(
                400,
                "Property values were not valid: " + json.dumps(invalid, separators=(",", ":")),
                "VALIDATION_ERROR",
            )
        if self.validation_rules_apply_to_v3:
            for message, ids in self._validation_rules:
                if ids is None or deal_id in ids:
                    # Shape: {"status","message","category":"VALIDATION_ERROR","correlationId"}.
                    raise ApiError(400, message, "VALIDATION_ERROR")
        deal.properties.update(updates)
        self._touch(deal)
        self.patches.append({"deal_id": deal_id, "properties": dict(updates)})
        # The response carries every property that has a value.
        stored = sorted(n for n, v in deal.properties.items() if v is not None)
        return Response(200, object_json(deal, stored))

    def _invalid_property(self, name: str, message: str, error: str) -> JsonDict:
        return {
            "isValid": False,
            "message": message,
            "error": error,
            "name": name,
            "localizedErrorMessage": message,
            "portalId": self.portal_id,
        }
