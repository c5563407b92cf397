"""The admin API (``/admin/*``): find events, see why they failed, replay them.

Bearer ``ADMIN_TOKEN`` (constant-time compare). Unset token: 403 to everyone; missing or wrong
token: 401. Every change is written to the audit log (``GET /admin/audit``) by
``operations.py``, in the change's own transaction. Each view's docstring carries its OpenAPI
operation (after ``---``), which ``web/openapi.py`` collects from the routes.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter, ValidationError

from middleware import operations
from middleware.crm.base import strict_id
from middleware.filters import (
    AuditQuerySchema,
    BulkReplaySchema,
    InputError,
    ListQuerySchema,
    ReplaySchema,
    load,
)
from middleware.json_shapes import AuditPageSchema, event_json, events_json, trail_json
from middleware.operations import EventNotFound, ReplayRefused
from middleware.services import services
from middleware.web import admin_keys

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.register_blueprint(admin_keys.bp)  # /admin/api-keys, behind the same token


class EventIdConverter(BaseConverter):
    """``<event_id:…>``: ASCII digits naming 1 to 2^63 - 1, else no route (404). Werkzeug's
    ``int`` matches any Unicode digit (``٣`` would be event 3) and passes ids past the
    store's BIGINT through to the database."""

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = strict_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(value)


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    # Recorded before the routes below, so it runs before they are added to the URL map.
    state.app.url_map.converters["event_id"] = EventIdConverter


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    token = services(current_app).settings.admin_token
    if not token:
        return jsonify(error="the admin API is disabled: ADMIN_TOKEN is not set"), 403
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return _unauthorized("missing bearer token (Authorization: Bearer $ADMIN_TOKEN)")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _unauthorized("wrong admin token")
    return None


def _unauthorized(message: str) -> ResponseReturnValue:
    response = jsonify(error=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="admin"'
    return response


@bp.errorhandler(InputError)
def _bad_input(exc: InputError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(EventNotFound)
def _not_found(exc: EventNotFound) -> ResponseReturnValue:
    return jsonify(error=exc.message), 404


@bp.errorhandler(ReplayRefused)
def _refused(exc: ReplayRefused) -> ResponseReturnValue:
    return jsonify(error=exc.message), 409


def _json_body() -> dict[str, Any]:
    data = request.get_data(cache=True)
    if not data:
        return {}
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):  # not JSON (any UTF), or nested past the stack
        raise InputError("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InputError("body must be a JSON object")
    return body


def _actor() -> str:
    return f"admin-api:{request.remote_addr or '?'}"


@bp.get("/events")
def list_events() -> ResponseReturnValue:
    """Events, newest first, filtered; ``next_cursor`` continues (null on the last page).
    ---
    get:
      summary: List events, newest first
      parameters:
      - in: query
        schema: ListQuerySchema
      responses:
        200:
          description: a page of events
          content:
            application/json:
              schema: EventPageSchema
    """
    args = request.args.to_dict(flat=True)
    if "status" in args:  # both ?status=a,b and ?status=a&status=b
        args["status"] = ",".join(request.args.getlist("status"))
    query = load(ListQuerySchema(), args)
    page, before = services(current_app).store.list_events(
        query["filter"], limit=query["limit"], before_id=query["before_id"]
    )
    return jsonify(events=events_json(page), next_cursor=_cursor(before))


@bp.get("/events/<event_id:event_id>")
def show_event(event_id: int) -> ResponseReturnValue:
    """One event with its attempts and errors.
    ---
    get:
      summary: One event with its attempts, errors and payload
      parameters:
      - {in: path, name: event_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: the event
          content:
            application/json:
              schema: EventDetailSchema
        404: EventNotFound
    """
    event = services(current_app).store.get_event(event_id)
    if event is None:
        raise EventNotFound(f"event {event_id} not found")
    return jsonify(event_json(event))


@bp.post("/events/<event_id:event_id>/replay")
def replay_event(event_id: int) -> ResponseReturnValue:
    """Send one event back to pending.
    ---
    post:
      summary: Send one event back to pending
      parameters:
      - {in: path, name: event_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: ReplaySchema
      responses:
        202:
          description: replayed
          content:
            application/json:
              schema: EventDetailSchema
        404: EventNotFound
        409:
          description: the event is processing, or succeeded without force
          content:
            application/json:
              schema: ProblemSchema
    """
    options = load(ReplaySchema(), _json_body())
    store = services(current_app).store
    event = operations.replay_event(store, event_id, actor=_actor(), force=options["force"])
    return jsonify(event_json(event)), 202


@bp.post("/events/replay")
def replay_matching() -> ResponseReturnValue:
    """Replay every event a filter matches (``status`` defaults to ``failed``).
    ---
    post:
      summary: Replay every event a filter matches (status defaults to failed)
      requestBody:
        content:
          application/json:
            schema: BulkReplaySchema
      responses:
        200:
          description: "dry run: how many would be replayed, and a sample"
          content:
            application/json:
              schema: CountSchema
        202:
          description: how many were replayed
          content:
            application/json:
              schema: CountSchema
    """
    options = load(BulkReplaySchema(), _json_body())
    result = operations.replay_matching(
        services(current_app).store,
        options["filter"],
        actor=_actor(),
        force=options["force"],
        dry_run=options["dry_run"],
    )
    if options["dry_run"]:
        return jsonify(count=result.count, sample=events_json(result.sample)), 200
    return jsonify(count=result.count), 202


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    """What operators changed, newest first.
    ---
    get:
      summary: Operator actions, newest first
      parameters:
      - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
      - {in: query, name: cursor, schema: {type: string}}
      responses:
        200:
          description: a page of audit records
          content:
            application/json:
              schema: AuditPageSchema
    """
    page = load(AuditQuerySchema(), request.args.to_dict(flat=True))
    items, next_before = services(current_app).store.list_audit(
        limit=page["limit"], before_id=page["before_id"]
    )
    return jsonify(AuditPageSchema().dump({"actions": items, "next_cursor": _cursor(next_before)}))


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    """How many events are in each status.
    ---
    get:
      summary: Events per status
      responses:
        200:
          description: counts
          content:
            application/json:
              schema: StatsSchema
    """
    return jsonify(services(current_app).store.status_counts())


@bp.get("/deals/<provider>/<deal_id>")
def deal_trail(provider: str, deal_id: str) -> ResponseReturnValue:
    """One deal's story: its webhooks, attempts, lifecycle actions and live meeting.
    ---
    get:
      summary: One deal's trail (events oldest first, with attempts; the deal ledger)
      parameters:
      - {in: path, name: provider, required: true, schema: {type: string}}
      - {in: path, name: deal_id, required: true, schema: {type: string}}
      - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
      responses:
        200:
          description: the trail
          content:
            application/json:
              schema: DealTrailSchema
        404:
          description: no event and no meeting names this deal
          content:
            application/json:
              schema: ProblemSchema
    """
    limit = _limit(request.args.get("limit", "100"))
    trail = services(current_app).store.deal_trail(provider, deal_id, limit=limit)
    if trail is None:
        raise EventNotFound(f"no event and no meeting for {provider[:40]} deal {deal_id[:64]}")
    return jsonify(trail_json(trail))


def _limit(value: str) -> int:
    try:
        return min(max(int(value), 1), 500)
    except ValueError:
        raise InputError("limit must be a whole number") from None


def _cursor(before: int | None) -> str | None:
    return str(before) if before is not None else None
