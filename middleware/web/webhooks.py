"""CRM webhook endpoints: read the raw body, verify and parse (sans-I/O), store, then answer.

The answer is 2xx only after the events are committed; a redelivery is a 2xx that stores
nothing new. Errors are JSON ``{"error": ...}`` with 401 (signature), 400 (body), 413 (size),
503 with ``Retry-After`` when the store cannot take the events now (locked, full…).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from time import perf_counter
from urllib.parse import quote

from flask import Blueprint, Request, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from middleware import logs, metrics
from middleware.crm.base import ParsedBatch, WebhookRequest
from middleware.errors import WebhookError
from middleware.services import services
from middleware.store import AddResult
from middleware.web.hosts import host_allowed, host_refusal

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
#: At most this many unusable notifications are described one by one in a response.
MAX_PROBLEMS_LISTED = 10
#: At most this many deal ids are named in the log line of one webhook.
MAX_IDS_LOGGED = 100
log = logging.getLogger(__name__)


def signed_uri(req: Request, public_base_url: str | None) -> str:
    """The full URI the CRM called, as it signed it.

    The path and query are taken as sent on the wire (gunicorn's ``RAW_URI``), not as
    Werkzeug decoded them; scheme and host come from ``PUBLIC_BASE_URL`` when the service
    runs behind a proxy, else from the request itself (a host ``web/hosts.py`` allows).
    """
    environ = req.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        raw = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    if "://" in raw.split("?", 1)[0]:  # absolute-form request target
        raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
    base = public_base_url or f"{req.scheme}://{req.host}"
    return base.rstrip("/") + raw


def read_body(req: Request) -> bytes:
    """The raw body, at most ``MAX_CONTENT_LENGTH`` bytes; raises ``RequestEntityTooLarge``.

    Werkzeug refuses a ``Content-Length`` over the limit, but silently cuts a chunked body
    (no length, ``wsgi.input_terminated``) at it, so that one is read here one byte past
    the limit. (Behind gunicorn the front in ``web/guard.py`` has refused it already.)
    """
    limit = req.max_content_length
    if limit is None or req.content_length is not None:
        return req.get_data(cache=False)
    if "wsgi.input_terminated" not in req.environ:
        return b""  # no length and no end: WSGI gives no body (werkzeug's safe fallback)
    stream = req.environ["wsgi.input"]
    body = bytearray()
    while len(body) <= limit and (piece := stream.read(limit + 1 - len(body))):
        body += piece
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return bytes(body)


@bp.post("/<provider>", defaults={"variant": ""})
@bp.post("/<provider>/<variant>")
def receive(provider: str, variant: str) -> ResponseReturnValue:
    """Any CRM's webhook: read the raw body, verify and parse (sans-I/O), store, answer."""
    svc = services(current_app)
    intake = svc.intakes.get((provider, variant))
    if intake is None:
        return jsonify(error=f"no webhook endpoint at {request.path}"), 404
    started = perf_counter()
    logs.bind(provider=provider)  # unbound with the request's ids when it ends
    if not host_allowed(request.host, svc.settings):
        metrics.count_refusal(provider, "unknown_host")
        log.warning("%s webhook refused: unknown Host %r", provider, request.host[:100])
        return jsonify(error=host_refusal(request.host)), 400
    incoming = WebhookRequest(
        headers=dict(request.headers.items()),
        body=read_body(request),
        method=request.method,
        uri=signed_uri(request, svc.settings.public_base_url),
        now=svc.clock(),
    )
    try:
        batch = intake.parse(incoming)
    except WebhookError as exc:
        metrics.count_refusal(provider, exc.refusal)
        log.info("%s webhook refused (%s): %s", provider, exc.status, exc.message)
        return jsonify(error=exc.message), exc.status, exc.headers
    assert svc.ingest is not None
    result = svc.ingest(batch.events)  # one group commit with concurrent requests'
    metrics.count_webhook(provider, batch, result, perf_counter() - started)
    log.info(
        "%s webhook: %d notifications, %d stored, %d duplicates, %d ignored%s",
        provider,
        batch.received,
        result.stored,
        result.duplicates,
        batch.ignored,
        f" ({_counts(batch.ignored_types)})" if batch.ignored_types else "",
        extra=_ids(batch, result),
    )
    for problem in batch.problems:
        log.warning("%s webhook: skipped %s", provider, problem)
    return jsonify(
        received=batch.received,
        stored=result.stored,
        duplicates=result.duplicates,
        ignored=batch.ignored,
        ignored_types=batch.ignored_types,
        invalid=batch.invalid,
        problems=batch.problems[:MAX_PROBLEMS_LISTED],  # the log line has them all
        event_ids=list(result.ids),
    )


def _ids(batch: ParsedBatch, result: AddResult) -> dict[str, object]:
    """The log line's ids: the deals the batch names (``deal_id`` too when it is one deal) and
    the events stored, so one deal can be followed from its webhook to the worker's lines."""
    deals = list(dict.fromkeys(e.deal_id for e in batch.events))[:MAX_IDS_LOGGED]
    ids: dict[str, object] = {"deal_ids": deals, "event_ids": list(result.ids)}
    if len(deals) == 1:
        ids["deal_id"] = deals[0]
    return ids


def _counts(by_type: Mapping[str, int]) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in sorted(by_type.items()))
