"""Group commit: concurrent webhooks' events committed together, one transaction at a time
per process.

A webhook is answered only after its events are committed, and a commit costs a disk flush
(SQLite's WAL with ``synchronous=FULL``; PostgreSQL's WAL). So the request threads of a
process take turns *leading*: a thread that finds no leader becomes it and commits, in one
transaction (:meth:`~middleware.store.intake.EventIntake.add_event_groups`), its own events
and those of every request that queued meanwhile, wakes each with its own result, then hands
the lead to the first request still waiting (which does the same) and answers its own. Under
load one flush serves many requests; alone, a request commits in its own thread with no
hand-off at all (a writer thread of its own cost a thread switch each way, measured in
BENCHMARKS.md). On SQLite it also means one writer per process asks for the write lock instead
of one per request thread. Each request thread makes its own rows' values
(:meth:`~middleware.store.intake.EventIntake.prepare_events`) before it queues, so the leader,
whose transaction holds the write lock, only binds and commits them.

A failure of the whole group that the store recognises (locked, full, read-only, down) is each
request's answer (503). Any other failure is retried request by request, so one request's
problem never becomes another's. The queue belongs to the process that made it: a forked
child starts with an empty one.
"""

from __future__ import annotations

import collections
import logging
import os
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
    __slots__ = ("done", "error", "events", "leads", "result")

    def __init__(self, events: Sequence[NewEvent]) -> None:
        self.events = events
        # Held until the request has its answer or the lead: the cheapest one-shot signal.
        self.done = threading.Lock()
        self.done.acquire()
        self.leads = False
        self.result: AddResult | None = None
        self.error: BaseException | None = None

    def answer(self) -> AddResult:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class GroupCommit:
    """``add_events`` with the store's meaning, committed in groups (module docstring)."""

    def __init__(self, store: EventIntake, *, max_group_events: int = MAX_GROUP_EVENTS) -> None:
        self.store = store
        self.max_group_events = max_group_events
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._mutex = threading.Lock()
        self._waiting: collections.deque[_Request] = collections.deque()
        self._led = False  # a thread of this process is committing

    def add_events(self, new: Sequence[NewEvent]) -> AddResult:
        if not new:
            return AddResult(0, 0)
        if self._pid != os.getpid():
            self._start()  # forked: the parent's queue and leader are not this process's
        prepare = getattr(self.store, "prepare_events", None)
        request = _Request(prepare(new) if prepare else new)  # per-event work: this thread's
        with self._mutex:
            self._waiting.append(request)
            request.leads = not self._led
            self._led = True
        if not request.leads:
            request.done.acquire()  # answered by a leader, or made the leader
            if not request.leads:
                return request.answer()
        try:
            self._commit(self._next_group())
        finally:
            self._pass_the_lead()
        return request.answer()

    def _next_group(self) -> list[_Request]:
        """The waiting requests, oldest first (the leader's own among them), up to
        ``max_group_events`` events."""
        with self._mutex:
            group = [self._waiting.popleft()]
            count = len(group[0].events)
            while self._waiting and count < self.max_group_events:
                group.append(self._waiting.popleft())
                count += len(group[-1].events)
        return group

    def _pass_the_lead(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting[0].leads = True
                self._waiting[0].done.release()
            else:
                self._led = False

    def _commit(self, group: list[_Request]) -> None:
        try:
            results = self.store.add_event_groups([r.events for r in group])
        except StoreUnavailable as exc:
            for request in group:  # each its own error: they are raised in separate threads
                self._answer(request, error=unavailable(exc.reason, exc.detail))
            return
        except Exception as exc:  # noqa: BLE001 - isolated below, raised in the request
            if len(group) > 1:
                log.warning("group commit failed (%s): committing one by one", type(exc).__name__)
                for request in group:
                    self._commit([request])
                return
            self._answer(group[0], error=exc)
            return
        except BaseException as exc:  # the leader is interrupted: no one may wait forever
            for request in group:
                if request.result is None and request.error is None:
                    self._answer(request, error=exc)
            raise
        for request, result in zip(group, results, strict=True):
            self._answer(request, result=result)

    @staticmethod
    def _answer(
        request: _Request, *, result: AddResult | None = None, error: BaseException | None = None
    ) -> None:
        request.result, request.error = result, error
        if not request.leads:  # the leader is awake already: it reads its answer itself
            request.done.release()
