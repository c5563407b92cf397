"""The admin API's OpenAPI 3 document, built from the marshmallow schemas (apispec)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from middleware import filters

bp = Blueprint("openapi", __name__)

_ERRORS = {
    "400": {"description": "invalid input", "content": {"application/json": {"schema": "Error"}}},
    "401": {
        "description": "missing or wrong bearer token",
        "content": {"application/json": {"schema": "Error"}},
    },
    "403": {
        "description": "ADMIN_TOKEN is not set",
        "content": {"application/json": {"schema": "Error"}},
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_EVENT_ID = {"in": "path", "name": "event_id", "required": True, "schema": {"type": "integer"}}
_NOT_FOUND = {"404": _json("Error", "no such event")}


def _op(
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: Sequence[Any] = (),
    body: str | None = None,
) -> dict[str, Any]:
    """One admin operation: bearer auth, the shared error answers, optional JSON body."""
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {**responses, **_ERRORS},
    }
    if parameters:
        operation["parameters"] = list(parameters)
    if body:
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return operation


def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="CRM → Google Meet middleware: admin API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Inspect, filter and replay stored webhook events."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in (
        ("Error", filters.ErrorSchema),
        ("Event", filters.EventSchema),
        ("EventDetail", filters.EventDetailSchema),
        ("EventPage", filters.EventPageSchema),
        ("Count", filters.CountSchema),
        ("Replay", filters.ReplaySchema),
        ("BulkReplay", filters.BulkReplaySchema),
    ):
        spec.components.schema(name, schema=schema)
    paths: dict[str, dict[str, Any]] = {
        "/admin/events": {
            "get": _op(
                "List events, newest first",
                {"200": _json("EventPage", "a page of events")},
                parameters=[{"in": "query", "schema": filters.ListQuerySchema}],
            )
        },
        "/admin/events/{event_id}": {
            "get": _op(
                "One event with its attempts and errors",
                {"200": _json("EventDetail", "the event"), **_NOT_FOUND},
                parameters=[_EVENT_ID],
            )
        },
        "/admin/events/{event_id}/replay": {
            "post": _op(
                "Send one event back to pending",
                {
                    "202": _json("Event", "replayed"),
                    "409": _json("Error", "the event is processing, or succeeded without force"),
                    **_NOT_FOUND,
                },
                parameters=[_EVENT_ID],
                body="Replay",
            )
        },
        "/admin/events/replay": {
            "post": _op(
                "Replay every event a filter matches (status defaults to failed)",
                {
                    "200": _json("Count", "dry run: how many would be replayed, and a sample"),
                    "202": _json("Count", "how many were replayed"),
                },
                body="BulkReplay",
            )
        },
        "/admin/audit": {
            "get": _op("Operator actions, newest first", {"200": {"description": "audit records"}})
        },
        "/admin/stats": {"get": _op("Events per status", {"200": {"description": "counts"}})},
    }
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The admin API's OpenAPI document (no secrets in it; served without a token)."""
    return jsonify(build_spec())
