"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from middleware.database import schema_is_current
from middleware.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up (no dependency is checked)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The store answers and its schema is current; 503 otherwise."""
    store = services(current_app).store
    try:
        store.ping()
        current = schema_is_current(store.engine)
    except SQLAlchemyError as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        return jsonify(error=f"event store unreachable ({type(exc).__name__})"), 503
    if not current:
        return jsonify(
            error="event store schema is not up to date; run `middleware db upgrade`"
        ), 503
    return jsonify(status="ready", store=store.engine.dialect.name)
