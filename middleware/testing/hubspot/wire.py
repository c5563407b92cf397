"""What one request and one answer of the HubSpot emulator are, and HubSpot's error envelope.

Pure helpers shared by the route modules: the parsed :class:`Request`, the :class:`Response`
the server writes, :class:`ApiError` (HubSpot's ``{"status": "error", ...}`` body) and the
timestamp and value formats HubSpot uses (``shared/reference/crm-webhooks-and-apis.md`` §1.7).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from middleware.testing.delivery import Delivery

JsonDict = dict[str, Any]

# HubSpot's answer to a request without (valid) credentials, quoted from its error docs.
AUTH_ERROR_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def now_iso() -> str:
    """Current UTC time the way HubSpot writes timestamps: ``2024-01-31T10:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def correlation_id() -> str:
    return str(uuid.uuid4())


def as_hubspot_string(value: Any) -> str:
    """Coerce a JSON scalar the way HubSpot stores property values: always as strings."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    return str(value)


class ApiError(Exception):
    """Raised by a route handler; becomes HubSpot's error envelope with this status."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: JsonDict = {
            "status": "error",
            "message": message,
            "correlationId": correlation_id(),
            **extra,
            "category": category,
        }


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    #: bytes sent as they are instead of ``body`` as JSON (an answer that is not HubSpot's;
    #: ``headers`` then name its Content-Type)
    raw: bytes | None = None
    #: a wire fault for this answer (trickled, or the connection reset), else sent whole
    delivery: Delivery | None = None


@dataclass
class Request:
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


def request_json(request: Request) -> Any:
    """The request body as JSON, or HubSpot's 400 for a missing or malformed body."""
    try:
        return json.loads(request.raw_body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"Invalid input JSON: {exc}", "VALIDATION_ERROR") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "VALIDATION_ERROR",
        ) from None


def object_not_found(object_id: str) -> ApiError:
    """HubSpot's 404 for a CRM object read or update by an id that does not exist."""
    return ApiError(
        404,
        "Object not found.  objectId are usually numeric.",
        "OBJECT_NOT_FOUND",
        context={"id": [object_id]},
    )


def parse_json_or_none(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body.decode("utf-8")) if raw_body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
