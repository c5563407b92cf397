"""A local Pipedrive API on ``http://127.0.0.1:<free port>``, over real sockets.

Models the documented API (``shared/reference/crm-webhooks-and-apis.md`` §2.5,
``hubspot-2026-and-calendar-lifecycle.md`` §C), not this service's code:

* the token in the ``x-api-token`` header (or legacy ``?api_token=``), else 401
  ``{"success": false, "error": "unauthorized access", "errorCode": 401}``;
* ``GET/PATCH /api/v2/deals/{id}`` (``custom_fields`` by 40-hex key; v2 formats: text as a
  string, date ``"2024-01-01"``, time ``{"value": "09:00:00", "timezone_name": …}``);
  PATCH validates keys (an unknown key is a 400) and ``null`` clears a field;
* ``GET /api/v2/persons/{id}`` (``emails``), ``GET /v1/deals/{id}/participants`` (v1 person
  objects with ``email``, ``start``-paged);
* users, stages and deal fields (``account.py``);
* unconfirmed facts are switchable: ``time_with_zone`` (a time field read back with its zone
  or as a bare ``"09:00:00"``) and ``deleted_reads`` (a deleted deal answers 404, or is still
  read with ``is_deleted: true``, as Pipedrive keeps deleted deals for 30 days);
* injectable faults: :meth:`fail_next` (status, headers, count, path, method), e.g. 429 with
  ``Retry-After`` / ``x-ratelimit-reset``, or 5xx; :meth:`trickle_next` (an answer sent one
  byte at a time).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from middleware.testing.delivery import Delivery
from middleware.testing.hubspot.server import EmulatorServer, Served
from middleware.testing.hubspot.wire import Response
from middleware.testing.pipedrive.account import PAGE_LIMIT, AccountRoutes
from middleware.testing.pipedrive.account import error as _error

JsonDict = dict[str, Any]


@dataclass
class _Deal:
    id: int
    title: str
    stage_id: int
    owner_id: int | None
    person_id: int | None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    participants: list[int] = field(default_factory=list)
    deleted: bool = False


class PipedriveEmulator(Served, AccountRoutes):
    """Seed with :meth:`define_field`, :meth:`add_user`, :meth:`add_person`, :meth:`add_deal`
    (and :attr:`stages`); change the CRM with :meth:`set_fields`, :meth:`move`,
    :meth:`delete_deal`, :meth:`remove_field`; read with :meth:`fields`.
    Every request is logged in :attr:`requests`, every successful PATCH in :attr:`patches`."""

    thread_name = "pipedrive-emulator"

    def __init__(
        self,
        *,
        api_token: str = "pd-test-token-0123456789",
        company_id: int = 8087566,
        company_name: str = "Demo Company",
        token_user_id: int | None = None,
        time_with_zone: bool = True,
        deleted_reads: str = "not_found",
    ) -> None:
        self.api_token = api_token
        self.company_id = company_id
        self.company_name = company_name
        self.token_user_id = token_user_id
        self.time_with_zone = time_with_zone
        if deleted_reads not in ("not_found", "flagged"):
            raise ValueError("deleted_reads is 'not_found' or 'flagged'")
        self.deleted_reads = deleted_reads
        self.users: dict[int, JsonDict] = {}
        self.persons: dict[int, JsonDict] = {}
        self.deals: dict[int, _Deal] = {}
        #: custom field key → type (``varchar``, ``date``, ``time``)
        self.field_types: dict[str, str] = {}
        #: custom field key → its name in Pipedrive's UI
        self.field_names: dict[str, str] = {}
        self.stages: list[JsonDict] = [
            {"id": n, "name": name, "pipeline_id": 1, "order_nr": n, "is_deleted": False}
            for n, name in enumerate(
                ("Qualified", "Contact Made", "Demo Scheduled", "Proposal Made", "Lost"), 1
            )
        ]
        self.requests: list[tuple[str, str]] = []
        self.patches: list[tuple[int, JsonDict]] = []
        self._faults: list[tuple[int, dict[str, str], str | None, str | None]] = []
        self._trickles: list[tuple[Delivery, str | None]] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # ---- seeding and changes "in the CRM" ------------------------------------------------

    def add_person(self, person_id: int, email: str, name: str = "Bo Buyer") -> None:
        self.persons[person_id] = {
            "id": person_id,
            "name": name,
            "emails": [{"value": email, "primary": True, "label": "work"}],
        }

    def add_deal(
        self,
        deal_id: int,
        *,
        stage_id: int,
        owner_id: int | None,
        person_id: int | None = None,
        participants: tuple[int, ...] = (),
        title: str | None = None,
        **custom_fields: Any,
    ) -> None:
        with self._lock:
            self.deals[deal_id] = _Deal(
                deal_id,
                title or f"Deal {deal_id}",
                stage_id,
                owner_id,
                person_id,
                {k: v for k, v in custom_fields.items() if v is not None},
                list(participants),
            )

    def set_fields(self, deal_id: int, **custom_fields: Any) -> None:
        with self._lock:
            for key, value in custom_fields.items():
                self.deals[deal_id].custom_fields[key] = value

    def move(self, deal_id: int, stage_id: int | None = None, owner_id: int | None = None) -> None:
        with self._lock:
            if stage_id is not None:
                self.deals[deal_id].stage_id = stage_id
            if owner_id is not None:
                self.deals[deal_id].owner_id = owner_id

    def delete_deal(self, deal_id: int) -> None:
        with self._lock:
            self.deals[deal_id].deleted = True

    def fields(self, deal_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self.deals[deal_id].custom_fields)

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (whose path contains ``path`` and whose method is
        ``method``, if given) with ``status`` and ``headers`` instead of serving them."""
        verb = method.upper() if method else None
        with self._lock:
            self._faults += [(status, dict(headers or {}), path, verb)] * count

    def trickle_next(self, byte_seconds: float, *, count: int = 1, path: str | None = None) -> None:
        """Serve the next ``count`` requests (whose path contains ``path``, if given), then
        send each answer one byte at a time, ``byte_seconds`` before each byte."""
        with self._lock:
            self._trickles += [(Delivery(byte_seconds=byte_seconds), path)] * count

    # ---- the API ---------------------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.requests.append((method, url.path))
            for n, (status, fault_headers, path, verb) in enumerate(self._faults):
                if (path is None or path in url.path) and verb in (None, method):
                    del self._faults[n]
                    return Response(status, {"success": False, "error": "injected"}, fault_headers)
            response = self._serve(method, url.path, query, headers, body)
            for n, (delivery, path) in enumerate(self._trickles):
                if path is None or path in url.path:
                    del self._trickles[n]
                    response.delivery = delivery
                    break
            return response

    def _serve(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        if (headers.get("x-api-token") or query.get("api_token")) != self.api_token:
            return _error(401, "unauthorized access")
        for verb, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return handler(int(match[1]) if match.groups() else 0, query, body)
        return _error(404, f"no route {method} {path}")

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"/api/v2/deals/(\d+)", self._get_deal),
            ("PATCH", r"/api/v2/deals/(\d+)", self._patch_deal),
            ("GET", r"/api/v2/persons/(\d+)", self._get_person),
            ("GET", r"/v1/deals/(\d+)/participants", self._participants),
            ("GET", r"/v1/users/(\d+)", self._get_user),
            ("GET", r"/v1/users/me", self._current_user),
            ("GET", r"/v1/users", self._list_users),
            ("GET", r"/api/v2/stages", self._list_stages),
            ("GET", r"/api/v2/dealFields", self._list_deal_fields),
        ]

    def _live_deal(self, deal_id: int) -> _Deal | None:
        deal = self.deals.get(deal_id)
        if deal is None or (deal.deleted and self.deleted_reads == "not_found"):
            return None
        return deal

    def _get_deal(self, deal_id: int, query: Mapping[str, str], body: bytes) -> Response:
        deal = self._live_deal(deal_id)
        if deal is None:
            return _error(404, "Deal not found")
        fields: JsonDict = {}
        for key, value in deal.custom_fields.items():
            if self.field_types.get(key) == "time" and isinstance(value, dict):
                fields[key] = value if self.time_with_zone else value.get("value")
            else:
                fields[key] = value
        data = {
            "id": deal.id,
            "title": deal.title,
            "stage_id": deal.stage_id,
            "pipeline_id": 1,
            "owner_id": deal.owner_id,
            "person_id": deal.person_id,
            "status": "open",
            "is_deleted": deal.deleted,
            "custom_fields": fields,
        }
        return Response(200, {"success": True, "data": data})

    def _patch_deal(self, deal_id: int, query: Mapping[str, str], body: bytes) -> Response:
        deal = self._live_deal(deal_id)
        if deal is None or deal.deleted:
            return _error(404, "Deal not found")
        try:
            changes = json.loads(body)
        except ValueError:
            return _error(400, "Invalid JSON")
        fields = changes.get("custom_fields") if isinstance(changes, dict) else None
        if not isinstance(fields, dict):
            return _error(400, "custom_fields must be an object")
        for key in fields:
            if key not in self.field_types:
                return _error(400, f"Custom field with key '{key}' does not exist")
        for key, value in fields.items():
            if value is None:
                deal.custom_fields.pop(key, None)
            elif not isinstance(value, str):  # v2: no coercion (text fields take strings)
                return _error(400, f"Custom field '{key}' expects a string")
            else:
                deal.custom_fields[key] = value
        self.patches.append((deal_id, dict(fields)))
        return self._get_deal(deal_id, query, b"")

    def _get_person(self, person_id: int, query: Mapping[str, str], body: bytes) -> Response:
        person = self.persons.get(person_id)
        if person is None:
            return _error(404, "Person not found")
        return Response(200, {"success": True, "data": person})

    def _participants(self, deal_id: int, query: Mapping[str, str], body: bytes) -> Response:
        deal = self._live_deal(deal_id)
        if deal is None:
            return _error(404, "Deal not found")
        people = [p for p in ([deal.person_id] if deal.person_id else []) + deal.participants]
        start, limit = int(query.get("start", 0)), min(int(query.get("limit", 100)), PAGE_LIMIT)
        page = people[start : start + limit]
        items = []
        for n, pid in enumerate(page, start + 1):
            person = self.persons.get(pid, {"id": pid, "name": "?", "emails": []})
            v1 = {"id": pid, "name": person["name"], "email": person["emails"]}
            items.append({"id": n, "person_id": {**v1, "value": pid}, "person": v1})
        more = start + limit < len(people)
        pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
        if more:
            pagination["next_start"] = start + limit
        return Response(
            200,
            {"success": True, "data": items, "additional_data": {"pagination": pagination}},
        )

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("PipedriveEmulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"
