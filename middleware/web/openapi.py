"""The admin API's and the meetings API's OpenAPI 3 documents, generated from the routes.

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
from middleware.meetings_api import schemas
from middleware.web import admin_google

bp = Blueprint("openapi", __name__)


def _answer(description: str, schema: str = "Problem") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _problem(description: str) -> dict[str, Any]:
    return _answer(description)


_SHARED_ERRORS = {
    "400": _problem("invalid input; the message names the field"),
    "401": _problem("missing or wrong bearer token"),
    "403": _problem("ADMIN_TOKEN is not set"),
}
#: Answers the docstrings name (``404: EventNotFound``), registered as response components.
_RESPONSES = {"EventNotFound": _problem("no such event")}
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
    schemas.ApiKeyCreateSchema,
    schemas.ApiKeySchema,
    schemas.NewApiKeySchema,
    schemas.ApiKeyListSchema,
)


#: The meetings API's document: its own key, its own errors (``web/meetings_api.py``).
_MEETINGS_RESPONSES = {
    "MeetingAccepted": _answer(
        "stored: the meeting as it now is, with its Meet link once Google made it; Google follows",
        "Meeting",
    ),
    # By response name: "MeetingSchema" alone is ambiguous (json_shapes has one for deals).
    "MeetingShown": _answer("the meeting", "Meeting"),
    "MeetingNotFound": _problem("no such meeting or occurrence (or not one this key may see)"),
}
_MEETINGS_ERRORS = {
    "400": _problem("invalid input; the message names the field"),
    "401": _problem("missing, unknown or revoked API key"),
    "403": _problem("a read key writing, or an organizer this key may not act for"),
    "503": _problem("the store cannot take the change now; retry after Retry-After"),
}
_MEETINGS_SCHEMAS = (
    schemas.MeetingCreateSchema,
    schemas.MeetingPatchSchema,
    schemas.OccurrencePatchSchema,
    schemas.MeetingSchema,
    schemas.MeetingPageSchema,
    json_shapes.ProblemSchema,
)
#: query-parameter schemas: expanded into parameters, not components
_QUERY_SCHEMAS = ("ListQuerySchema", "MeetingListQuerySchema", "WaitSchema", "CancelSchema")


def build_spec(
    app: Flask,
    *,
    prefix: str = "admin.",
    title: str = "CRM → Google Meet middleware: admin API",
    description: str = "Inspect, filter and replay stored webhook events; API keys.",
    schemas_used: tuple[type, ...] = (),
    errors: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document for every route of ``app`` whose endpoint starts with ``prefix``."""
    spec = APISpec(
        title=title,
        version="1",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": description},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for schema in schemas_used or _SCHEMAS:
        if schema.__name__ not in _QUERY_SCHEMAS:
            spec.components.schema(schema.__name__.removesuffix("Schema"), schema=schema)
    for name, response in (_RESPONSES if responses is None else responses).items():
        spec.components.response(name, response)
    with app.test_request_context():
        for endpoint in sorted(app.view_functions):
            if endpoint.startswith(prefix):
                spec.path(view=app.view_functions[endpoint], app=app)
    document = spec.to_dict()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation["security"] = [{"bearer": []}]
            operation["responses"] = {
                **operation.get("responses", {}),
                **(errors or _SHARED_ERRORS),
            }
    return document


def build_meetings_spec(app: Flask) -> dict[str, Any]:
    """The meetings API's document (``/api/meetings``), bearer an API key."""
    return build_spec(
        app,
        prefix="meetings_api.",
        title="CRM → Google Meet middleware: meetings API",
        description="Make, change and cancel Google Meet meetings, recurring too.",
        schemas_used=_MEETINGS_SCHEMAS,
        errors=_MEETINGS_ERRORS,
        responses=_MEETINGS_RESPONSES,
    )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The admin API's OpenAPI document (no secrets in it; served without a token)."""
    return jsonify(build_spec(current_app))


@bp.get("/api/openapi.json")
def meetings_openapi() -> ResponseReturnValue:
    """The meetings API's OpenAPI document (public, like the API itself)."""
    return jsonify(build_meetings_spec(current_app))
