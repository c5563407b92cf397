"""Backoff as data: when to try a transient fault again, and when to give up. Pure.

Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"), never shorter than the remote side's ``Retry-After`` (RFC 9110 §10.2.3), and a bounded
number of attempts (Google: "clients should be prevented from retrying indefinitely").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def gives_up_after(self, attempts_made: int) -> bool:
        """True when ``attempts_made`` attempts used the whole budget."""
        return attempts_made >= self.max_attempts

    def delay(
        self,
        attempts_made: int,
        *,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before the next attempt, after ``attempts_made`` (1-based) attempts.

        The exponential part is ``base * 2**(n-1)`` capped at ``max_seconds``; half of it is
        fixed and half jittered, so retries of many events spread out but never come at once.
        """
        exponent = min(max(attempts_made - 1, 0), 30)
        ceiling = min(self.max_seconds, self.base_seconds * (2**exponent))
        wait = ceiling / 2 + rand() * ceiling / 2
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_seconds * 2))
        return wait


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
