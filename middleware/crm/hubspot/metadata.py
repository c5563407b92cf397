"""The account-level reads ``middleware check`` (and stage labels) need: token, properties,
pipelines, owners."""

from __future__ import annotations

from typing import Any

from middleware.crm.base import Stage
from middleware.crm.hubspot.http import HubSpotHTTP, _next_after, _results, _segment

#: Owners per page when listing (HubSpot's default is 100, its maximum 500).
OWNERS_PAGE_SIZE = 100


class HubSpotMetadata(HubSpotHTTP):
    """Reads about the account rather than one deal."""

    def check_token(self) -> None:
        """One cheap authenticated call (``GET /crm/v3/owners?limit=1``).

        Returns None when HubSpot accepts the token; raises like :meth:`fetch_deal`
        (``crm_unauthorized`` for a bad token, ``crm_forbidden`` for a missing scope).
        """
        what = "the token check (list one owner)"
        response = self._send("GET", "/crm/v3/owners", what, params={"limit": 1})
        self._json_object(response, what)

    def get_deal_property(self, name: str) -> dict[str, Any] | None:
        """The definition of deal property ``name``, or None when the account has none.

        Raises like :meth:`fetch_deal`.
        """
        what = f"the read of deal property {name!r}"
        response = self._send("GET", f"/crm/v3/properties/deals/{_segment(name)}", what)
        if response.status_code == 404:
            return None
        return self._json_object(response, what)

    def list_pipelines(self) -> list[dict[str, Any]]:
        """Every deal pipeline with its stages (``results[].stages[].{id,label,…}``).

        Raises like :meth:`fetch_deal`.
        """
        what = "the list of deal pipelines"
        body = self._json_object(self._send("GET", "/crm/v3/pipelines/deals", what), what)
        return _results(body, what)

    def list_owners(self) -> list[dict[str, Any]]:
        """Every active (not archived) owner, following ``paging.next.after`` to the end.

        Raises like :meth:`fetch_deal`.
        """
        what = "the list of owners"
        owners: list[dict[str, Any]] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {"limit": OWNERS_PAGE_SIZE, "archived": "false"}
            if after is not None:
                params["after"] = after
            body = self._json_object(self._send("GET", "/crm/v3/owners", what, params=params), what)
            owners.extend(o for o in _results(body, what) if not o.get("archived"))
            after = _next_after(body)
            if after is None or after in seen:  # a repeated cursor would loop forever
                return owners
            seen.add(after)

    def list_stages(self) -> list[Stage]:
        """Every deal stage of every pipeline, for resolving stage labels. Raises like
        :meth:`list_pipelines`."""
        return [
            Stage(
                id=str(stage["id"]),
                label=str(stage.get("label") or ""),
                pipeline=str(p.get("label") or p.get("id") or ""),
            )
            for p in self.list_pipelines()
            for stage in p.get("stages") or []
            if isinstance(stage, dict) and stage.get("id") is not None
        ]
