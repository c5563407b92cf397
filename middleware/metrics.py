"""The service's Prometheus metrics: each declared once here, instrumented at the seams.

Counters and histograms live in the process that does the work: the ``web`` process counts
webhooks, the ``worker`` counts processing, lifecycle actions, retries and every call to Google
and the CRMs. The gauges read from the store at scrape time (events by status, backlog age,
parked events) are in ``web/metrics.py``, served by the web process only.

How each process exposes them (multiprocess mode under gunicorn, the worker's own port) is in
``metrics_export.py``.

Labels are low-cardinality on purpose: provider, operation, outcome, status, reason codes (the
``Reason`` enum), lifecycle actions. Never a deal id, an email or anything from a payload that
is not bounded (an ignored notification type passes :class:`BoundedLabel`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, wraps
from time import perf_counter
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram

F = TypeVar("F", bound=Callable[..., Any])
#: Remote calls: from a fast local answer to the 20-30 s timeouts.
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: One event: a handful of remote calls, or a Meet conference polled for ~15 s.
EVENT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
#: A webhook: verify and one commit; HubSpot gives up after 5 s.
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# ---- web: webhooks ---------------------------------------------------------------------------
WEBHOOK_NOTIFICATIONS = Counter(
    "middleware_webhook_notifications_total",
    "Notifications received in authentic webhooks, by what became of each "
    "(stored, duplicate, ignored, invalid)",
    ["provider", "outcome"],
)
WEBHOOK_IGNORED = Counter(
    "middleware_webhook_ignored_total",
    "Notifications acknowledged but not acted on, by their type",
    ["provider", "type"],
)
WEBHOOK_REFUSED = Counter(
    "middleware_webhook_refused_total",
    "Webhook requests refused, by reason (unauthorized, bad_body, too_large, disabled, "
    "unknown_host)",
    ["provider", "reason"],
)
WEBHOOK_SECONDS = Histogram(
    "middleware_webhook_seconds",
    "Time to verify, parse and durably store one accepted webhook request",
    ["provider"],
    buckets=WEBHOOK_BUCKETS,
)

# ---- worker: events ------------------------------------------------------------------------
EVENTS_PROCESSED = Counter(
    "middleware_events_processed_total",
    "Attempts finished, by the status they left the event in (succeeded, skipped, retrying, "
    "parked, failed; error when the outcome could not be recorded)",
    ["provider", "status"],
)
PROCESSING_SECONDS = Histogram(
    "middleware_event_processing_seconds",
    "Time to process one claimed event, by the status it ended in",
    ["provider", "status"],
    buckets=EVENT_BUCKETS,
)
LIFECYCLE_ACTIONS = Counter(
    "middleware_lifecycle_actions_total",
    "What was done to deals' meetings, counted when Google's side is done and recorded "
    "(booked, moved, updated, cancelled, restored, recreated, reassigned, unchanged)",
    ["provider", "action"],
)
RETRIES = Counter(
    "middleware_event_retries_total",
    "Events sent back to wait (retrying, parked ones included), by reason code",
    ["provider", "reason"],
)
FAILURES = Counter(
    "middleware_event_failures_total",
    "Events that ended failed, by reason code",
    ["provider", "reason"],
)
SKIPS = Counter(
    "middleware_event_skips_total",
    "Events that ended skipped, by reason code",
    ["provider", "reason"],
)

# ---- worker: remote calls -----------------------------------------------------------------
GOOGLE_CALLS = Counter(
    "middleware_google_calls_total",
    "Google Calendar API requests, by operation and outcome (ok, or the reason code)",
    ["operation", "outcome"],
)
GOOGLE_SECONDS = Histogram(
    "middleware_google_call_seconds",
    "Google Calendar API request latency",
    ["operation"],
    buckets=CALL_BUCKETS,
)
TOKEN_FETCHES = Counter(
    "middleware_google_token_fetches_total",
    "Access tokens minted for a rep (domain-wide delegation), by outcome",
    ["outcome"],
)
CRM_CALLS = Counter(
    "middleware_crm_calls_total",
    "CRM API requests, by provider, operation (method and path template) and outcome "
    "(ok, a passed-through status such as 404, or the reason code)",
    ["provider", "operation", "outcome"],
)
CRM_SECONDS = Histogram(
    "middleware_crm_call_seconds",
    "CRM API request latency",
    ["provider", "operation"],
    buckets=CALL_BUCKETS,
)


@lru_cache(maxsize=1)
def worker_gauges() -> tuple[Gauge, Gauge]:
    """``(running events, concurrency)`` of the worker process (made on first use, so the web
    process never exports them)."""
    return (
        Gauge("middleware_worker_running_events", "Events this worker is processing now"),
        Gauge("middleware_worker_concurrency", "Events this worker may process at once"),
    )


# ---- labels --------------------------------------------------------------------------------


class BoundedLabel:
    """A label value from outside (a notification type): a tidy word, at most ``limit`` distinct
    values per process, everything past that is ``other``."""

    _WORD = re.compile(r"[A-Za-z0-9_.:/-]{1,80}")

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if not self._WORD.fullmatch(value):
            return "other"
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self.limit:
                return "other"
            self._seen.add(value)
            return value


_ignored_type = BoundedLabel()
_VERSION = re.compile(r"v\d+|\d{4}-\d{2}")


def operation(method: str, path: str) -> str:
    """``GET /crm/v3/objects/deals/{id}``: the path with every id-like segment replaced."""
    parts = []
    for segment in path.split("?", 1)[0].split("/"):
        if segment and not _VERSION.fullmatch(segment) and re.search(r"[\d%@]", segment):
            segment = "{id}"
        parts.append(segment)
    return f"{method.upper()} {'/'.join(parts)}"


def outcome_of(exc: BaseException) -> str:
    """The label of a failure: the project error's reason code, else ``error``."""
    reason = getattr(exc, "reason", None)
    return str(reason) if reason is not None else "error"


