"""The ``worker`` process: claim due events, run the pipeline, keep leases alive, stop cleanly.

* Up to ``WORKER_CONCURRENCY`` events run at once, each in a thread of a pool; the main loop
  claims only as many events as there are free threads, so nothing waits in a local queue.
* A heartbeat thread writes the worker's sign of life every 2 s and renews the leases of
  running events every third of the lease. A worker that dies (SIGKILL, power cut) stops
  both: once it has been silent for 10 s its leases are free and another worker takes its
  events over (``store/queue.py``); a worker that beats keeps its leases however slow its
  events are, up to ``WORKER_LEASE_SECONDS`` past its last renewal (60 s by default: well
  inside the contract's 2 min), which is also the rule for a worker that never beats.
* An attempt may run at most ``WORKER_ATTEMPT_TIMEOUT_SECONDS`` (120 s by default, at least
  twice the longest call deadline of :mod:`middleware.deadlines`). Past that the heartbeat
  stops renewing its lease, so a stuck attempt is taken over like a dead worker's, at most
  that plus one lease after it started. Its thread cannot be killed: when it ends, its
  outcome is refused (the lease is another worker's), and the deal's deterministic Calendar
  event id makes the takeover find, not duplicate, whatever it booked.
* SIGTERM/SIGINT: stop claiming, let running events finish for up to ``grace_seconds``, then
  release whatever is still held so another worker can take it at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from middleware import logs, metrics, metrics_export, wiring
from middleware.database import process_tag
from middleware.pipeline import Pipeline
from middleware.settings import Settings
from middleware.store import Claim, Store
from middleware.store.queue import HEARTBEAT_SECONDS

log = logging.getLogger(__name__)

#: How long a stopping worker waits for its wake-up listener to close its connection (it
#: looks for the stop every ``wakeup.LISTEN_SLICE_SECONDS``).
LISTEN_JOIN_SECONDS = 2.0


@dataclass
class _Attempt:
    """A claim being worked on, since when (monotonic), and whether it overran."""

    claim: Claim
    started: float
    overdue: bool = False


class Worker:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        *,
        concurrency: int = 8,
        lease_seconds: float = 60.0,
        attempt_timeout_seconds: float = 120.0,
        poll_seconds: float = 0.5,
        max_attempts: int = 10,
        grace_seconds: float = 20.0,
        name: str | None = None,
        stopping: threading.Event | None = None,
        wakeups: bool = True,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.attempt_timeout_seconds = attempt_timeout_seconds
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.grace_seconds = grace_seconds
        self.name = name or process_tag()
        self.stopping = stopping or threading.Event()
        self._running: dict[Future[Any], _Attempt] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.wakeups = wakeups
        #: set when there may be work: new events stored (wakeup.py), or a thread came free
        self._wake = threading.Event()

    def stop(self, *_: Any) -> None:
        """Ask the loop to stop (signal-handler compatible)."""
        self.stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Work until :meth:`stop` is called."""
        log.info("worker %s: started, %d at once", self.name, self.concurrency)
        self._beat()  # known alive before its first claim
        heartbeat = threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True)
        heartbeat.start()
        listener = threading.Thread(target=self._listen, name="wake-ups", daemon=True)
        if self.wakeups:
            listener.start()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="event") as pool:
            while not self.stopping.is_set():
                self._wake.clear()  # a wake-up from now on ends the wait below at once
                self._reap()
                free = self.concurrency - len(self._running)
                claims = self._claim(free) if free > 0 else []
                for claim in claims:
                    future = pool.submit(self.pipeline.run, claim)
                    future.add_done_callback(lambda _: self._wake.set())
                    with self._lock:
                        self._running[future] = _Attempt(claim, time.monotonic())
                metrics.worker_gauges()[0].set(len(self._running))
                if not claims:
                    self._wait_for_work()
            self._shutdown()
        if listener.is_alive():  # it sees the stop within a slice and closes its connection
            listener.join(LISTEN_JOIN_SECONDS)
        log.info("worker %s: stopped", self.name)

    def run_until_done(self, timeout: float = 60.0) -> None:
        """Run until no event is pending, retrying or processing (tests and the demo).

        Raises TimeoutError if events are still unfinished after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        thread = threading.Thread(target=self.run, name="worker-loop", daemon=True)
        thread.start()
        try:
            while time.monotonic() < deadline:
                if not self._running and self.store.count_unfinished() == 0:
                    return
                time.sleep(min(self.poll_seconds, 0.05))
            raise TimeoutError("events still unfinished after the timeout")
        finally:
            self.stop()
            thread.join(self.grace_seconds + 5)

    def _claim(self, limit: int) -> list[Claim]:
        try:
            return self.store.claim(
                self.name, limit, self.lease_seconds, max_attempts=self.max_attempts
            )
        except SQLAlchemyError as exc:
            log.error(
                "worker %s: cannot claim events (%s); retrying", self.name, type(exc).__name__
            )
            self.stopping.wait(min(5.0, self.poll_seconds * 10))
            return []

    def _wait_for_work(self) -> None:
        """Until new events are stored, a thread comes free, or ``poll_seconds`` pass (for
        retries coming due, and as the fallback of a lost wake-up)."""
        self._wake.wait(self.poll_seconds)

    def _listen(self) -> None:
        """Turn the store's news of new events into wake-ups of the loop (``wakeup.py``)."""
        waiter = self.store.waiter(self.stopping)
        try:
            while not self.stopping.is_set():
                if waiter.wait(1.0):
                    self._wake.set()
        finally:
            waiter.close()

    def _reap(self) -> None:
        with self._lock:
            done = [f for f in self._running if f.done()]
            for future in done:
                claim = self._running.pop(future).claim
                error = future.exception()
                if error is not None:  # the pipeline records outcomes itself; this is a store fault
                    log.error(
                        "event %s: outcome not recorded (%s); its lease will expire",
                        claim.event_id,
                        type(error).__name__,
                        extra={"event_id": claim.event_id, "deal_id": claim.deal_id},
                    )

    def _heartbeat(self) -> None:
        """Beat every ``HEARTBEAT_SECONDS`` (so a killed worker is known dead within seconds)
        and renew the held leases every third of a lease."""
        renewed = time.monotonic()
        while not self._done.wait(min(HEARTBEAT_SECONDS, self.lease_seconds / 3)):
            self._beat()
            if time.monotonic() - renewed < self.lease_seconds / 3:
                continue
            renewed = time.monotonic()
            held = self._renewable()
            if not held:
                continue
            try:
                lost = self.store.renew(held, self.lease_seconds)
            except SQLAlchemyError as exc:
                log.error("worker %s: cannot renew leases (%s)", self.name, type(exc).__name__)
                continue
            for event_id in lost:
                log.warning(
                    "event %s: lease lost to another worker", event_id, extra={"event_id": event_id}
                )

    def _beat(self) -> None:
        try:
            self.store.beat(self.name)
        except SQLAlchemyError as exc:
            log.error("worker %s: cannot write its heartbeat (%s)", self.name, type(exc).__name__)

    def _renewable(self) -> list[Claim]:
        """The running claims whose attempt is within ``attempt_timeout_seconds``; an attempt
        past it is logged once and its lease left to expire (another worker takes it over)."""
        now = time.monotonic()
        with self._lock:
            attempts = list(self._running.values())
        held: list[Claim] = []
        for attempt in attempts:
            if now - attempt.started <= self.attempt_timeout_seconds:
                held.append(attempt.claim)
            elif not attempt.overdue:
                attempt.overdue = True
                log.warning(
                    "event %s: attempt %s has run for %.0f s, over the %g s maximum "
                    "(WORKER_ATTEMPT_TIMEOUT_SECONDS): its lease is no longer renewed, so "
                    "another worker takes it over once the lease expires",
                    attempt.claim.event_id,
                    attempt.claim.attempt,
                    now - attempt.started,
                    self.attempt_timeout_seconds,
                )
        return held

    def _shutdown(self) -> None:
        running = list(self._running)
        if running:
            log.info("worker %s: finishing %d running events", self.name, len(running))
            wait(running, timeout=self.grace_seconds)
        self._reap()
        with self._lock:
            left = [attempt.claim for attempt in self._running.values()]
        for claim in left:
            with contextlib.suppress(SQLAlchemyError):  # if the store is down, the lease expires
                self.store.release(claim, "worker stopped before this attempt finished")
        self._done.set()
        with contextlib.suppress(SQLAlchemyError):
            self.store.forget_worker(self.name)


