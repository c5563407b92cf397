"""The admin API (``/admin/*``): find events, see why they failed, replay them.

Bearer ``ADMIN_TOKEN`` (constant-time compare). Unset token: 403 to everyone; missing or wrong
token: 401. Every change is written to the audit log (``GET /admin/audit``).
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from middleware.filters import (
    BulkReplaySchema,
    InputError,
    ListQuerySchema,
    ReplaySchema,
    load,
)
from middleware.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")


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


def _json_body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError("body must be a JSON object")
    return body


def _actor() -> str:
    return f"admin-api:{request.remote_addr or '?'}"


@bp.get("/events")
def list_events() -> ResponseReturnValue:
    """Events, newest first, filtered; ``next_cursor`` continues (null on the last page)."""
    args = request.args.to_dict(flat=True)
    if "status" in args:  # both ?status=a,b and ?status=a&status=b
        args["status"] = ",".join(request.args.getlist("status"))
    query = load(ListQuerySchema(), args)
    page, before = services(current_app).store.list_events(
        query["filter"], limit=query["limit"], before_id=query["before_id"]
    )
    return jsonify(events=page, next_cursor=str(before) if before is not None else None)


@bp.get("/events/<int:event_id>")
def show_event(event_id: int) -> ResponseReturnValue:
    event = services(current_app).store.get_event(event_id)
    if event is None:
        return jsonify(error=f"event {event_id} not found"), 404
    return jsonify(event)


@bp.post("/events/<int:event_id>/replay")
def replay_event(event_id: int) -> ResponseReturnValue:
    options = load(ReplaySchema(), _json_body())
    store = services(current_app).store
    result = store.replay_event(event_id, force=options["force"])
    if not result.ok:
        return jsonify(error=result.error), result.status
    store.audit(_actor(), "replay", {"event_id": event_id, "force": options["force"]}, 1)
    return jsonify(result.event), 202


@bp.post("/events/replay")
def replay_matching() -> ResponseReturnValue:
    """Replay every event a filter matches (``status`` defaults to ``failed``)."""
    options = load(BulkReplaySchema(), _json_body())
    store = services(current_app).store
    flt = options["filter"]
    result = store.replay_matching(flt, force=options["force"], dry_run=options["dry_run"])
    if options["dry_run"]:
        return jsonify(count=result.count, sample=result.sample), 200
    store.audit(
        _actor(), "bulk_replay", {**flt.describe(), "force": options["force"]}, result.count
    )
    return jsonify(count=result.count), 202


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    """What operators changed, newest first."""
    args = request.args
    try:
        limit = min(max(int(args.get("limit", "50")), 1), 500)
        before = int(args["cursor"]) if "cursor" in args else None
    except ValueError:
        raise InputError("limit and cursor must be whole numbers") from None
    items, next_before = services(current_app).store.list_audit(limit=limit, before_id=before)
    return jsonify(actions=items, next_cursor=str(next_before) if next_before is not None else None)


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    """How many events are in each status."""
    return jsonify(services(current_app).store.status_counts())
