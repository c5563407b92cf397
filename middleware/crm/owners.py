"""A short-lived cache of owner id → email, shared by a CRM client's threads.

Every booking reads its deal's owner, and a team has a handful of owners who rarely change:
without a cache, one CRM call in five (and a tenth of an event's latency) is the same answer
again. Only answers are cached, never errors (an owner not found is asked again next time),
and each for ``ttl_seconds`` (five minutes by default), so a changed email is seen soon. The
deal's owner *id* is always read fresh from the deal: a reassigned deal is never missed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

DEFAULT_TTL_SECONDS = 300.0
MAX_ENTRIES = 10_000


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
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], str | None]) -> str | None:
        """The cached email for ``key``, or ``load()``'s (cached when it returns)."""
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()  # raises: nothing cached
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + self.ttl_seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
