"""A local HTTP emulator of the part of HubSpot's CRM v3 API that the middleware uses.

The service's real ``requests``-based HubSpot client runs against it over real sockets in the
integration tests (the Warehouse / stripe-mock pattern, see ``shared/STYLE.md``): point
``HUBSPOT_API_BASE_URL`` at :attr:`HubSpotEmulator.base_url`, seed state with ``add_*``, then
assert on state (:meth:`HubSpotEmulator.deal_properties`, :attr:`HubSpotEmulator.patches`).

Response and error shapes follow HubSpot's documentation; the facts and their sources are
collected in ``shared/reference/crm-webhooks-and-apis.md`` section 1.7:

* ``GET  /crm/v3/objects/deals/{dealId}`` (``properties``, ``associations``, ``archived``)
* ``PATCH /crm/v3/objects/deals/{dealId}`` (validated against the deal property definitions)
* ``GET  /crm/v3/objects/deals/{dealId}/associations/contacts`` and the v4 equivalent
  ``GET /crm/v4/objects/deals/{dealId}/associations/contacts`` (paged with ``limit``/``after``)
* ``GET  /account-info/v3/details`` and ``/account-info/2026-03/details`` (the token's portal)
* ``GET  /crm/v3/objects/contacts/{contactId}`` and ``POST /crm/v3/objects/contacts/batch/read``
* ``GET  /crm/v3/owners/{ownerId}`` (``idProperty``, ``archived``) and ``GET /crm/v3/owners``
* ``GET  /crm/v3/properties/deals/{propertyName}``
* ``GET  /crm/v3/pipelines/deals`` and ``GET /crm/v3/pipelines/deals/{pipelineId}``

Every endpoint needs ``Authorization: Bearer <access_token>``. Faults (429, 5xx, ...) and
delays can be injected per method and path regex; HubSpot's own 423, 477 and 429 answers have
helpers (``answer_locked``, ``answer_migrating``, ``answer_daily_limit``,
``answer_ten_secondly_limit``), and :meth:`HubSpotEmulator.add_validation_rule` makes deal
PATCHes fail as an account validation rule does. All state sits behind one lock, so tests may
poke at it from their own thread while the service's worker threads call the API.

Example::

    with HubSpotEmulator() as hs:
        hs.add_owner("101", "rep@example.com")
        hs.add_contact("201", "buyer@example.com", "Ada", "Lovelace")
        hs.add_deal("301", {"dealname": "Acme", "dealstage": "demoscheduled",
                            "hubspot_owner_id": "101"}, contact_ids=["201"])
        hs.inject_fault("PATCH", r"/crm/v3/objects/deals/301", 429, headers={"Retry-After": "1"})
        ...  # run the service with HUBSPOT_API_BASE_URL=hs.base_url
        assert hs.deal_properties("301")["demo_meet_url"].startswith("https://meet.google.com/")
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

__all__ = ["HubSpotEmulator"]

JsonDict = dict[str, Any]

# HubSpot's answer to a request without (valid) credentials, quoted from its error docs.
AUTH_ERROR_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
# Batch endpoints take at most 100 inputs (HubSpot batch docs).
MAX_BATCH_INPUTS = 100
# The owners list pages with `limit` (default 100, at most 500) and an opaque `after` cursor.
OWNERS_DEFAULT_LIMIT = 100
OWNERS_MAX_LIMIT = 500
# Private-app burst limit advertised in the X-HubSpot-RateLimit-* headers (Pro/Enterprise:
# 190 per 10 s). The emulator only reports it; it never enforces it (use inject_fault for 429s).
RATE_LIMIT_MAX = 190
RATE_LIMIT_INTERVAL_MS = 10_000
# Daily limit of a Free/Starter private app (crm-webhooks-and-apis.md §1.7 "Rate limits").
RATE_LIMIT_DAILY = 250_000
# v4 association pages: public code asks for limit=500 (hubspot-2026-and-calendar-lifecycle.md
# §A4); whether 500 is HubSpot's maximum is unconfirmed, so it is settable per emulator
# (HubSpotEmulator.association_page_max) and larger limits are cut to it.
ASSOCIATIONS_DEFAULT_LIMIT = 500
ASSOCIATIONS_MAX_LIMIT = 500

# Properties HubSpot returns on every object read, whatever `properties` asked for.
_ALWAYS_DEAL_PROPERTIES = ("createdate", "hs_lastmodifieddate", "hs_object_id")
_ALWAYS_CONTACT_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
# What a read returns when no `properties` are asked for (HubSpot's documented defaults).
_DEFAULT_DEAL_PROPERTIES = (
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
)
_DEFAULT_CONTACT_PROPERTIES = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)
# Contact properties the emulator knows; unknown requested names are ignored, as HubSpot does.
_CONTACT_PROPERTIES = frozenset(
    {
        "company",
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "jobtitle",
        "lastmodifieddate",
        "lastname",
        "phone",
    }
)


def _now_iso() -> str:
    """Current UTC time the way HubSpot writes timestamps: ``2024-01-31T10:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _correlation_id() -> str:
    return str(uuid.uuid4())


