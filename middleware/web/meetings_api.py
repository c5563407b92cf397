"""The meetings API (``/api/meetings``): thin views over ``meetings_api/changes.py``.

``Authorization: Bearer mk_…`` (an API key, ``meetings_api/keys.py``): none or a revoked one is
401; a ``read`` key may only ``GET`` (403 otherwise). A change answers 202 with the meeting as
it now is; with ``wait=true`` the answer waits a few seconds for the worker to bring Google to
it, so that a new meeting's answer usually carries its Meet link. Each view's docstring carries
its OpenAPI operation (``GET /api/openapi.json``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from middleware.filters import InputError, load
from middleware.meetings_api import changes, keys
from middleware.meetings_api.inputs import Defaults, MeetingRefused
from middleware.meetings_api.keys import KeyRefused
from middleware.meetings_api.schemas import (
    CancelSchema,
    MeetingListQuerySchema,
    WaitSchema,
    meeting_json,
)
from middleware.services import services
from middleware.store import MeetingRecord, Store
from middleware.store.meetings import IdempotencyConflict, MeetingFilter

bp = Blueprint("meetings_api", __name__, url_prefix="/api/meetings")

#: Longest ``Idempotency-Key`` accepted.
IDEMPOTENCY_KEY_MAX = 255


def _store() -> Store:
    return services(current_app).store


@bp.before_request
def _authenticate() -> None:
    key = keys.authenticate(_store(), request.headers.get("Authorization"))
    if request.method not in ("GET", "HEAD"):
        keys.require_write(key)
    g.api_key = key


@bp.errorhandler(KeyRefused)
def _refused_key(exc: KeyRefused) -> ResponseReturnValue:
    response = jsonify(error=exc.message)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="meetings"'
    return response


@bp.errorhandler(MeetingRefused)
def _refused(exc: MeetingRefused) -> ResponseReturnValue:
    return jsonify(error=exc.message), exc.status


@bp.errorhandler(InputError)
def _bad_input(exc: InputError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(IdempotencyConflict)
def _conflict(exc: IdempotencyConflict) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 409


def _body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError("body must be a JSON object")
    return body


def _wait() -> bool:
    return bool(load(WaitSchema(), request.args.to_dict()).get("wait"))


def _accepted(meeting: MeetingRecord, wait: bool, **headers: str) -> ResponseReturnValue:
    if wait:
        meeting = changes.wait_until_done(_store(), meeting)
    return (
        jsonify(meeting_json(meeting)),
        202,
        {"Location": f"/api/meetings/{meeting.id}", **headers},
    )


@bp.post("")
def create_meeting() -> ResponseReturnValue:
    """Make a meeting (idempotent per ``Idempotency-Key``).
    ---
    post:
      summary: Make a Meet meeting, once per Idempotency-Key
      parameters:
      - {in: header, name: Idempotency-Key, required: true, schema: {type: string, maxLength: 255}}
      - in: query
        schema: WaitSchema
      requestBody:
        required: true
        content:
          application/json:
            schema: MeetingCreateSchema
      responses:
        202: MeetingAccepted
        409:
          description: the Idempotency-Key was used with another body
          content:
            application/json:
              schema: ProblemSchema
    """
    idempotency_key = request.headers.get("Idempotency-Key", "").strip()
    if not idempotency_key or len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise InputError(
            f"the Idempotency-Key header is required (1 to {IDEMPOTENCY_KEY_MAX} characters, "
            "e.g. a UUID): a retry with the same key and body gets the same meeting"
        )
    wait = _wait()
    defaults = Defaults.of(services(current_app).settings.rules.meeting)
    meeting, created = changes.create(_store(), g.api_key, idempotency_key, _body(), defaults)
    replayed = {} if created else {"Idempotent-Replayed": "true"}
    return _accepted(meeting, wait, **replayed)


@bp.get("")
def list_meetings() -> ResponseReturnValue:
    """Meetings, newest first, filtered; ``next_cursor`` continues (null on the last page).
    ---
    get:
      summary: List meetings, newest first
      parameters:
      - in: query
        schema: MeetingListQuerySchema
      responses:
        200:
          description: a page of meetings
          content:
            application/json:
              schema: MeetingPageSchema
    """
    query = load(MeetingListQuerySchema(), request.args.to_dict())
    key = g.api_key
    where = MeetingFilter(
        organizer=query.get("organizer", "").lower() or None,
        state=query.get("state"),
        starts_after=query.get("starts_after"),
        starts_before=query.get("starts_before"),
        organizers_allowed=key.organizers,
    )
    page, before = _store().list_meetings(
        where, limit=query["limit"], before_seq=query.get("cursor")
    )
    return jsonify(
        meetings=[meeting_json(m) for m in page],
        next_cursor=str(before) if before is not None else None,
    )


@bp.get("/<meeting_id>")
def show_meeting(meeting_id: str) -> ResponseReturnValue:
    """One meeting.
    ---
    get:
      summary: One meeting, with its Meet link once Google made it
      parameters:
      - {in: path, name: meeting_id, required: true, schema: {type: string}}
      responses:
        200: MeetingShown
        404: MeetingNotFound
    """
    return jsonify(meeting_json(changes.visible_meeting(_store(), g.api_key, meeting_id)))


@bp.patch("/<meeting_id>")
def change_meeting(meeting_id: str) -> ResponseReturnValue:
    """Change the whole meeting (every occurrence of a series).
    ---
    patch:
      summary: Change time, guests, title… of the whole meeting
      parameters:
      - {in: path, name: meeting_id, required: true, schema: {type: string}}
      - in: query
        schema: WaitSchema
      requestBody:
        required: true
        content:
          application/json:
            schema: MeetingPatchSchema
      responses:
        202: MeetingAccepted
        404: MeetingNotFound
        409:
          description: the meeting is cancelled
          content:
            application/json:
              schema: ProblemSchema
    """
    wait = _wait()
    return _accepted(changes.change(_store(), g.api_key, meeting_id, _body()), wait)


@bp.delete("/<meeting_id>")
def cancel_meeting(meeting_id: str) -> ResponseReturnValue:
    """Cancel the meeting (every occurrence).
    ---
    delete:
      summary: Cancel the meeting; guests are told per send_updates
      parameters:
      - {in: path, name: meeting_id, required: true, schema: {type: string}}
      - in: query
        schema: CancelSchema
      responses:
        202: MeetingAccepted
        404: MeetingNotFound
    """
    options = load(CancelSchema(), {**_body(), **request.args.to_dict()})
    meeting = changes.cancel(_store(), g.api_key, meeting_id, options.get("send_updates"))
    return _accepted(meeting, bool(options.get("wait")))


@bp.patch("/<meeting_id>/occurrences/<original_start>")
def change_occurrence(meeting_id: str, original_start: str) -> ResponseReturnValue:
    """Move one occurrence of a recurring meeting.
    ---
    patch:
      summary: Move one occurrence, named by its start by the rule
      parameters:
      - {in: path, name: meeting_id, required: true, schema: {type: string}}
      - {in: path, name: original_start, required: true, schema: {type: string}, description: "e.g. 2030-01-14T09:00:00Z"}
      - in: query
        schema: WaitSchema
      requestBody:
        required: true
        content:
          application/json:
            schema: OccurrencePatchSchema
      responses:
        202: MeetingAccepted
        404: MeetingNotFound
        409:
          description: the meeting or the occurrence is cancelled, or it does not recur
          content:
            application/json:
              schema: ProblemSchema
    """
    wait = _wait()
    meeting = changes.change_occurrence(_store(), g.api_key, meeting_id, original_start, _body())
    return _accepted(meeting, wait)


@bp.delete("/<meeting_id>/occurrences/<original_start>")
def cancel_occurrence(meeting_id: str, original_start: str) -> ResponseReturnValue:
    """Cancel one occurrence of a recurring meeting.
    ---
    delete:
      summary: Cancel one occurrence, named by its start by the rule
      parameters:
      - {in: path, name: meeting_id, required: true, schema: {type: string}}
      - {in: path, name: original_start, required: true, schema: {type: string}}
      - in: query
        schema: CancelSchema
      responses:
        202: MeetingAccepted
        404: MeetingNotFound
    """
    options = load(CancelSchema(), {**_body(), **request.args.to_dict()})
    meeting = changes.cancel_occurrence(
        _store(), g.api_key, meeting_id, original_start, options.get("send_updates")
    )
    return _accepted(meeting, bool(options.get("wait")))
