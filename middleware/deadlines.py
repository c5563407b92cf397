"""Total deadlines for outbound HTTP calls: connect, send and the whole answer, not per read.

A socket timeout bounds each read, so a server that trickles one byte every few seconds never
trips it and the call never ends. Every call to HubSpot, Pipedrive and Google runs under a
:class:`Watch`: when the call outlives its deadline, a watchdog thread shuts its sockets down
(``shutdown(2)`` wakes a ``recv`` blocked in another thread at once), and the caller raises
its timeout error (``crm_timeout`` / ``google_timeout``, both retryable). The watchdog keeps
shutting down the call's sockets until the call returns, so a library that reconnects and
retries on its own (httplib2 does, once) cannot start the wait over.

The HTTP libraries only have to say which connections a call uses: ``requests`` through the
connection pools of :mod:`middleware.crm.http` (:func:`track`), httplib2 through the
connections of the call's own ``Http`` (:mod:`middleware.google.transport`).

Nothing starts at import: the watchdog thread starts with the first watch (and again in a
forked child).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CRM_TIMEOUTS",
    "GOOGLE_TIMEOUTS",
    "LONGEST_CALL_SECONDS",
    "DeadlineExceeded",
    "Timeouts",
    "Watch",
    "track",
]

#: After a watch fired, its call's sockets are shut down again this often until it returns.
REFIRE_SECONDS = 0.05


@dataclass(frozen=True)
class Timeouts:
    """The time limits of one HTTP call, in seconds.

    ``connect``: to open the connection; ``read``: the longest silence while waiting for the
    answer; ``total``: the whole call (connect + send + the whole answer), however the answer
    trickles in.
    """

    connect: float
    read: float
    total: float

    def __post_init__(self) -> None:
        if min(self.connect, self.read, self.total) <= 0:
            raise ValueError("timeouts must be positive")

    def describe(self) -> str:
        """For error messages: ``deadline 30 s (connect 5 s, read 20 s)``."""
        return f"deadline {self.total:g} s (connect {self.connect:g} s, read {self.read:g} s)"


#: Every CRM API call (HubSpot, Pipedrive): they answer in well under a second; 20 s of
#: silence or 30 s in all means a stuck connection, and the event is retried.
CRM_TIMEOUTS = Timeouts(connect=5.0, read=20.0, total=30.0)
#: Every Google call (token endpoint and Calendar). httplib2 has one socket timeout, ``read``,
#: which also bounds connecting; Google's own clients wait up to 60 s for a read.
GOOGLE_TIMEOUTS = Timeouts(connect=30.0, read=30.0, total=45.0)
#: The longest any single outbound call may take (the attempt maximum is at least twice it).
LONGEST_CALL_SECONDS = max(CRM_TIMEOUTS.total, GOOGLE_TIMEOUTS.total)


class DeadlineExceeded(TimeoutError):
    """A call outlived its total deadline (its sockets were shut down)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the call did not finish within its {seconds:g} s deadline")
        self.seconds = seconds


_current = threading.local()


def track(connection: Any) -> None:
    """Put ``connection`` (an ``http.client.HTTPConnection``: anything with a ``sock``) under
    the current thread's watch, if a call is being watched: its socket now, and whatever
    socket it holds when the deadline passes, are shut down if the call runs late.

    Call it when a connection is handed to a call and again right after it connects: an
    ``http.client`` connection drops its ``sock`` once an answer says ``Connection: close``,
    while the answer is still read from that socket.
    """
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.track(connection)


class Watch:
    """One call's deadline, as a context manager around the call (thread-local nesting).

    ``sockets``, when given, lists the call's sockets at the moment the deadline passes
    (httplib2's connections); connections passed to :meth:`track` (or :func:`track`) are
    watched too: the socket each holds when tracked, and the one it holds then.
    After the block, :attr:`expired` says whether the deadline passed: the caller then
    treats the call as timed out, whatever it returned (a cut answer may look complete).
    """

    def __init__(self, seconds: float, sockets: Callable[[], Iterable[Any]] | None = None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._sockets = sockets
        self._connections: list[Any] = []
        self._seen: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False
        self._outer: Watch | None = None

    def track(self, connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        with self._lock:
            self._connections.append(connection)
            if isinstance(sock, socket.socket):
                self._seen.append(sock)

    def __enter__(self) -> Watch:
        self._outer = getattr(_current, "watch", None)
        _current.watch = self
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:  # after this, the watchdog never touches this call's sockets again
            self._done = True
            # The watchdog keeps a finished watch until its deadline: let go of the
            # connections now, so their sockets close when the library drops them.
            self._connections, self._seen, self._sockets = [], [], None
        _current.watch = self._outer

    @property
    def done(self) -> bool:
        return self._done

    def fire(self) -> bool:
        """Shut the call's sockets down (the deadline passed). False once the call is over."""
        with self._lock:
            if self._done:
                return False
            self.expired = True
            for sock in self._current_sockets():
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return True

    def _current_sockets(self) -> list[Any]:
        found = [*self._seen, *(getattr(c, "sock", None) for c in self._connections)]
        if self._sockets is not None:
            # RuntimeError: the library changed its dict meanwhile; the next round sees it.
            with contextlib.suppress(RuntimeError):
                found += list(self._sockets())
        return [s for s in found if isinstance(s, socket.socket)]


class _Watchdog:
    """One daemon thread per process firing the watches whose deadline passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._pid: int | None = None

    def reset_in_child(self) -> None:
        """After ``fork()``: the parent's thread (and maybe its lock) did not come along."""
        self._heap = []
        self._wake = threading.Condition()
        self._pid = None

    def add(self, watch: Watch) -> None:
        with self._wake:
            if self._pid != os.getpid():  # first use (or first in a forked child)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="call-deadlines", daemon=True).start()
            while self._heap and self._heap[0][2].done:  # finished calls leave as they come
                heapq.heappop(self._heap)
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (watch.deadline, next(self._order), watch))
            # Woken only when this deadline comes first: calls share one timeout, so a new
            # one usually ends last, and waking the thread for it would cost every call.
            if earliest is None or watch.deadline < earliest:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _, watch = self._heap[0]
                if watch.done:
                    heapq.heappop(self._heap)
                    continue
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if watch.fire():
                with self._wake:
                    again = time.monotonic() + REFIRE_SECONDS
                    heapq.heappush(self._heap, (again, next(self._order), watch))


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.reset_in_child)