def _as_hubspot_string(value: Any) -> str:
    """Coerce a JSON scalar the way HubSpot stores property values: always as strings."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------------------------
# Errors and state
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """Raised by a route handler; becomes HubSpot's error envelope with this status."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: JsonDict = {
            "status": "error",
            "message": message,
            "correlationId": _correlation_id(),
            **extra,
            "category": category,
        }


@dataclass
class _PropertyDefinition:
    name: str
    label: str
    type: str
    field_type: str
    read_only: bool = False
    hubspot_defined: bool = False
    options: tuple[tuple[str, str], ...] = ()  # static (value, label) options, enumerations only


@dataclass
class _Record:
    """A deal or contact: string property values (None = never set) and its contact links."""

    id: str
    properties: dict[str, str | None]
    created_at: str
    updated_at: str
    contact_ids: list[str] = field(default_factory=list)


@dataclass
class _Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool
    created_at: str
    updated_at: str


@dataclass
class _Stage:
    id: str
    label: str
    display_order: int
    probability: str  # HubSpot sends stage metadata values as strings: "0.2", "1.0"
    is_closed: bool


@dataclass
class _Pipeline:
    id: str
    label: str
    display_order: int
    stages: list[_Stage] = field(default_factory=list)


@dataclass
class _Fault:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: JsonDict | None
    remaining: int


@dataclass
class _Delay:
    method: str
    path: re.Pattern[str]
    seconds: float
    remaining: int


@dataclass
class _Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    raw_body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def list_param(self, name: str) -> list[str] | None:
        """A list parameter: HubSpot takes both ``a,b`` and repeated ``?p=a&p=b``."""
        if name not in self.query:
            return None
        return [
            item.strip() for value in self.query[name] for item in value.split(",") if item.strip()
        ]

    def bool_param(self, name: str) -> bool:
        return (self.param(name) or "false").lower() == "true"


_DEFAULT_DEAL_PROPERTY_DEFINITIONS = (
    # name, label, type, fieldType, read-only
    ("dealname", "Deal Name", "string", "text", False),
    ("dealstage", "Deal Stage", "enumeration", "radio", False),
    ("pipeline", "Pipeline", "enumeration", "select", False),
    ("hubspot_owner_id", "Deal owner", "enumeration", "select", False),
    ("amount", "Amount", "number", "number", False),
    ("closedate", "Close Date", "datetime", "date", False),
    ("description", "Deal Description", "string", "textarea", False),
    ("dealtype", "Deal Type", "enumeration", "radio", False),
    ("createdate", "Create Date", "datetime", "date", True),
    ("hs_object_id", "Record ID", "number", "number", True),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", True),
)
# The middleware's own custom properties (config/middleware.toml [hubspot]).
_DEFAULT_CUSTOM_PROPERTY_DEFINITIONS = (
    ("demo_start_time", "Demo start time", "datetime", "date"),
    ("demo_meet_url", "Demo Google Meet URL", "string", "text"),
    ("demo_calendar_event_id", "Demo calendar event ID", "string", "text"),
)
# The default "Sales Pipeline" every portal starts with, plus the "Demo Scheduled" stage the
# middleware triggers on: (id, label, probability, closed).
_DEFAULT_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("demoscheduled", "Demo Scheduled", "0.3", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
)


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


