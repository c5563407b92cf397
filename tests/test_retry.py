"""Retry decisions as data: ordinary faults spend attempts with capped backoff; parks do not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from middleware.retry import (
    RetryDecision,
    RetryPolicy,
    account_scope,
    parse_retry_after,
    rep_scope,
)

POLICY = RetryPolicy(max_attempts=10, base_seconds=2.0, max_seconds=600.0, park_floor_seconds=60)


def half() -> float:
    return 0.5


@pytest.mark.parametrize(
    ("attempts", "retry_after", "parked", "expected"),
    [
        # ordinary: base * 2**(n-1), three quarters of it with rand 0.5, capped at max_seconds
        (1, None, False, RetryDecision(False, 1.5)),
        (3, None, False, RetryDecision(False, 6.0)),
        (9, None, False, RetryDecision(False, 384.0)),
        (1, 30, False, RetryDecision(False, 30.0)),  # Retry-After beats a shorter backoff
        (1, 86_400, False, RetryDecision(False, 1200.0)),  # … but is capped at 2 * max_seconds
        (10, None, False, RetryDecision(True)),  # budget spent
        (10, 30, False, RetryDecision(True)),
        # parked: exactly max(Retry-After, floor), uncapped, never gives up
        (1, 86_400, True, RetryDecision(False, 86_400.0, parked=True)),  # a 477's day
        (1, 5, True, RetryDecision(False, 60.0, parked=True)),  # the floor
        (1, None, True, RetryDecision(False, 60.0, parked=True)),
        (10, 1800, True, RetryDecision(False, 1800.0, parked=True)),
        (500, 1800, True, RetryDecision(False, 1800.0, parked=True)),
    ],
)
def test_decide(
    attempts: int, retry_after: float | None, parked: bool, expected: RetryDecision
) -> None:
    assert POLICY.decide(attempts, retry_after=retry_after, parked=parked, rand=half) == expected


def test_jitter_stays_within_half_and_whole_of_the_ceiling() -> None:
    low = POLICY.decide(4, rand=lambda: 0.0).delay_seconds
    high = POLICY.decide(4, rand=lambda: 0.999999).delay_seconds
    assert low == 8.0 and 15.99 < high < 16.0


def test_scopes() -> None:
    assert account_scope("hubspot", "62515") == "hubspot:62515"
    assert rep_scope(" Rep@Seller.Example ") == "google:rep@seller.example"


def test_parse_retry_after() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("86400") == 86400.0
    assert parse_retry_after("Tue, 01 Dec 2026 13:00:00 GMT", now=now) == 3600.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
