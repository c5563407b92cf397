"""Injected faults and delays, HubSpot's default error bodies and its rate-limit headers.

Pure parts of the HubSpot emulator's fault injection: what a fault or delay is, the body and
headers HubSpot sends with an injected status (crm-webhooks-and-apis.md §1.7 "Rate limits";
hubspot-2026-and-calendar-lifecycle.md §A3) and the burst-limit headers of every answer.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus

from middleware.testing.delivery import Delivery
from middleware.testing.hubspot.wire import JsonDict, Response, correlation_id

# Private-app burst limit advertised in the X-HubSpot-RateLimit-* headers (Pro/Enterprise:
# 190 per 10 s). The emulator only reports it; it never enforces it (use inject_fault for 429s).
RATE_LIMIT_MAX = 190
RATE_LIMIT_INTERVAL_MS = 10_000
# Daily limit of a Free/Starter private app (crm-webhooks-and-apis.md §1.7 "Rate limits").
RATE_LIMIT_DAILY = 250_000


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: JsonDict | None
    remaining: int


@dataclass
class Delay:
    method: str
    path: re.Pattern[str]
    seconds: float
    remaining: int


#: What a proxy in front of HubSpot answers when HubSpot is away (not HubSpot's JSON).
GARBAGE_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"


@dataclass
class WireFault:
    """A trickled or reset answer (``delivery``), or one replaced by ``garbage``; carried out
    first when ``after_processing``."""

    method: str
    path: re.Pattern[str]
    remaining: int
    after_processing: bool
    delivery: Delivery | None = None
    garbage: Response | None = None

    def apply(self, response: Response) -> Response:
        """``response`` as this fault sends it."""
        if self.garbage is not None:
            garbage = self.garbage
            return Response(garbage.status, None, dict(garbage.headers), raw=garbage.raw)
        return Response(
            response.status, response.body, response.headers, response.raw, self.delivery
        )


def default_fault_body(status: int) -> JsonDict:
    """HubSpot's error body for an injected status."""
    if status == 429:
        return {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": "TEN_SECONDLY_ROLLING",
        }
    if status >= 500:
        return {
            "status": "error",
            "message": "internal error",
            "correlationId": correlation_id(),
            "category": "INTERNAL_ERROR",
        }
    if status == 477:  # not in http.HTTPStatus; the docs' name for it
        return {
            "status": "error",
            "message": "Migration in progress",
            "correlationId": correlation_id(),
            "category": "MIGRATION_IN_PROGRESS",
        }
    categories = {
        400: "VALIDATION_ERROR",
        401: "INVALID_AUTHENTICATION",
        403: "MISSING_SCOPES",
        404: "OBJECT_NOT_FOUND",
        409: "CONFLICT",
    }
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return {
        "status": "error",
        "message": phrase,
        "correlationId": correlation_id(),
        "category": categories.get(status, "ERROR"),
    }


def fault_response(fault: Fault) -> Response:
    """The answer to a request an injected fault hit: its status, headers and body."""
    headers: dict[str, str] = {}
    if fault.status == 429:
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(RATE_LIMIT_INTERVAL_MS),
            "X-HubSpot-RateLimit-Max": str(RATE_LIMIT_MAX),
            "X-HubSpot-RateLimit-Remaining": "0",
        }
    headers.update(fault.headers)
    if fault.status in (204, 304):  # HTTP allows no body on these
        return Response(fault.status, None, headers)
    body = fault.body if fault.body is not None else default_fault_body(fault.status)
    return Response(fault.status, body, headers)


def rate_limit_headers(window: deque[float]) -> dict[str, str]:
    """HubSpot's burst-limit headers, counted over a rolling 10 s window (never enforced).

    ``window`` holds the monotonic times of recent requests; this one is added to it.
    """
    now = time.monotonic()
    window.append(now)
    while window and window[0] < now - RATE_LIMIT_INTERVAL_MS / 1000:
        window.popleft()
    return {
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(RATE_LIMIT_INTERVAL_MS),
        "X-HubSpot-RateLimit-Max": str(RATE_LIMIT_MAX),
        "X-HubSpot-RateLimit-Remaining": str(max(0, RATE_LIMIT_MAX - len(window))),
    }
