"""Contact and association routes of the HubSpot emulator.

``GET /crm/v3|v4/objects/deals/{dealId}/associations/contacts`` (v4 paged with ``limit`` and an
opaque ``after``, hubspot-2026-and-calendar-lifecycle.md §A4), ``GET
/crm/v3/objects/contacts/{contactId}`` and ``POST /crm/v3/objects/contacts/batch/read``
(crm-webhooks-and-apis.md §1.7).
"""

from __future__ import annotations

from middleware.testing.hubspot.model import (
    ALWAYS_CONTACT_PROPERTIES,
    CONTACT_PROPERTIES,
    DEFAULT_CONTACT_PROPERTIES,
    association_cursor,
    association_offset,
    contact_links,
    object_json,
)
from middleware.testing.hubspot.state import ASSOCIATIONS_DEFAULT_LIMIT, EmulatorState
from middleware.testing.hubspot.wire import (
    ApiError,
    JsonDict,
    Request,
    Response,
    now_iso,
    object_not_found,
    request_json,
)

# Batch endpoints take at most 100 inputs (HubSpot batch docs).
MAX_BATCH_INPUTS = 100


class ContactRoutes(EmulatorState):
    """A deal's contacts (v3 and v4 associations) and contact reads, one or a batch."""

    def _get_deal_contacts_v3(self, request: Request, deal_id: str) -> Response:
        deal = self._find_deal(deal_id)
        return Response(200, {"results": contact_links(deal)})

    def _get_deal_contacts_v4(self, request: Request, deal_id: str) -> Response:
        """One page of ``results[].toObjectId``; ``paging.next.after`` (an opaque cursor) only
        when more follow (hubspot-2026-and-calendar-lifecycle.md §A4 "Reading associations")."""
        deal = self._find_deal(deal_id)
        try:
            limit = int(request.param("limit") or ASSOCIATIONS_DEFAULT_LIMIT)
            after = request.param("after")
            start = association_offset(after) if after else 0
        except ValueError:
            raise ApiError(400, "limit and after are not valid", "VALIDATION_ERROR") from None
        if limit < 1 or start < 0:
            raise ApiError(400, "limit must be positive", "VALIDATION_ERROR")
        limit = min(limit, self.association_page_max)
        page = deal.contact_ids[start : start + limit]
        body: JsonDict = {
            "results": [
                {
                    # v4 sends the id as a number.
                    "toObjectId": int(contact_id) if contact_id.isdigit() else contact_id,
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}
                    ],
                }
                for contact_id in page
            ]
        }
        if start + limit < len(deal.contact_ids):
            cursor = association_cursor(start + limit)
            body["paging"] = {
                "next": {
                    "after": cursor,
                    "link": f"{self.base_url}/crm/v4/objects/deals/{deal_id}/associations/"
                    f"contacts?after={cursor}",
                }
            }
        return Response(200, body)

    # ---- contacts ------------------------------------------------------------------------

    def _get_contact(self, request: Request, contact_id: str) -> Response:
        contact = None if request.bool_param("archived") else self._contacts.get(contact_id)
        if contact is None:
            raise object_not_found(contact_id)
        names = request.list_param("properties")
        return Response(200, object_json(contact, self._contact_property_names(names)))

    def _batch_read_contacts(self, request: Request) -> Response:
        started_at = now_iso()
        body = request_json(request)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(
            isinstance(item, dict) and isinstance(item.get("id"), (str, int)) for item in inputs
        ):
            raise ApiError(
                400,
                'Invalid input JSON: "inputs" must be a list of {"id": ...}',
                "VALIDATION_ERROR",
            )
        if len(inputs) > MAX_BATCH_INPUTS:
            raise ApiError(
                400,
                f"Batch input contains {len(inputs)} inputs; at most {MAX_BATCH_INPUTS} are allowed.",
                "VALIDATION_ERROR",
                context={"inputs": [str(len(inputs))]},
            )
        requested = body.get("properties")
        names = self._contact_property_names(
            [str(n) for n in requested] if isinstance(requested, list) else None
        )
        results: list[JsonDict] = []
        missing: list[str] = []
        for contact_id in dict.fromkeys(str(item["id"]) for item in inputs):  # dedupe, keep order
            contact = self._contacts.get(contact_id)
            if contact is None:
                missing.append(contact_id)
            else:
                results.append(object_json(contact, names))
        response: JsonDict = {"status": "COMPLETE", "results": results}
        if missing:
            # 207 Multi-Status: the found objects plus one error listing the missing ids.
            response["numErrors"] = 1
            response["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": (
                        "Could not get some CONTACT objects, they may be deleted or not exist. "
                        "Check that ids are valid."
                    ),
                    "context": {"ids": missing},
                }
            ]
        response["startedAt"] = started_at
        response["completedAt"] = now_iso()
        return Response(207 if missing else 200, response)

    def _contact_property_names(self, requested: list[str] | None) -> list[str]:
        names = DEFAULT_CONTACT_PROPERTIES if requested is None else requested
        return sorted(
            {n for n in names if n in CONTACT_PROPERTIES} | set(ALWAYS_CONTACT_PROPERTIES)
        )
