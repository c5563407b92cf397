"""Faults at random: every request of some ops fails with a given probability (a bad day at
Google), for load tests where scheduled faults (``inject_fault``) would be too regular.

Google's errors guide (ref §2.2) lists 500 ``backendError`` and 429 ``rateLimitExceeded``,
both to be retried with exponential backoff; a 503 is what a front end answers while the
backend is away. A 5xx does not say whether the write was made before the failure (nothing in
Google's documentation says it was not); a 429 refused it. So a random fault is drawn before
the request is carried out (nothing changes) or, for a 5xx and with ``after_processing``,
after it (the change is made and its answer lost), which is what makes a retry meet a 409.

The draws come from one ``random.Random(seed)``: the sequence of draws is the same every run;
which request gets which draw depends on the order in which concurrent requests arrive.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RandomFault:
    """One drawn fault: its status, and whether the request is carried out first."""

    status: int
    after_processing: bool

    def as_fault(self) -> dict:
        """The fault in the shape ``inject_fault`` stores (Google's default body for it)."""
        return {
            "status": self.status,
            "reason": None,
            "message": None,
            "domain": "global",
            "headers": {},
        }


@dataclass
class RandomFaults:
    """The armed random-failure mode: ``rate`` of the requests of ``ops`` fail, each with a
    status drawn from ``statuses``; ``after_processing`` of the 5xx ones fail after being
    carried out. ``injected`` counts the faults drawn, by status. Not thread-safe: the emulator draws
    under its lock."""

    rate: float
    statuses: tuple[int, ...]
    ops: frozenset[str]
    after_processing: float
    rng: random.Random
    injected: Counter[int] = field(default_factory=Counter)

    @classmethod
    def armed(
        cls,
        rate: float,
        statuses: Iterable[int],
        ops: Iterable[str],
        after_processing: float,
        seed: int | str | None,
    ) -> RandomFaults:
        """Raises ValueError for a rate or share outside 0–1, or no status."""
        codes = tuple(statuses)
        if not 0.0 <= rate <= 1.0 or not 0.0 <= after_processing <= 1.0:
            raise ValueError("rate and after_processing must be between 0 and 1")
        if not codes or any(not 400 <= c <= 599 for c in codes):
            raise ValueError("statuses must be HTTP error statuses (400-599)")
        return cls(rate, codes, frozenset(ops), after_processing, random.Random(seed))

    def draw(self, op: str) -> RandomFault | None:
        """The fault of this ``op`` request, or None when it goes through."""
        if op not in self.ops or self.rng.random() >= self.rate:
            return None
        status = self.rng.choice(self.statuses)
        self.injected[status] += 1
        after = self.rng.random() < self.after_processing
        return RandomFault(status, after and status >= 500)
