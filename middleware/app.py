"""The Flask application factory: ``create_app(settings)`` is the only way to get an app."""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from middleware import wiring
from middleware.database import make_engine
from middleware.errors import StoreUnavailable
from middleware.services import Services, services
from middleware.settings import Settings, load_settings
from middleware.store import Store
from middleware.store.faults import store_fault
from middleware.store.group_commit import GroupCommit
from middleware.web.hosts import on_operator_listener

MAX_BODY_BYTES = 1024 * 1024  # CONTRACT.md: a body over 1 MiB is answered 413

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """Build the web app. ``settings`` default to the process environment.

    The schema is not migrated here: processes run ``upgrade_schema`` once at start
    (gunicorn's master in ``gunicorn_conf``, the worker in ``worker.py``, tests in fixtures).
    Raises :class:`~middleware.errors.ConfigError` on bad settings.
    """
    if settings is None:
        settings = load_settings(os.environ)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if store is None:
        # One connection per request thread (and a few spare): a webhook never waits for one.
        store = Store(make_engine(settings.database_url, pool_size=max(4, settings.web_threads)))
    app.extensions["middleware"] = Services(
        settings=settings,
        store=store,
        intakes=wiring.webhook_intakes(settings),
        ingest=GroupCommit(store).add_events,
    )

    # admin_google adds its routes to admin.bp
    from middleware.web import (  # noqa: F401
        admin,
        admin_google,
        connect,
        dashboard,
        health,
        meetings_api,
        metrics,
        openapi,
        request_log,
        webhooks,
    )

    request_log.init_app(app)  # first: the other hooks may answer early
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(meetings_api.bp)
    app.register_blueprint(openapi.bp)
    dashboard.init_app(app)
    app.register_blueprint(connect.bp)
    _register_error_handlers(app)

    @app.before_request
    def _operator_pages_on_their_listener() -> ResponseReturnValue | None:
        if on_operator_listener(request.path, request.environ, settings):
            return None
        return jsonify(error="no such endpoint"), 404

    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        messages = {
            413: f"request body is larger than {MAX_BODY_BYTES} bytes (1 MiB)",
            404: "no such endpoint",
            405: "method not allowed on this endpoint",
        }
        code = exc.code or 500
        if code == 413 and request.blueprint == "webhooks":
            _count_too_large()
        return jsonify(error=messages.get(code, exc.description or exc.name)), code

    @app.errorhandler(StoreUnavailable)
    def _store_unavailable(exc: StoreUnavailable) -> ResponseReturnValue:
        """Nothing was stored or changed: 503 and ``Retry-After`` (a CRM sends it again)."""
        log.warning("answered 503, nothing changed (%s): %s", exc.reason, exc.detail)
        retry_after = {"Retry-After": str(round(exc.retry_after or 1))}
        return jsonify(error=exc.message, reason=str(exc.reason)), 503, retry_after

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError) -> ResponseReturnValue:
        """An admin change or read that met a locked, full or absent store: 503 too."""
        fault = store_fault(exc)
        if fault is not None:
            return _store_unavailable(fault)
        return _unexpected(exc)

    def _count_too_large() -> None:
        from middleware.metrics import count_refusal

        provider = (request.view_args or {}).get("provider")
        if (provider, (request.view_args or {}).get("variant", "")) in services(app).intakes:
            count_refusal(str(provider), "too_large")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return jsonify(error="internal error; the request was not processed, retry it"), 500