# ---- web -----------------------------------------------------------------------------------


def count_webhook(provider: str, batch: Any, result: Any, seconds: float) -> None:
    """An accepted webhook request: its ``ParsedBatch`` and the store's ``AddResult``."""
    counts = {
        "stored": result.stored,
        "duplicate": result.duplicates,
        "ignored": batch.ignored,
        "invalid": batch.invalid,
    }
    for outcome, n in counts.items():
        if n:
            WEBHOOK_NOTIFICATIONS.labels(provider, outcome).inc(n)
    for kind, n in batch.ignored_types.items():
        WEBHOOK_IGNORED.labels(provider, _ignored_type(str(kind))).inc(n)
    WEBHOOK_SECONDS.labels(provider).observe(seconds)


def count_refusal(provider: str, reason: str) -> None:
    WEBHOOK_REFUSED.labels(provider, reason).inc()


# ---- worker --------------------------------------------------------------------------------


def count_action(provider: str, action: str) -> None:
    """A lifecycle action done (the attempt may still retry, e.g. on a failed write-back)."""
    LIFECYCLE_ACTIONS.labels(provider, action).inc()


def observe_processing(run: F) -> F:
    """Decorate ``Pipeline.run(self, claim) -> Outcome``: count and time each outcome."""

    @wraps(run)
    def wrapper(self: Any, claim: Any, *args: Any, **kwargs: Any) -> Any:
        started = perf_counter()
        try:
            outcome = run(self, claim, *args, **kwargs)
        except Exception:
            EVENTS_PROCESSED.labels(claim.provider, "error").inc()
            raise
        status = "parked" if outcome.parked else outcome.status
        provider = claim.provider
        EVENTS_PROCESSED.labels(provider, status).inc()
        PROCESSING_SECONDS.labels(provider, status).observe(perf_counter() - started)
        by_status = {"retrying": RETRIES, "parked": RETRIES, "failed": FAILURES, "skipped": SKIPS}
        if outcome.reason and status in by_status:
            by_status[status].labels(provider, str(outcome.reason)).inc()
        return outcome

    return wrapper  # type: ignore[return-value]


def google_call(execute: F) -> F:
    """Decorate ``Client.execute(self, request, call, op, …)``: count and time the request."""

    @wraps(execute)
    def wrapper(self: Any, request: Any, call: Any, op: str, *args: Any, **kwargs: Any) -> Any:
        started = perf_counter()
        outcome = "error"
        try:
            result = execute(self, request, call, op, *args, **kwargs)
            outcome = "ok"
            return result
        except BaseException as exc:
            outcome = outcome_of(exc)
            raise
        finally:
            GOOGLE_CALLS.labels(op, outcome).inc()
            GOOGLE_SECONDS.labels(op).observe(perf_counter() - started)

    return wrapper  # type: ignore[return-value]


def crm_call(provider: str | None = None) -> Callable[[F], F]:
    """Decorate a CRM client's ``_send(self, method, path, …) -> Response``; the provider
    label is ``provider``, else the client's own ``provider`` attribute."""

    def decorate(send: F) -> F:
        @wraps(send)
        def wrapper(self: Any, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            started = perf_counter()
            outcome = "error"
            op = operation(method, path)
            try:
                response = send(self, method, path, *args, **kwargs)
                outcome = "ok" if response.ok else str(response.status_code)
                return response
            except BaseException as exc:
                outcome = outcome_of(exc)
                raise
            finally:
                name = provider or str(getattr(self, "provider", "crm"))
                CRM_CALLS.labels(name, op, outcome).inc()
                CRM_SECONDS.labels(name, op).observe(perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def token_fetch() -> Iterator[None]:
    """Count one token request (its outcome: ok, or the reason of the error it raised)."""
    try:
        yield
    except BaseException as exc:
        TOKEN_FETCHES.labels(outcome_of(exc)).inc()
        raise
    TOKEN_FETCHES.labels("ok").inc()
