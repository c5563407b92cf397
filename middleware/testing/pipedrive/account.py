"""The company-level routes of the Pipedrive emulator: users, stages, deal fields.

* ``GET /v1/users/me``: the token's user with its company (``company_id``, ``company_name``,
  ``company_domain``), as v1 ``getCurrentUser`` documents it; ``GET /v1/users`` every user
  (one page, v1 has no paging here); ``GET /v1/users/{id}`` one (``pipedrive/client-nodejs``
  ``src/versions/v1/api/users-api.ts``; the Users API is not in v2, reference §2.5);
* ``GET /api/v2/stages`` (cursor-paged, reference §2.4);
* ``GET /api/v2/dealFields`` (cursor-paged ``{field_code, field_name, field_type,
  is_custom_field, is_optional_response_field, …}``, the v2 Fields API:
  ``src/versions/v2/models/get-deal-fields200-response-data-inner.ts``). Custom fields come
  from :meth:`define_field`; a few system fields are listed too, as Pipedrive lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from middleware.testing.hubspot.wire import Response

JsonDict = dict[str, Any]
PAGE_LIMIT = 500

#: (field_code, field_name, field_type) of system deal fields every company has
SYSTEM_DEAL_FIELDS = (
    ("title", "Title", "varchar"),
    ("value", "Value", "monetary"),
    ("stage_id", "Stage", "stage"),
    ("owner_id", "Owner", "user"),
    ("person_id", "Contact person", "people"),
    ("org_id", "Organization", "org"),
    ("expected_close_date", "Expected close date", "date"),
    ("status", "Status", "status"),
)


def error(status: int, message: str) -> Response:
    """Pipedrive's error body: ``{"success": false, "error": …, "errorCode": …}``."""
    return Response(status, {"success": False, "error": message, "errorCode": status})


def cursor_page(items: list[JsonDict], query: Mapping[str, str]) -> Response:
    """One v2 page: ``limit`` (at most 500) items from the opaque ``cursor``."""
    start = int(query.get("cursor") or 0)
    limit = min(int(query.get("limit", 100)), PAGE_LIMIT)
    page = items[start : start + limit]
    cursor = str(start + limit) if start + limit < len(items) else None
    return Response(
        200, {"success": True, "data": page, "additional_data": {"next_cursor": cursor}}
    )


class AccountRoutes:
    """Users, stages and deal fields over the emulator's state."""

    users: dict[int, JsonDict]
    stages: list[JsonDict]
    field_types: dict[str, str]
    field_names: dict[str, str]
    company_id: int
    company_name: str
    #: the user the API token belongs to; None: the user with the lowest id
    token_user_id: int | None

    def define_field(self, key: str, type_: str = "varchar", name: str | None = None) -> None:
        """A custom deal field: its 40-hex ``key``, its ``field_type`` (``varchar``, ``text``,
        ``date``, ``time``, …) and its name in the UI."""
        self.field_types[key] = type_
        self.field_names[key] = name or f"Field {key[:6]}"

    def remove_field(self, key: str) -> None:
        self.field_types.pop(key, None)
        self.field_names.pop(key, None)

    def add_user(
        self, user_id: int, email: str, name: str = "Sam Rep", *, active: bool = True
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "email": email,
            "name": name,
            "active_flag": active,
            "is_deleted": False,
        }

    def _get_user(self, user_id: int, query: Mapping[str, str], body: bytes) -> Response:
        user = self.users.get(user_id)
        if user is None:
            return error(404, "User not found")
        return Response(200, {"success": True, "data": user})

    def _list_users(self, _: int, query: Mapping[str, str], body: bytes) -> Response:
        return Response(200, {"success": True, "data": [self.users[k] for k in sorted(self.users)]})

    def _current_user(self, _: int, query: Mapping[str, str], body: bytes) -> Response:
        me = self.token_user_id if self.token_user_id is not None else min(self.users, default=0)
        user = self.users.get(me)
        if user is None:
            return error(404, "User not found")
        domain = self.company_name.lower().replace(" ", "")
        data = {
            **user,
            "company_id": self.company_id,
            "company_name": self.company_name,
            "company_domain": domain,
            "is_you": True,
        }
        return Response(200, {"success": True, "data": data})

    def _list_stages(self, _: int, query: Mapping[str, str], body: bytes) -> Response:
        return cursor_page(self.stages, query)

    def _list_deal_fields(self, _: int, query: Mapping[str, str], body: bytes) -> Response:
        fields = [_field(code, name, kind, custom=False) for code, name, kind in SYSTEM_DEAL_FIELDS]
        fields += [
            _field(key, self.field_names.get(key, key), kind, custom=True)
            for key, kind in self.field_types.items()
        ]
        return cursor_page(fields, query)


def _field(code: str, name: str, kind: str, *, custom: bool) -> JsonDict:
    return {
        "field_code": code,
        "field_name": name,
        "field_type": kind,
        "description": "",
        "is_custom_field": custom,
        "is_optional_response_field": False,
        "options": None,
        "subfields": None,
    }