def main(settings: Settings) -> None:
    """Entry point of ``middleware worker``: migrate, wire, run until SIGTERM/SIGINT."""
    from middleware.database import make_engine, upgrade_schema

    metrics_export.use_single_process()  # its own /metrics, whatever PROMETHEUS_MULTIPROC_DIR says
    logs.configure(settings, stream=sys.stderr)
    # Handle SIGTERM from the very start: a stop during migration or wiring is a clean exit too.
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    engine = make_engine(settings.database_url, pool_size=settings.worker_concurrency + 2)
    upgrade_schema(engine)
    store = Store(engine)
    pipeline = wiring.pipeline(settings, store)
    for reason in wiring.not_configured_messages(pipeline.crms, pipeline.calendar).values():
        log.warning("%s", reason)
    metrics_export.serve_worker_metrics(settings.metrics_port, settings.worker_concurrency)
    worker = Worker(
        store,
        pipeline,
        concurrency=settings.worker_concurrency,
        lease_seconds=settings.worker_lease_seconds,
        attempt_timeout_seconds=settings.worker_attempt_timeout_seconds,
        poll_seconds=settings.worker_poll_seconds,
        max_attempts=settings.rules.retry.max_attempts,
        stopping=stopping,
    )
    worker.run()
    engine.dispose()
