"""Backoff as data: when to try a transient fault again, and when to give up. Pure.

Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"), never shorter than the remote side's ``Retry-After`` (RFC 9110 §10.2.3), and a bounded
number of attempts (Google: "clients should be prevented from retrying indefinitely").

A *parked* fault (a :class:`~middleware.errors.RetryableError` with ``park_scope``: HubSpot's
``DAILY`` 429 or 477 migration, Google's ``quotaExceeded``) is a long account- or rep-wide wait,
not this event's fault: it waits exactly ``max(retry_after, park_floor_seconds)`` however long
that is (a 477's ``Retry-After`` may be a day) and spends no attempt, so it never ends ``failed``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Park scope of Google's project-wide ``dailyLimitExceeded``: every rep waits.
GOOGLE_PROJECT_SCOPE = "google"


def rep_scope(organizer: str) -> str:
    """Park scope of one rep's Google calendar (``quotaExceeded`` is per user)."""
    return f"google:{organizer.strip().lower()}"


def account_scope(provider: str, account_id: str) -> str:
    """Park scope of one CRM account (e.g. ``hubspot:62515``)."""
    return f"{provider}:{account_id}"


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a retryable fault.

    ``give_up``: the budget is spent, the event ends ``failed``. Otherwise wait ``delay_seconds``;
    ``parked`` says the wait spends no attempt.
    """

    give_up: bool
    delay_seconds: float = 0.0
    parked: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    #: Shortest park, for a parked fault whose ``Retry-After`` is missing or tiny.
    park_floor_seconds: float = 60.0

    def decide(
        self,
        attempts_made: int,
        *,
        retry_after: float | None = None,
        parked: bool = False,
        rand: Callable[[], float] = random.random,
    ) -> RetryDecision:
        """The decision after ``attempts_made`` (1-based, counted since the last replay).

        Parked: wait ``max(retry_after, park_floor_seconds)``, uncapped, never give up.
        Otherwise give up once the budget is spent, else wait :meth:`delay`.
        """
        if parked:
            return RetryDecision(
                False, max(retry_after or 0.0, self.park_floor_seconds), parked=True
            )
        if self.gives_up_after(attempts_made):
            return RetryDecision(True)
        return RetryDecision(False, self.delay(attempts_made, retry_after=retry_after, rand=rand))

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
