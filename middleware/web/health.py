"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from middleware.errors import StoreUnavailable
from middleware.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up (no dependency is checked)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The store can take a webhook now: its schema is current and a write probe passes
    (``store/readiness.py``), each waiting at most half a second; 503 naming the cause
    otherwise (``reason`` as in the README's troubleshooting table)."""
    store = services(current_app).store
    try:
        current = store.schema_current()
        if current:
            store.probe_write()
    except StoreUnavailable as exc:
        log.warning("not ready (%s): %s", exc.reason, exc.detail)
        return jsonify(error=exc.message, reason=str(exc.reason)), 503
    except SQLAlchemyError as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        return jsonify(error=f"event store unreachable ({type(exc).__name__})"), 503
    if not current:
        return jsonify(
            error="event store schema is not up to date; run `middleware db upgrade`"
        ), 503
    return jsonify(status="ready", store=store.engine.dialect.name)
