"""Group commit: one writer thread per process commits concurrent webhooks' events together.

A webhook is answered only after its events are committed, and a commit costs a disk flush
(SQLite's WAL with ``synchronous=FULL``; PostgreSQL's WAL). Request threads that arrive while
a commit is under way queue up; the writer then stores all of them in one transaction
(:meth:`~middleware.store.intake.EventIntake.add_event_groups`) and wakes each with its own
result. Under load, one flush serves many requests; alone, a request pays what it paid before
plus a thread hand-off. On SQLite it also means one writer per process asks for the database
lock instead of one per request thread. Each request thread makes its own rows' values
(:meth:`~middleware.store.intake.EventIntake.prepare_events`) before it queues, so the writer,
whose transaction holds the write lock, only binds and commits them.

A failure of the whole group that the store recognises (locked, full, read-only, down) is each
request's answer (503). Any other failure is retried request by request, so one request's
problem never becomes another's. The writer starts on first use in each process (so after
gunicorn forks) and is a daemon: the process's graceful shutdown waits for in-flight requests,
which wait for their commit.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence

from middleware.errors import StoreUnavailable
from middleware.model import NewEvent
from middleware.store.faults import unavailable
from middleware.store.intake import EventIntake
from middleware.store.records import AddResult

log = logging.getLogger(__name__)
#: At most this many events in one transaction (a group's commit must stay short).
MAX_GROUP_EVENTS = 5000


class _Request:
    __slots__ = ("done", "error", "events", "result")

    def __init__(self, events: Sequence[NewEvent]) -> None:
        self.events = events
        # Held until the writer has the answer: a plain lock is the cheapest one-shot signal.
        self.done = threading.Lock()
        self.done.acquire()
        self.result: AddResult | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """``add_events`` with the store's meaning, committed in groups by one writer thread."""

    def __init__(self, store: EventIntake, *, max_group_events: int = MAX_GROUP_EVENTS) -> None:
        self.store = store
        self.max_group_events = max_group_events
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._writer: threading.Thread | None = None
        self._pid: int | None = None

    def add_events(self, new: Sequence[NewEvent]) -> AddResult:
        if not new:
            return AddResult(0, 0)
        prepare = getattr(self.store, "prepare_events", None)
        request = _Request(prepare(new) if prepare else new)  # per-event work: this thread's
        self._ensure_writer()
        self._queue.put(request)
        request.done.acquire()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _ensure_writer(self) -> None:
        if self._writer is not None and self._writer.is_alive() and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._writer is None or not self._writer.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._writer = threading.Thread(
                    target=self._run, name="intake-group-commit", daemon=True
                )
                self._writer.start()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            count = len(group[0].events)
            while count < self.max_group_events:
                try:
                    request = self._queue.get_nowait()
                except queue.Empty:
                    break
                group.append(request)
                count += len(request.events)
            self._commit(group)

    def _commit(self, group: list[_Request]) -> None:
        try:
            results = self.store.add_event_groups([r.events for r in group])
        except StoreUnavailable as exc:
            for request in group:  # each its own error: they are raised in separate threads
                request.error = unavailable(exc.reason, exc.detail)
                request.done.release()
            return
        except Exception as exc:  # noqa: BLE001 - isolated below, raised in the request
            if len(group) > 1:
                log.warning("group commit failed (%s): committing one by one", type(exc).__name__)
                for request in group:
                    self._commit([request])
                return
            group[0].error = exc
            group[0].done.release()
            return
        for request, result in zip(group, results, strict=True):
            request.result = result
            request.done.release()
