"""The admin API's view of reps' Google connections (``/admin/google/*``), on the admin
blueprint (same bearer token, same error answers, in the OpenAPI document).

A rep is listed with their auth mode (``delegation`` or ``oauth``) and, for OAuth reps, the
state of their connection (``connected``, ``broken``, ``not_connected``) and the link to send
them. Tokens are never shown.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from middleware.filters import InputError
from middleware.google_connections import RepConnection, rep_connections
from middleware.json_shapes import UTCTime
from middleware.services import Services, services
from middleware.web.admin import bp


class RepConnectionSchema(Schema):
    email = fields.String()
    mode = fields.String(metadata={"description": "delegation or oauth"})
    state = fields.String(
        allow_none=True,
        metadata={"description": "connected, broken, not_connected; null for delegation"},
    )
    connected_at = UTCTime()
    broken_at = UTCTime()
    broken_reason = fields.String(allow_none=True)
    connect_url = fields.String(
        allow_none=True, metadata={"description": "the link the rep connects (again) at"}
    )


class RepConnectionPageSchema(Schema):
    reps = fields.List(fields.Nested(RepConnectionSchema))


@bp.get("/google/reps")
def google_reps() -> ResponseReturnValue:
    """Reps with their Google auth mode and connection state.
    ---
    get:
      summary: Reps with their Google auth mode and OAuth connection state
      parameters:
      - {in: query, name: rep, schema: {type: string}, description: "also list this rep (repeatable)"}
      responses:
        200:
          description: the reps
          content:
            application/json:
              schema: RepConnectionPageSchema
    """
    reps = listed_reps(services(current_app), request.args.getlist("rep"))
    return jsonify(RepConnectionPageSchema().dump({"reps": reps}))


def listed_reps(svc: Services, extra: list[str]) -> list[RepConnection]:
    """The reps this view lists (the dashboard's reps page shows the same), with ``extra``
    (the ``rep`` arguments) added. Raises InputError for an ``extra`` that is no email."""
    extra = [r for r in extra if r.strip()]
    for rep in extra:
        if "@" not in rep or len(rep) > 320:
            raise InputError(f"rep: {rep[:60]!r} is not an email address")
    return rep_connections(svc.settings, svc.store, also=extra)
