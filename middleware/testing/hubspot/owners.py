"""Owner routes of the HubSpot emulator: ``GET /crm/v3/owners/{ownerId}`` (``idProperty``,
``archived``) and the paged ``GET /crm/v3/owners`` (crm-webhooks-and-apis.md §1.7)."""

from __future__ import annotations

from middleware.testing.hubspot.model import owner_json
from middleware.testing.hubspot.state import EmulatorState
from middleware.testing.hubspot.wire import ApiError, JsonDict, Request, Response

# The owners list pages with `limit` (default 100, at most 500) and an opaque `after` cursor.
OWNERS_DEFAULT_LIMIT = 100
OWNERS_MAX_LIMIT = 500


class OwnerRoutes(EmulatorState):
    """One owner by id or user id, and the owners list."""

    def _get_owner(self, request: Request, owner_id: str) -> Response:
        id_property = request.param("idProperty", "id")
        if id_property not in ("id", "userId"):
            raise ApiError(
                400,
                f"idProperty must be one of [id, userId], got {id_property}",
                "VALIDATION_ERROR",
            )
        archived = request.bool_param("archived")
        for owner in self._owners.values():
            key = owner.id if id_property == "id" else str(owner.user_id)
            # archived=true looks among archived owners only, archived=false among active ones.
            if key == owner_id and owner.archived == archived:
                return Response(200, owner_json(owner))
        raise ApiError(
            404,
            f"Owner with {id_property} {owner_id} not found",
            "OBJECT_NOT_FOUND",
            context={id_property: [owner_id]},
        )

    def _list_owners(self, request: Request) -> Response:
        try:
            limit = int(request.param("limit") or OWNERS_DEFAULT_LIMIT)
            start = int(request.param("after") or 0)
        except ValueError:
            raise ApiError(400, "limit and after must be integers", "VALIDATION_ERROR") from None
        if not 1 <= limit <= OWNERS_MAX_LIMIT:
            raise ApiError(
                400, f"limit must be between 1 and {OWNERS_MAX_LIMIT}", "VALIDATION_ERROR"
            )
        archived = request.bool_param("archived")
        email = request.param("email")
        owners = [
            o
            for o in self._owners.values()
            if o.archived == archived and (email is None or o.email.lower() == email.lower())
        ]
        page = owners[start : start + limit]
        body: JsonDict = {"results": [owner_json(o) for o in page]}
        if start + limit < len(owners):
            after = str(start + limit)
            body["paging"] = {
                "next": {"after": after, "link": f"{self.base_url}/crm/v3/owners/?after={after}"}
            }
        return Response(200, body)
