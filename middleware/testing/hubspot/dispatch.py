"""Answering one request: delays, faults, wire faults, authentication, routing, logging, rate
headers.

Called from the server's handler threads through :meth:`Dispatch._handle`; the routes are the
emulator's ``_routes`` table (method, path regex, handler).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from typing import Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from middleware.testing.hubspot.limits import fault_response, rate_limit_headers
from middleware.testing.hubspot.state import EmulatorState
from middleware.testing.hubspot.wire import (
    AUTH_ERROR_MESSAGE,
    ApiError,
    Request,
    Response,
    correlation_id,
    parse_json_or_none,
)


class _Injection(Protocol):
    """What a fault and a delay share: which requests they hit, and how many more times."""

    method: str
    path: re.Pattern[str]
    remaining: int


_InjectionT = TypeVar("_InjectionT", bound=_Injection)


class Dispatch(EmulatorState):
    """Request dispatch (called from the server's handler threads)."""

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], raw_body: bytes
    ) -> Response:
        """Answer one request (``headers`` with lower-cased names); logs it in :attr:`requests`."""
        split = urlsplit(target)
        path = unquote(split.path)
        request = Request(
            method, path, parse_qs(split.query, keep_blank_values=True), headers, raw_body
        )
        authorization_ok = self._authorized(headers.get("authorization"))

        # Delays first, outside the lock, so other requests carry on meanwhile.
        delay = self._take(self._delays, method, path)
        if delay is not None:
            self._stopping.wait(delay.seconds)

        with self._lock:
            fault = self._take(self._faults, method, path)
            wire = None if fault is not None else self._take(self._wire_faults, method, path)
            if fault is not None:
                response = fault_response(fault)
            elif wire is not None and not wire.after_processing:
                response = wire.apply(Response(502, None))
            elif not authorization_ok:
                error = ApiError(401, AUTH_ERROR_MESSAGE, "INVALID_AUTHENTICATION")
                response = Response(error.status, error.body)
            else:
                try:
                    response = self._route(request)
                except ApiError as exc:
                    response = Response(exc.status, exc.body)
                except Exception as exc:  # a bug in the emulator: say so instead of hanging up
                    traceback.print_exc()
                    error = ApiError(500, f"HubSpotEmulator bug: {exc!r}", "EMULATOR_ERROR")
                    response = Response(error.status, error.body)
            body_id = (
                response.body.get("correlationId") if isinstance(response.body, dict) else None
            )
            response.headers = {
                "X-HubSpot-Correlation-Id": body_id or correlation_id(),
                **rate_limit_headers(self._recent_requests),
                **response.headers,
            }
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "query": {name: ",".join(values) for name, values in request.query.items()},
                    "body": parse_json_or_none(raw_body),
                    "status": response.status,
                    "authorization_ok": authorization_ok,
                    **({"wire_fault": True} if wire is not None else {}),
                }
            )
            if wire is not None and wire.after_processing:
                response = wire.apply(response)
            return response

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.access_token

    def _take(self, entries: list[_InjectionT], method: str, path: str) -> _InjectionT | None:
        """Consume one use of the first fault/delay matching this request, if any."""
        with self._lock:
            for entry in entries:
                if entry.method in ("*", method.upper()) and entry.path.search(path):
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        entries.remove(entry)
                    return entry
        return None

    def _route(self, request: Request) -> Response:
        allowed: list[str] = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            return handler(request, **match.groupdict())
        if allowed:
            raise ApiError(
                405,
                f"HTTP method {request.method} is not supported by this URL",
                "METHOD_NOT_ALLOWED",
                context={"allowed": allowed},
            )
        raise ApiError(404, f"No route for {request.method} {request.path}", "OBJECT_NOT_FOUND")
