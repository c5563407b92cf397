"""The HubSpot emulator's records: deals, contacts, owners, pipelines and property definitions.

Also the portal every emulator starts with (HubSpot's default deal properties, the
middleware's custom ones, the default "Sales Pipeline") and the JSON shapes of objects and
owners as the CRM v3 API answers them (``shared/reference/crm-webhooks-and-apis.md`` §1.7).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field

from middleware.testing.hubspot.wire import JsonDict

# Properties HubSpot returns on every object read, whatever `properties` asked for.
ALWAYS_DEAL_PROPERTIES = ("createdate", "hs_lastmodifieddate", "hs_object_id")
ALWAYS_CONTACT_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
# What a read returns when no `properties` are asked for (HubSpot's documented defaults).
DEFAULT_DEAL_PROPERTIES = (
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
)
DEFAULT_CONTACT_PROPERTIES = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)
# Contact properties the emulator knows; unknown requested names are ignored, as HubSpot does.
CONTACT_PROPERTIES = frozenset(
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


@dataclass
class PropertyDefinition:
    name: str
    label: str
    type: str
    field_type: str
    read_only: bool = False
    hubspot_defined: bool = False
    options: tuple[tuple[str, str], ...] = ()  # static (value, label) options, enumerations only


@dataclass
class Record:
    """A deal or contact: string property values (None = never set) and its contact links."""

    id: str
    properties: dict[str, str | None]
    created_at: str
    updated_at: str
    contact_ids: list[str] = field(default_factory=list)


@dataclass
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool
    created_at: str
    updated_at: str


@dataclass
class Stage:
    id: str
    label: str
    display_order: int
    probability: str  # HubSpot sends stage metadata values as strings: "0.2", "1.0"
    is_closed: bool


@dataclass
class Pipeline:
    id: str
    label: str
    display_order: int
    stages: list[Stage] = field(default_factory=list)


DEFAULT_DEAL_PROPERTY_DEFINITIONS = (
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
DEFAULT_CUSTOM_PROPERTY_DEFINITIONS = (
    ("demo_start_time", "Demo start time", "datetime", "date"),
    ("demo_meet_url", "Demo Google Meet URL", "string", "text"),
    ("demo_calendar_event_id", "Demo calendar event ID", "string", "text"),
)
# The default "Sales Pipeline" every portal starts with, plus the "Demo Scheduled" stage the
# middleware triggers on: (id, label, probability, closed).
DEFAULT_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("demoscheduled", "Demo Scheduled", "0.3", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
)


def object_json(record: Record, names: Iterable[str]) -> JsonDict:
    """A deal or contact as ``GET /crm/v3/objects/...`` answers it, with the ``names`` given."""
    return {
        "id": record.id,
        "properties": {name: record.properties.get(name) for name in names},
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "archived": False,
    }


def owner_json(owner: Owner) -> JsonDict:
    """An owner as ``GET /crm/v3/owners/{ownerId}`` answers it."""
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


def association_cursor(offset: int) -> str:
    """The opaque ``after`` of the association page that starts at ``offset``."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def association_offset(after: str) -> int:
    """The offset an ``after`` of :func:`association_cursor` names; ValueError if it is not one."""
    try:
        return int(base64.urlsafe_b64decode(after.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(after) from exc


def contact_links(deal: Record) -> list[JsonDict]:
    """The deal's contacts as v3 association results (``{"id", "type": "deal_to_contact"}``)."""
    return [{"id": contact_id, "type": "deal_to_contact"} for contact_id in deal.contact_ids]
