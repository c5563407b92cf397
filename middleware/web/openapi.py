"""The admin API's OpenAPI 3 document, built from the marshmallow schemas (apispec)."""

from __future__ import annotations

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
    security: list[dict[str, list[str]]] = [{"bearer": []}]
    spec.path(
        path="/admin/events",
        operations={
            "get": {
                "summary": "List events, newest first",
                "security": security,
                "parameters": [{"in": "query", "schema": filters.ListQuerySchema}],
                "responses": {"200": _json("EventPage", "a page of events"), **_ERRORS},
            }
        },
    )
    spec.path(
        path="/admin/events/{event_id}",
        operations={
            "get": {
                "summary": "One event with its attempts and errors",
                "security": security,
                "parameters": [
                    {
                        "in": "path",
                        "name": "event_id",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": _json("EventDetail", "the event"),
                    "404": _json("Error", "no such event"),
                    **_ERRORS,
                },
            }
        },
    )
    spec.path(
        path="/admin/events/{event_id}/replay",
        operations={
            "post": {
                "summary": "Send one event back to pending",
                "security": security,
                "parameters": [
                    {
                        "in": "path",
                        "name": "event_id",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": "Replay"}},
                },
                "responses": {
                    "202": _json("Event", "replayed"),
                    "404": _json("Error", "no such event"),
                    "409": _json("Error", "the event is processing, or succeeded without force"),
                    **_ERRORS,
                },
            }
        },
    )
    spec.path(
        path="/admin/events/replay",
        operations={
            "post": {
                "summary": "Replay every event a filter matches (status defaults to failed)",
                "security": security,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "BulkReplay"}},
                },
                "responses": {
                    "200": _json("Count", "dry run: how many would be replayed, and a sample"),
                    "202": _json("Count", "how many were replayed"),
                    **_ERRORS,
                },
            }
        },
    )
    spec.path(
        path="/admin/audit",
        operations={
            "get": {
                "summary": "Operator actions, newest first",
                "security": security,
                "responses": {"200": {"description": "audit records"}, **_ERRORS},
            }
        },
    )
    spec.path(
        path="/admin/stats",
        operations={
            "get": {
                "summary": "Events per status",
                "security": security,
                "responses": {"200": {"description": "counts"}, **_ERRORS},
            }
        },
    )
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The admin API's OpenAPI document (no secrets in it; served without a token)."""
    return jsonify(build_spec())
