"""The admin API's OpenAPI 3 document, generated from the routes themselves.

apispec's Flask plugin reads each admin view's docstring (the YAML after ``---``) and its URL
rule; the marshmallow plugin turns the schema names there (``filters.py`` for input,
``json_shapes.py`` for answers) into components. Bearer auth and the shared error answers are
added to every operation here, so a route documents only what is its own.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from middleware import filters, json_shapes
from middleware.web import admin_google

bp = Blueprint("openapi", __name__)


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


_SHARED_ERRORS = {
    "400": _problem("invalid input; the message names the field"),
    "401": _problem("missing or wrong bearer token"),
    "403": _problem("ADMIN_TOKEN is not set"),
}
#: Schemas the docstrings name, registered so that they resolve by name.
_SCHEMAS = (
    filters.ListQuerySchema,
    filters.ReplaySchema,
    filters.BulkReplaySchema,
    json_shapes.EventSchema,
    json_shapes.EventDetailSchema,
    json_shapes.EventPageSchema,
    json_shapes.CountSchema,
    json_shapes.AuditPageSchema,
    json_shapes.StatsSchema,
    json_shapes.DealTrailSchema,
    json_shapes.ProblemSchema,
    admin_google.RepConnectionPageSchema,
)


def build_spec(app: Flask) -> dict[str, Any]:
    """The document for every ``admin.*`` route of ``app``."""
    spec = APISpec(
        title="CRM → Google Meet middleware: admin API",
        version="1",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": "Inspect, filter and replay stored webhook events."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for schema in _SCHEMAS:
        if schema.__name__ != "ListQuerySchema":  # query parameters are expanded, not named
            spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    with app.test_request_context():
        for endpoint in sorted(app.view_functions):
            if endpoint.startswith("admin."):
                spec.path(view=app.view_functions[endpoint], app=app)
    document = spec.to_dict()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation["security"] = [{"bearer": []}]
            operation["responses"] = {**operation.get("responses", {}), **_SHARED_ERRORS}
    return document


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The admin API's OpenAPI document (no secrets in it; served without a token)."""
    return jsonify(build_spec(current_app))