class HubSpotEmulator:
    """HubSpot CRM v3 on ``http://127.0.0.1:<free port>``, with state a test can seed and read.

    Seed with :meth:`add_owner`, :meth:`add_contact`, :meth:`add_deal`; change state "in the
    CRM" with :meth:`set_deal_properties`; read it with :meth:`deal_properties`. Every request
    is logged in :attr:`requests` and every successful deal PATCH in :attr:`patches`.
    """

    def __init__(
        self,
        *,
        access_token: str = "pat-na1-test-token",
        portal_id: int = 62515,
        time_zone: str = "US/Eastern",
    ) -> None:
        self.access_token = access_token
        #: The portal the token belongs to, as ``GET /account-info/v3/details`` answers it.
        self.portal_id = portal_id
        #: The account's ``timeZone`` (an IANA name; HubSpot's guide shows ``"US/Eastern"``).
        self.time_zone = time_zone
        #: The largest v4 association page served (see ASSOCIATIONS_MAX_LIMIT).
        self.association_page_max = ASSOCIATIONS_MAX_LIMIT
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
        self._server: _EmulatorServer | None = None
        self._thread: threading.Thread | None = None

        self._deals: dict[str, _Record] = {}
        self._contacts: dict[str, _Record] = {}
        self._owners: dict[str, _Owner] = {}
        self._deal_properties: dict[str, _PropertyDefinition] = {}
        self._pipelines: dict[str, _Pipeline] = {}
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._validation_rules: list[tuple[str, frozenset[str] | None]] = []
        self._recent_requests: deque[float] = deque()  # monotonic times, for rate-limit headers

        for name, label, type_, field_type, read_only in _DEFAULT_DEAL_PROPERTY_DEFINITIONS:
            self._deal_properties[name] = _PropertyDefinition(
                name, label, type_, field_type, read_only=read_only, hubspot_defined=True
            )
        self._deal_properties["dealtype"].options = (
            ("newbusiness", "New Business"),
            ("existingbusiness", "Existing Business"),
        )
        for name, label, type_, field_type in _DEFAULT_CUSTOM_PROPERTY_DEFINITIONS:
            self.define_property(name, type=type_, field_type=field_type, label=label)
        self._pipelines["default"] = _Pipeline("default", "Sales Pipeline", 0)
        for stage_id, label, probability, closed in _DEFAULT_STAGES:
            self.add_stage("default", stage_id, label, probability=probability, is_closed=closed)

        # Routes: (method, path regex, handler). A trailing slash is accepted, as HubSpot does.
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., _Response]]] = [
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

    def start(self) -> HubSpotEmulator:
        """Listen on 127.0.0.1 at a free port, serving from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("HubSpotEmulator already started")
        self._stopping.clear()
        self._server = _EmulatorServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="hubspot-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open (keep-alive) connections; pending delays end at once."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HubSpotEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash): the value for ``HUBSPOT_API_BASE_URL``."""
        if self._server is None:
            raise RuntimeError("HubSpotEmulator is not running: call start() first")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def reset_log(self) -> None:
        """Forget the logged :attr:`requests` and :attr:`patches` (state is kept)."""
        with self._lock:
            self.requests.clear()
            self.patches.clear()

    # ---- seeding and inspecting state ------------------------------------------------------

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
        now = _now_iso()
        with self._lock:
            if user_id is None:
                user_id = 9_000_000 + (int(owner_id) if owner_id.isdigit() else len(self._owners))
            owner = _Owner(owner_id, email, first_name, last_name, user_id, archived, now, now)
            self._owners[owner_id] = owner
            return self._owner_json(owner)

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
        now = _now_iso()
        properties: dict[str, str | None] = {
            "email": email or None,
            "firstname": first_name or None,
            "lastname": last_name or None,
            "company": company or None,
            "hs_object_id": contact_id,
            "createdate": now,
            "lastmodifieddate": now,
        }
        contact = _Record(contact_id, properties, now, now)
        with self._lock:
            self._contacts[contact_id] = contact
            return self._object_json(contact, sorted(contact.properties))

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
        now = _now_iso()
        with self._lock:
            values = self._checked_values(properties)
            stored: dict[str, str | None] = {"pipeline": "default", **values}
            stored.update(hs_object_id=deal_id, createdate=now, hs_lastmodifieddate=now)
            deal = _Record(deal_id, stored, now, now, [str(c) for c in contact_ids])
            self._deals[deal_id] = deal
            return self._object_json(deal, sorted(self._deal_properties))

    def set_deal_properties(self, deal_id: str, **props: str | None) -> None:
        """Change a deal as if someone edited it in HubSpot (not recorded in :attr:`patches`).

        Any defined property may be set, read-only ones included; None unsets. Raises KeyError
        for an unknown deal and ValueError for an undefined property.
        """
        with self._lock:
            deal = self._deals[str(deal_id)]
            deal.properties.update(self._checked_values(props))
            self._touch(deal)

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
            self._deal_properties[name] = _PropertyDefinition(
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
                pipeline = _Pipeline(pipeline_id, pipeline_id, len(self._pipelines))
                self._pipelines[pipeline_id] = pipeline
            for stage in pipeline.stages:
                if stage.id == stage_id:
                    stage.label = label
                    return
            pipeline.stages.append(
                _Stage(stage_id, label, len(pipeline.stages), probability, is_closed)
            )

    # ---- fault injection -------------------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        path: str,
        status: int,
        *,
        headers: dict | None = None,
        body: dict | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and leave state alone.

        A request matches when its method equals ``method`` (case-insensitive; ``"*"`` matches
        any) and ``re.search(path, request_path)`` finds the regex in its path (query string
        excluded; anchor with ``^...$`` for an exact path). Faults fire before authentication.
        Without ``body``, 429 and 5xx answer HubSpot's own error bodies. A 429 carries
        ``X-HubSpot-RateLimit-*`` headers but no ``Retry-After`` unless ``headers`` adds one.
        """
        fault = _Fault(method.upper(), re.compile(path), status, dict(headers or {}), body, times)
        with self._lock:
            self._faults.append(fault)

    def inject_delay(self, method: str, path: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering them.

        Matching is as in :meth:`inject_fault`. A delayed request is still carried out after
        the delay, even if the client gave up meanwhile, which is what HubSpot does too.
        """
        delay = _Delay(method.upper(), re.compile(path), seconds, times)
        with self._lock:
            self._delays.append(delay)

    # ---- HubSpot's own error answers (hubspot-2026-and-calendar-lifecycle.md §A3) ------------

    def answer_locked(self, method: str, path: str, *, times: int = 1) -> None:
        """Answer ``423 Locked``: HubSpot's "syncing a large volume quickly" answer; "locks will
        last for 2 seconds" (error-handling docs). Its body is not documented: the standard
        error envelope is sent."""
        self.inject_fault(method, path, 423, times=times)

    def answer_migrating(
        self, method: str, path: str, *, retry_after_seconds: int, times: int = 1
    ) -> None:
        """Answer ``477 Migration in Progress`` with ``Retry-After`` in seconds ("typically up
        to 24 hours", error-handling docs): the account moves between data-hosting locations."""
        self.inject_fault(
            method, path, 477, headers={"Retry-After": str(retry_after_seconds)}, times=times
        )

    def answer_daily_limit(self, method: str, path: str, *, times: int = 1) -> None:
        """Answer the ``DAILY`` 429: body quoted from HubSpot's usage-details page, with the
        ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining: 0`` headers (crm-webhooks-and-apis.md
        §1.7). The burst window still has calls left."""
        body = {
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": _correlation_id(),
            "policyName": "DAILY",
            "groupName": "api-calls-daily",
        }
        headers = {
            "X-HubSpot-RateLimit-Daily": str(RATE_LIMIT_DAILY),
            "X-HubSpot-RateLimit-Daily-Remaining": "0",
            "X-HubSpot-RateLimit-Remaining": str(RATE_LIMIT_MAX - 1),
        }
        self.inject_fault(method, path, 429, headers=headers, body=body, times=times)

    def answer_ten_secondly_limit(
        self, method: str, path: str, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the burst 429 (``policyName: TEN_SECONDLY_ROLLING``, the constant in HubSpot's
        Node SDK), ``X-HubSpot-RateLimit-Remaining: 0``; ``Retry-After`` only when given (it is
        not documented on 429)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.inject_fault(method, path, 429, headers=headers, times=times)

    def add_validation_rule(self, message: str, *, deal_ids: Iterable[str] | None = None) -> None:
        """From now on a deal PATCH (of ``deal_ids``, or of any deal) is refused with 400
        ``VALIDATION_ERROR`` and ``message``, as HubSpot enforces the account's validation rules
        on API writes from version 2026-09 (changelog crm-api-write-validation-enforcement;
        see :attr:`validation_rules_apply_to_v3`)."""
        ids = None if deal_ids is None else frozenset(str(d) for d in deal_ids)
        with self._lock:
            self._validation_rules.append((message, ids))

    def clear_validation_rules(self) -> None:
        with self._lock:
            self._validation_rules.clear()

    # ---- request dispatch (called from the server's handler threads) -----------------------

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], raw_body: bytes
    ) -> _Response:
        """Answer one request (``headers`` with lower-cased names); logs it in :attr:`requests`."""
        split = urlsplit(target)
        path = unquote(split.path)
        request = _Request(
            method, path, parse_qs(split.query, keep_blank_values=True), headers, raw_body
        )
        authorization_ok = self._authorized(headers.get("authorization"))

        # Delays first, outside the lock, so other requests carry on meanwhile.
        delay = self._take(self._delays, method, path)
        if delay is not None:
            self._stopping.wait(delay.seconds)

        with self._lock:
            fault = self._take(self._faults, method, path)
            if fault is not None:
                response = self._fault_response(fault)
            elif not authorization_ok:
                error = _ApiError(401, AUTH_ERROR_MESSAGE, "INVALID_AUTHENTICATION")
                response = _Response(error.status, error.body)
            else:
                try:
                    response = self._route(request)
                except _ApiError as exc:
                    response = _Response(exc.status, exc.body)
                except Exception as exc:  # a bug in the emulator: say so instead of hanging up
                    traceback.print_exc()
                    error = _ApiError(500, f"HubSpotEmulator bug: {exc!r}", "EMULATOR_ERROR")
                    response = _Response(error.status, error.body)
            body_id = (
                response.body.get("correlationId") if isinstance(response.body, dict) else None
            )
            response.headers = {
                "X-HubSpot-Correlation-Id": body_id or _correlation_id(),
                **self._rate_limit_headers(),
                **response.headers,
            }
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": {name: ",".join(values) for name, values in request.query.items()},
                    "body": _parse_json_or_none(raw_body),
                    "status": response.status,
                    "authorization_ok": authorization_ok,
                }
            )
            return response

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.access_token

    def _take(self, entries: list[Any], method: str, path: str) -> Any:
        """Consume one use of the first fault/delay matching this request, if any."""
        with self._lock:
            for entry in entries:
                if entry.method in ("*", method.upper()) and entry.path.search(path):
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        entries.remove(entry)
                    return entry
        return None

    def _route(self, request: _Request) -> _Response:
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            return handler(request, **match.groupdict())
        if allowed:
            raise _ApiError(
                405,
                f"HTTP method {request.method} is not supported by this URL",
                "METHOD_NOT_ALLOWED",
                context={"allowed": allowed},
            )
        raise _ApiError(404, f"No route for {request.method} {request.path}", "OBJECT_NOT_FOUND")

    def _fault_response(self, fault: _Fault) -> _Response:
        headers: dict[str, str] = {}
        if fault.status == 429:
            headers = {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(RATE_LIMIT_INTERVAL_MS),
                "X-HubSpot-RateLimit-Max": str(RATE_LIMIT_MAX),
                "X-HubSpot-RateLimit-Remaining": "0",
            }
        headers.update(fault.headers)
        if fault.status in (204, 304):  # HTTP allows no body on these
            return _Response(fault.status, None, headers)
        body = fault.body if fault.body is not None else _default_fault_body(fault.status)
        return _Response(fault.status, body, headers)

    def _rate_limit_headers(self) -> dict[str, str]:
        """HubSpot's burst-limit headers, counted over a rolling 10 s window (never enforced)."""
        now = time.monotonic()
        window = self._recent_requests
        window.append(now)
        while window and window[0] < now - RATE_LIMIT_INTERVAL_MS / 1000:
            window.popleft()
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(RATE_LIMIT_INTERVAL_MS),
            "X-HubSpot-RateLimit-Max": str(RATE_LIMIT_MAX),
            "X-HubSpot-RateLimit-Remaining": str(max(0, RATE_LIMIT_MAX - len(window))),
        }

    # ---- routes: deals ---------------------------------------------------------------------

    def _find_deal(self, deal_id: str, *, archived: bool = False) -> _Record:
        # The emulator keeps no archived deals, and archived=true asks for archived ones only.
        deal = None if archived else self._deals.get(deal_id)
        if deal is None:
            raise _object_not_found(deal_id)
        return deal

    def _get_deal(self, request: _Request, deal_id: str) -> _Response:
        deal = self._find_deal(deal_id, archived=request.bool_param("archived"))
        requested = request.list_param("properties")
        names = _DEFAULT_DEAL_PROPERTIES if requested is None else requested
        # Unknown names are ignored; defined-but-unset ones come back as null.
        wanted = {n for n in names if n in self._deal_properties} | set(_ALWAYS_DEAL_PROPERTIES)
        body = self._object_json(deal, sorted(wanted))
        associations = request.list_param("associations") or []
        # HubSpot only includes the "associations" key when there are associated objects.
        if deal.contact_ids and any(a in ("contacts", "contact", "0-1") for a in associations):
            body["associations"] = {"contacts": {"results": self._contact_links(deal)}}
        return _Response(200, body)

    def _patch_deal(self, request: _Request, deal_id: str) -> _Response:
        body = _request_json(request)
        deal = self._find_deal(deal_id)
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise _ApiError(
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
                raise _ApiError(
                    400,
                    f'Invalid input JSON: the value of property "{name}" must be a string',
                    "VALIDATION_ERROR",
                )
            else:
                # null and "" both clear a value; HubSpot then reads it back as "".
                updates[name] = "" if value is None else _as_hubspot_string(value)
        if invalid:
            raise _ApiError(
                400,
                "Property values were not valid: " + json.dumps(invalid, separators=(",", ":")),
                "VALIDATION_ERROR",
            )
        if self.validation_rules_apply_to_v3:
            for message, ids in self._validation_rules:
                if ids is None or deal_id in ids:
                    # Shape: {"status","message","category":"VALIDATION_ERROR","correlationId"}.
                    raise _ApiError(400, message, "VALIDATION_ERROR")
        deal.properties.update(updates)
        self._touch(deal)
        self.patches.append({"deal_id": deal_id, "properties": dict(updates)})
        # The response carries every property that has a value.
        stored = sorted(n for n, v in deal.properties.items() if v is not None)
        return _Response(200, self._object_json(deal, stored))

    def _invalid_property(self, name: str, message: str, error: str) -> JsonDict:
        return {
            "isValid": False,
            "message": message,
            "error": error,
            "name": name,
            "localizedErrorMessage": message,
            "portalId": self.portal_id,
        }

    def _get_deal_contacts_v3(self, request: _Request, deal_id: str) -> _Response:
        deal = self._find_deal(deal_id)
        return _Response(200, {"results": self._contact_links(deal)})

    def _get_deal_contacts_v4(self, request: _Request, deal_id: str) -> _Response:
        """One page of ``results[].toObjectId``; ``paging.next.after`` (an opaque cursor) only
        when more follow (hubspot-2026-and-calendar-lifecycle.md §A4 "Reading associations")."""
        deal = self._find_deal(deal_id)
        try:
            limit = int(request.param("limit") or ASSOCIATIONS_DEFAULT_LIMIT)
            after = request.param("after")
            start = int(base64.urlsafe_b64decode(after.encode()).decode()) if after else 0
        except ValueError:
            raise _ApiError(400, "limit and after are not valid", "VALIDATION_ERROR") from None
        if limit < 1 or start < 0:
            raise _ApiError(400, "limit must be positive", "VALIDATION_ERROR")
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
            cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            body["paging"] = {
                "next": {
                    "after": cursor,
                    "link": f"{self.base_url}/crm/v4/objects/deals/{deal_id}/associations/"
                    f"contacts?after={cursor}",
                }
            }
        return _Response(200, body)

    def _contact_links(self, deal: _Record) -> list[JsonDict]:
        return [{"id": contact_id, "type": "deal_to_contact"} for contact_id in deal.contact_ids]

    # ---- routes: account ------------------------------------------------------------------

    def _get_account_details(self, request: _Request) -> _Response:
        """The token's account, shaped as HubSpot's account information API documents it
        (https://developers.hubspot.com/docs/api-reference/latest/account/account-information/guide)."""
        offset = datetime.now(ZoneInfo(self.time_zone)).utcoffset()
        offset_ms = int(offset.total_seconds() * 1000) if offset is not None else 0
        sign = "-" if offset_ms < 0 else "+"
        minutes = abs(offset_ms) // 60_000
        return _Response(
            200,
            {
                "portalId": self.portal_id,
                "accountType": "STANDARD",
                "timeZone": self.time_zone,
                "companyCurrency": "USD",
                "additionalCurrencies": [],
                "utcOffset": f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
                "utcOffsetMilliseconds": offset_ms,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            },
        )

    # ---- routes: contacts ------------------------------------------------------------------

    def _get_contact(self, request: _Request, contact_id: str) -> _Response:
        contact = None if request.bool_param("archived") else self._contacts.get(contact_id)
        if contact is None:
            raise _object_not_found(contact_id)
        names = request.list_param("properties")
        return _Response(200, self._object_json(contact, self._contact_property_names(names)))

    def _batch_read_contacts(self, request: _Request) -> _Response:
        started_at = _now_iso()
        body = _request_json(request)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(
            isinstance(item, dict) and isinstance(item.get("id"), (str, int)) for item in inputs
        ):
            raise _ApiError(
                400,
                'Invalid input JSON: "inputs" must be a list of {"id": ...}',
                "VALIDATION_ERROR",
            )
        if len(inputs) > MAX_BATCH_INPUTS:
            raise _ApiError(
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
                results.append(self._object_json(contact, names))
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
        response["completedAt"] = _now_iso()
        return _Response(207 if missing else 200, response)

    def _contact_property_names(self, requested: list[str] | None) -> list[str]:
        names = _DEFAULT_CONTACT_PROPERTIES if requested is None else requested
        return sorted(
            {n for n in names if n in _CONTACT_PROPERTIES} | set(_ALWAYS_CONTACT_PROPERTIES)
        )

    # ---- routes: owners --------------------------------------------------------------------

    def _get_owner(self, request: _Request, owner_id: str) -> _Response:
        id_property = request.param("idProperty", "id")
        if id_property not in ("id", "userId"):
            raise _ApiError(
                400,
                f"idProperty must be one of [id, userId], got {id_property}",
                "VALIDATION_ERROR",
            )
        archived = request.bool_param("archived")
        for owner in self._owners.values():
            key = owner.id if id_property == "id" else str(owner.user_id)
            # archived=true looks among archived owners only, archived=false among active ones.
            if key == owner_id and owner.archived == archived:
                return _Response(200, self._owner_json(owner))
        raise _ApiError(
            404,
            f"Owner with {id_property} {owner_id} not found",
            "OBJECT_NOT_FOUND",
            context={id_property: [owner_id]},
        )

    def _list_owners(self, request: _Request) -> _Response:
        try:
            limit = int(request.param("limit") or OWNERS_DEFAULT_LIMIT)
            start = int(request.param("after") or 0)
        except ValueError:
            raise _ApiError(400, "limit and after must be integers", "VALIDATION_ERROR") from None
        if not 1 <= limit <= OWNERS_MAX_LIMIT:
            raise _ApiError(
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
        body: JsonDict = {"results": [self._owner_json(o) for o in page]}
        if start + limit < len(owners):
            after = str(start + limit)
            body["paging"] = {
                "next": {"after": after, "link": f"{self.base_url}/crm/v3/owners/?after={after}"}
            }
        return _Response(200, body)

    # ---- routes: properties and pipelines --------------------------------------------------

    def _get_deal_property(self, request: _Request, name: str) -> _Response:
        definition = self._deal_properties.get(name)
        if definition is None:
            raise _ApiError(
                404,
                f"Unable to find property {name} for object type 0-3",
                "OBJECT_NOT_FOUND",
                context={"propertyName": [name]},
            )
        return _Response(200, self._property_json(definition))

    def _list_pipelines(self, request: _Request) -> _Response:
        pipelines = sorted(self._pipelines.values(), key=lambda p: p.display_order)
        return _Response(200, {"results": [self._pipeline_json(p) for p in pipelines]})

    def _get_pipeline(self, request: _Request, pipeline_id: str) -> _Response:
        pipeline = self._pipelines.get(pipeline_id)
        if pipeline is None:
            raise _ApiError(
                404,
                f"Unable to find pipeline {pipeline_id}",
                "OBJECT_NOT_FOUND",
                context={"pipelineId": [pipeline_id]},
            )
        return _Response(200, self._pipeline_json(pipeline))

    # ---- JSON shapes -----------------------------------------------------------------------

    def _object_json(self, record: _Record, names: Iterable[str]) -> JsonDict:
        return {
            "id": record.id,
            "properties": {name: record.properties.get(name) for name in names},
            "createdAt": record.created_at,
            "updatedAt": record.updated_at,
            "archived": False,
        }

    def _owner_json(self, owner: _Owner) -> JsonDict:
        return {
            "id": owner.id,
            "email": owner.email,
            "type": "PERSON",
            "firstName": owner.first_name,
            "lastName": owner.last_name,
            "userId": owner.user_id,
            "userIdIncludingInactive": owner.user_id,
            "createdAt": owner.created_at,
            "updatedAt": owner.updated_at,
            "archived": owner.archived,
            "teams": [],
        }

    def _property_json(self, definition: _PropertyDefinition) -> JsonDict:
        return {
            "name": definition.name,
            "label": definition.label,
            "type": definition.type,
            "fieldType": definition.field_type,
            "description": "",
            "groupName": "dealinformation",
            "options": self._property_options(definition),
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": definition.name in ("dealstage", "pipeline", "hubspot_owner_id"),
            "hasUniqueValue": False,
            "hidden": False,
            "hubspotDefined": definition.hubspot_defined,
            "modificationMetadata": {
                "archivable": not definition.hubspot_defined,
                "readOnlyDefinition": definition.hubspot_defined,
                "readOnlyValue": definition.read_only,
            },
            "formField": not definition.read_only,
            "dataSensitivity": "non_sensitive",
            "archived": False,
        }

    def _property_options(self, definition: _PropertyDefinition) -> list[JsonDict]:
        """Enumeration options; the stage, pipeline and owner ones reflect the current state."""
        if definition.name == "dealstage":
            pairs = [(s.id, s.label) for p in self._pipelines.values() for s in p.stages]
        elif definition.name == "pipeline":
            pairs = [(p.id, p.label) for p in self._pipelines.values()]
        elif definition.name == "hubspot_owner_id":
            pairs = [
                (o.id, f"{o.first_name} {o.last_name}".strip())
                for o in self._owners.values()
                if not o.archived
            ]
        else:
            pairs = list(definition.options)
        return [
            {"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (value, label) in enumerate(pairs)
        ]

    def _pipeline_json(self, pipeline: _Pipeline) -> JsonDict:
        return {
            "id": pipeline.id,
            "label": pipeline.label,
            "displayOrder": pipeline.display_order,
            "archived": False,
            "stages": [
                {
                    "id": stage.id,
                    "label": stage.label,
                    "displayOrder": stage.display_order,
                    "metadata": {
                        "isClosed": "true" if stage.is_closed else "false",
                        "probability": stage.probability,
                    },
                    "archived": False,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for stage in pipeline.stages
            ],
        }

    # ---- helpers ---------------------------------------------------------------------------

    def _checked_values(self, properties: Mapping[str, Any]) -> dict[str, str | None]:
        """Test-side property values as HubSpot stores them; undefined names raise ValueError."""
        unknown = sorted(set(properties) - set(self._deal_properties))
        if unknown:
            raise ValueError(
                f"deal properties {unknown} are not defined; call define_property() first"
            )
        return {
            name: None if value is None else _as_hubspot_string(value)
            for name, value in properties.items()
        }

    def _touch(self, deal: _Record) -> None:
        deal.updated_at = _now_iso()
        deal.properties["hs_lastmodifieddate"] = deal.updated_at


def _request_json(request: _Request) -> Any:
    """The request body as JSON, or HubSpot's 400 for a missing or malformed body."""
    try:
        return json.loads(request.raw_body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _ApiError(400, f"Invalid input JSON: {exc}", "VALIDATION_ERROR") from None
    except json.JSONDecodeError as exc:
        raise _ApiError(
            400,
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "VALIDATION_ERROR",
        ) from None


def _object_not_found(object_id: str) -> _ApiError:
    """HubSpot's 404 for a CRM object read or update by an id that does not exist."""
    return _ApiError(
        404,
        "Object not found.  objectId are usually numeric.",
        "OBJECT_NOT_FOUND",
        context={"id": [object_id]},
    )


def _parse_json_or_none(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body.decode("utf-8")) if raw_body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _default_fault_body(status: int) -> JsonDict:
    """HubSpot's error body for an injected status."""
    if status == 429:
        return {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": _correlation_id(),
            "policyName": "TEN_SECONDLY_ROLLING",
        }
    if status >= 500:
        return {
            "status": "error",
            "message": "internal error",
            "correlationId": _correlation_id(),
            "category": "INTERNAL_ERROR",
        }
    if status == 477:  # not in http.HTTPStatus; the docs' name for it
        return {
            "status": "error",
            "message": "Migration in progress",
            "correlationId": _correlation_id(),
            "category": "MIGRATION_IN_PROGRESS",
        }
    categories = {
        400: "VALIDATION_ERROR",
        401: "INVALID_AUTHENTICATION",
        403: "MISSING_SCOPES",
        404: "OBJECT_NOT_FOUND",
        409: "CONFLICT",
    }
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return {
        "status": "error",
        "message": phrase,
        "correlationId": _correlation_id(),
        "category": categories.get(status, "ERROR"),
    }


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _EmulatorServer(ThreadingHTTPServer):
    """Threaded server that knows its emulator and can drop its keep-alive connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut open connections so pooled client sockets see the server go away."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is not worth a traceback on stderr; the rest is.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, hands it to the emulator, writes the JSON answer (keep-alive)."""

    server: _EmulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the second one waits
    # for the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    server_version = "HubSpotEmulator/1.0"
    sys_version = ""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = emulator._handle(self.command, self.path, headers, self._read_body())
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        if emulator._stopping.is_set():
            self.close_connection = True
            return
        self.send_response(response.status)
        if response.body is not None:
            self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Skip trailers up to the blank line that ends the body.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        # Silence the default per-request line on stderr; the emulator keeps its own log.
        pass
