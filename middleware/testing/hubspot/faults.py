"""Fault injection on the HubSpot emulator: injected statuses and delays, wire faults (trickled
answers, reset connections, answers that are not JSON), HubSpot's own 423, 477 and 429 answers,
and account validation rules that refuse deal PATCHes.

The answers' bodies and headers are in :mod:`middleware.testing.hubspot.limits`; the facts
come from hubspot-2026-and-calendar-lifecycle.md §A3 and crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from middleware.testing.delivery import Delivery
from middleware.testing.hubspot.limits import (
    GARBAGE_PAGE,
    RATE_LIMIT_DAILY,
    RATE_LIMIT_MAX,
    Delay,
    Fault,
    WireFault,
)
from middleware.testing.hubspot.state import EmulatorState
from middleware.testing.hubspot.wire import Response, correlation_id


class FaultInjection(EmulatorState):
    """``inject_*``, ``answer_*`` and the validation rules; each fault is used up as it fires."""

    def inject_fault(
        self,
        method: str,
        path: str,
        status: int,
        *,
        headers: dict | None = None,
        body: dict | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and leave state alone.

        A request matches when its method equals ``method`` (case-insensitive; ``"*"`` matches
        any) and ``re.search(path, request_path)`` finds the regex in its path (query string
        excluded; anchor with ``^...$`` for an exact path). Faults fire before authentication.
        Without ``body``, 429 and 5xx answer HubSpot's own error bodies. A 429 carries
        ``X-HubSpot-RateLimit-*`` headers but no ``Retry-After`` unless ``headers`` adds one.
        """
        fault = Fault(method.upper(), re.compile(path), status, dict(headers or {}), body, times)
        with self._lock:
            self._faults.append(fault)

    def inject_delay(self, method: str, path: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` matching requests for ``seconds`` before answering them.

        Matching is as in :meth:`inject_fault`. A delayed request is still carried out after
        the delay, even if the client gave up meanwhile, which is what HubSpot does too.
        """
        delay = Delay(method.upper(), re.compile(path), seconds, times)
        with self._lock:
            self._delays.append(delay)

    def inject_trickle(
        self,
        method: str,
        path: str,
        *,
        byte_seconds: float,
        body_only: bool = False,
        times: int = 1,
    ) -> None:
        """Carry out the next ``times`` matching requests, then send each answer one byte at a
        time, ``byte_seconds`` before each (only the body with ``body_only``): no read of a
        client ever waits long, so only a total deadline ends the call. Matching is as in
        :meth:`inject_fault`."""
        delivery = Delivery(byte_seconds=byte_seconds, body_only=body_only)
        self._add_wire(WireFault(method.upper(), re.compile(path), times, True, delivery))

    def inject_reset(
        self, method: str, path: str, *, after_processing: bool = False, times: int = 1
    ) -> None:
        """Reset the connection (TCP RST) of the next ``times`` matching requests instead of
        answering: before carrying them out, or ``after_processing`` (the answer is lost)."""
        delivery = Delivery(reset=True)
        self._add_wire(
            WireFault(method.upper(), re.compile(path), times, after_processing, delivery)
        )

    def inject_garbage(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        body: bytes = GARBAGE_PAGE,
        content_type: str = "text/html",
        after_processing: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and ``body``, which is
        not HubSpot's JSON (a proxy's page), before carrying them out or
        ``after_processing``."""
        garbage = Response(status, None, {"Content-Type": content_type}, raw=body)
        self._add_wire(
            WireFault(method.upper(), re.compile(path), times, after_processing, garbage=garbage)
        )

    def _add_wire(self, fault: WireFault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._wire_faults.append(fault)

    # ---- HubSpot's own error answers (hubspot-2026-and-calendar-lifecycle.md §A3) ------------

    def answer_locked(self, method: str, path: str, *, times: int = 1) -> None:
        """Answer ``423 Locked``: HubSpot's "syncing a large volume quickly" answer; "locks will
        last for 2 seconds" (error-handling docs). Its body is not documented: the standard
        error envelope is sent."""
        self.inject_fault(method, path, 423, times=times)

    def answer_migrating(
        self, method: str, path: str, *, retry_after_seconds: int, times: int = 1
    ) -> None:
        """Answer ``477 Migration in Progress`` with ``Retry-After`` in seconds ("typically up
        to 24 hours", error-handling docs): the account moves between data-hosting locations."""
        self.inject_fault(
            method, path, 477, headers={"Retry-After": str(retry_after_seconds)}, times=times
        )

    def answer_daily_limit(self, method: str, path: str, *, times: int = 1) -> None:
        """Answer the ``DAILY`` 429: body quoted from HubSpot's usage-details page, with the
        ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining: 0`` headers (crm-webhooks-and-apis.md
        §1.7). The burst window still has calls left."""
        body = {
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": "DAILY",
            "groupName": "api-calls-daily",
        }
        headers = {
            "X-HubSpot-RateLimit-Daily": str(RATE_LIMIT_DAILY),
            "X-HubSpot-RateLimit-Daily-Remaining": "0",
            "X-HubSpot-RateLimit-Remaining": str(RATE_LIMIT_MAX - 1),
        }
        self.inject_fault(method, path, 429, headers=headers, body=body, times=times)

    def answer_ten_secondly_limit(
        self, method: str, path: str, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the burst 429 (``policyName: TEN_SECONDLY_ROLLING``, the constant in HubSpot's
        Node SDK), ``X-HubSpot-RateLimit-Remaining: 0``; ``Retry-After`` only when given (it is
        not documented on 429)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.inject_fault(method, path, 429, headers=headers, times=times)

    def add_validation_rule(self, message: str, *, deal_ids: Iterable[str] | None = None) -> None:
        """From now on a deal PATCH (of ``deal_ids``, or of any deal) is refused with 400
        ``VALIDATION_ERROR`` and ``message``, as HubSpot enforces the account's validation rules
        on API writes from version 2026-09 (changelog crm-api-write-validation-enforcement;
        see :attr:`validation_rules_apply_to_v3`)."""
        ids = None if deal_ids is None else frozenset(str(d) for d in deal_ids)
        with self._lock:
            self._validation_rules.append((message, ids))

    def clear_validation_rules(self) -> None:
        with self._lock:
            self._validation_rules.clear()
