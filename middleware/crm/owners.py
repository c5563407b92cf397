"""A short-lived cache of owner id → email, shared by a CRM client's threads.

Every booking reads its deal's owner, and a team has a handful of owners who rarely change:
without a cache, one CRM call in five (and a tenth of an event's latency) is the same answer
again. Only answers are cached, never errors (an owner not found is asked again next time),
and each for ``ttl_seconds`` (five minutes by default), so a changed email is seen soon. The
deal's owner *id* is always read fresh from the deal: a reassigned deal is never missed.
One key is loaded by one thread at a time: a burst of events for a rep (32 threads after a
restart) reads the rep's owner once, the others wait for that answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

DEFAULT_TTL_SECONDS = 300.0
MAX_ENTRIES = 10_000


_MISSING = object()


class OwnerCache:
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, str | None]] = {}
        self._loading: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], str | None]) -> str | None:
        """The cached email for ``key``, or ``load()``'s (cached when it returns); while one
        thread loads a key, the others asking for it wait for its answer."""
        hit = self._fresh(key)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            hit = self._fresh(key)  # the thread before us may have loaded it
            if hit is not _MISSING:
                return hit  # type: ignore[return-value]
            value = load()  # raises: nothing cached
            self.put(key, value)
            return value

    def put(self, key: Hashable, value: str | None) -> None:
        """Cache ``value`` for ``key`` for ``ttl_seconds``."""
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
                self._loading.clear()
            self._entries[key] = (self._clock() + self.ttl_seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _fresh(self, key: Hashable) -> object:
        with self._lock:
            hit = self._entries.get(key)
        return hit[1] if hit is not None and hit[0] > self._clock() else _MISSING
