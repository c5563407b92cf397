"""A request id on every HTTP request, and one log line per request.

The id is the caller's ``X-Request-Id`` when it is a plausible id (a proxy's or load balancer's:
letters, digits and ``._:=+/-``, at most 128), else a fresh one; it is bound to every line
logged while the request is handled (``logs.bound``) and returned in the response's
``X-Request-Id``. The line per request replaces gunicorn's access log: method, path (never the
query string), status, duration and the request id, at INFO (DEBUG for the probes and
``/metrics``, which a scraper asks every few seconds).
"""

from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter

from flask import Flask, Response, g, request

from middleware import logs

HEADER = "X-Request-Id"
_PLAUSIBLE = re.compile(r"[A-Za-z0-9._:=+/-]{1,128}")
#: Asked every few seconds by probes and scrapers: logged at DEBUG only.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
log = logging.getLogger("middleware.http")


def request_id(given: str | None) -> str:
    """The caller's id when plausible, else a new random one."""
    if given and _PLAUSIBLE.fullmatch(given):
        return given
    return uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Register the hooks; call before any other ``before_request`` (they may answer early)."""

    @app.before_request
    def _start() -> None:
        g.request_id = request_id(request.headers.get(HEADER))
        g.request_started = perf_counter()
        g.log_token = logs.bind(request_id=g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid is None:
            return response
        response.headers[HEADER] = rid
        millis = (perf_counter() - g.request_started) * 1000
        log.log(
            logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
            "%s %s %s %.1fms",
            request.method,
            request.path[:200],
            response.status_code,
            millis,
            extra={
                "method": request.method,
                "path": request.path[:200],
                "status": response.status_code,
                "duration_ms": round(millis, 1),
                "remote": request.remote_addr,
            },
        )
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("log_token", None)
        if token is not None:
            logs.unbind(token)
