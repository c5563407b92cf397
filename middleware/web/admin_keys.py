"""The admin API's API keys (``/admin/api-keys``): make, list and revoke keys of the meetings API.

Nested in the admin blueprint (``admin.py`` registers it), so the admin bearer token guards it
and its errors are answered like the admin API's. A key is shown once, in the answer that makes
it; only its SHA-256 is kept. Making and revoking a key is in the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from middleware.filters import InputError, load
from middleware.meetings_api import keys
from middleware.meetings_api.schemas import ApiKeyCreateSchema, api_key_json
from middleware.services import services
from middleware.store import Store

bp = Blueprint("api_keys", __name__, url_prefix="/api-keys")


def _actor() -> str:
    return f"admin-api:{request.remote_addr or '?'}"


@bp.post("")
def create_api_key() -> ResponseReturnValue:
    """Make an API key of the meetings API.
    ---
    post:
      summary: Make a meetings API key (the key is in this answer only)
      requestBody:
        required: true
        content:
          application/json:
            schema: ApiKeyCreateSchema
      responses:
        201:
          description: the key, shown this once
          content:
            application/json:
              schema: NewApiKeySchema
    """
    body = request.get_json(silent=True) if request.get_data(cache=True) else {}
    if not isinstance(body, dict):
        raise InputError("body must be a JSON object")
    made = make_api_key(services(current_app).store, body, actor=_actor())
    return jsonify(api_key_json(made.record, made.key)), 201


def make_api_key(store: Store, body: Mapping[str, Any], *, actor: str) -> keys.NewApiKey:
    """Make a key from ``body`` (:class:`ApiKeyCreateSchema`; the dashboard's form too), with
    its audit row naming ``actor``. Raises InputError naming the field."""
    data = load(ApiKeyCreateSchema(), body)
    try:
        return keys.create_api_key(
            store,
            name=data["name"],
            scope=data["scope"],
            organizers=data.get("organizers") or (),
            actor=actor,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


@bp.get("")
def list_api_keys() -> ResponseReturnValue:
    """Every API key, revoked ones too (never the keys themselves).
    ---
    get:
      summary: List meetings API keys
      responses:
        200:
          description: the keys
          content:
            application/json:
              schema: ApiKeyListSchema
    """
    records = services(current_app).store.list_api_keys()
    return jsonify(api_keys=[api_key_json(r) for r in records])


@bp.delete("/<int:key_id>")
def revoke_api_key(key_id: int) -> ResponseReturnValue:
    """Revoke an API key: it answers 401 from now on.
    ---
    delete:
      summary: Revoke a meetings API key
      parameters:
      - {in: path, name: key_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: the key, revoked
          content:
            application/json:
              schema: ApiKeySchema
        404:
          description: no such key
          content:
            application/json:
              schema: ProblemSchema
    """
    record = services(current_app).store.revoke_api_key(key_id, actor=_actor())
    if record is None:
        return jsonify(error=f"API key {key_id} not found"), 404
    return jsonify(api_key_json(record))
