"""The account-level reads of Pipedrive: its stages, and what ``middleware check`` asks.

Calls (``shared/reference/crm-webhooks-and-apis.md`` §2.4-2.5; API v2 where it exists):

* ``GET /api/v2/stages`` (cursor-paged: ``{id, name, pipeline_id, is_deleted, …}``)
* ``GET /api/v2/dealFields`` (cursor-paged: ``{field_code, field_name, field_type,
  is_custom_field, …}``; the v2 Fields API, ``pipedrive/client-nodejs``
  ``src/versions/v2/api/deal-fields-api.ts``)
* ``GET /v1/users/me`` and ``GET /v1/users`` (the Users API is not in v2: §2.5)
"""

from __future__ import annotations

from middleware.crm.base import Stage
from middleware.crm.pipedrive.http import JsonDict, PipedriveHTTP
from middleware.crm.pipedrive.values import _data_object, _id
from middleware.errors import RetryableError


class PipedriveMetadata(PipedriveHTTP):
    """Reads about the company rather than one deal. Each raises like
    :meth:`~middleware.crm.pipedrive.client.PipedriveClient.fetch_deal` (``crm_unauthorized``
    for a refused token, ``crm_forbidden``, ``crm_rate_limited``, …)."""

    def list_stages(self) -> list[Stage]:
        """Every stage (``GET /api/v2/stages``, following ``additional_data.next_cursor``)."""
        stages: list[Stage] = []
        for item in self._pages("/api/v2/stages", "the read of the deal stages"):
            if _id(item.get("id")) is not None and not item.get("is_deleted"):
                stages.append(
                    Stage(
                        id=str(item["id"]),
                        label=str(item.get("name") or ""),
                        pipeline=f"pipeline {item.get('pipeline_id')}",
                    )
                )
        return stages

    def check_token(self) -> JsonDict:
        """The token's user (``GET /v1/users/me``: ``email``, ``name``, ``company_name``,
        ``company_domain``); one cheap authenticated call."""
        what = "the token check (the token's user)"
        response = self._send("GET", "/v1/users/me", what, pass_through=())
        return _data_object(self._json(response, what), what)

    def list_deal_fields(self) -> list[JsonDict]:
        """Every deal field, system and custom (``GET /api/v2/dealFields``); a 404 is an
        error here (no field list is not "no fields")."""
        return list(
            self._pages("/api/v2/dealFields", "the list of deal fields", empty_on_404=False)
        )

    def list_users(self) -> list[JsonDict]:
        """Every user of the company, active or not (``GET /v1/users``: ``id``, ``email``,
        ``active_flag``, ``is_deleted``; one page, as v1 documents it)."""
        what = "the list of users"
        body = self._json(self._send("GET", "/v1/users", what, pass_through=()), what)
        users = body.get("data")
        if not isinstance(users, list):
            raise RetryableError("crm_bad_response", f"Pipedrive's answer to {what} has no list")
        return [u for u in users if isinstance(u, dict)]
