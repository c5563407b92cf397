"""Google's per-user Calendar rate quota, enforced by the emulator when a test asks for it.

Google answers a user's requests past their per-minute quota with 403 ``rateLimitExceeded``
(domain ``usageLimits``). :meth:`QuotaLimits.limit_rate` turns that on: every authenticated
Calendar request counts for its subject in a sliding window of 60 seconds; the refusals are
counted in :attr:`QuotaLimits.rate_refusals`.
"""

from __future__ import annotations

import collections
import threading
import time

from middleware.testing.google.responses import ApiError


class QuotaLimits:
    """A mixin of the emulator (no state until :meth:`limit_rate` is called)."""

    _per_user_per_minute: int | None = None
    _per_window: float | None = None
    _window = 60.0
    rate_refusals = 0

    def limit_rate(self, per_user_per_minute: int | None, *, window_seconds: float = 60.0) -> None:
        """Refuse a user's requests past ``per_user_per_minute`` in any 60 s (None: no limit).

        ``window_seconds`` shrinks the window (and the count with it) so a test of a pace runs
        in seconds: ``limit_rate(300, window_seconds=1)`` allows 5 requests in any second."""
        self._window = window_seconds
        self._per_window = (
            None if per_user_per_minute is None else per_user_per_minute * window_seconds / 60.0
        )
        self._rate_lock = threading.Lock()
        self._seen: dict[str, collections.deque[float]] = {}
        self.rate_refusals = 0
        self._per_user_per_minute = per_user_per_minute

    def _count_request(self, subject: str) -> None:
        """Count one request of ``subject``; raise Google's 403 past the quota."""
        limit = self._per_window
        if limit is None:
            return
        with self._rate_lock:
            now = time.monotonic()
            seen = self._seen.setdefault(subject.lower(), collections.deque())
            while seen and seen[0] <= now - self._window:
                seen.popleft()
            if len(seen) >= limit:
                self.rate_refusals += 1
                raise ApiError(
                    403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits"
                )
            seen.append(now)
