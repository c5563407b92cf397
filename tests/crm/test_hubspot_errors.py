"""The pure HubSpot status → error mapping (middleware.crm.hubspot.errors), as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from middleware.crm.hubspot.errors import (
    Answer,
    account_zone,
    error_for,
    next_midnight,
    write_back_error,
)

NOW = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)


def answer(status: int, body: object = None, **headers: str) -> Answer:
    message = body.get("message", "") if isinstance(body, dict) else ""
    return Answer(status, {k.lower().replace("_", "-"): v for k, v in headers.items()}, body,
                  "", message)  # fmt: skip


def mapped(a: Answer, account_id: str | None = "62515"):
    return error_for(a, what="the read of deal 1", account_id=account_id, zone=UTC, now=NOW)


@pytest.mark.parametrize(
    ("a", "reason", "retryable", "retry_after", "scope"),
    [
        (answer(401), "crm_unauthorized", False, None, None),
        (answer(403), "crm_forbidden", False, None, None),
        (answer(423), "crm_locked", True, 2.0, None),
        (answer(477, retry_after="7200"), "crm_migrating", True, 7200.0, "hubspot:62515"),
        (answer(477), "crm_migrating", True, 300.0, "hubspot:62515"),  # no Retry-After
        (answer(429, {"policyName": "TEN_SECONDLY_ROLLING"}), "crm_rate_limited", True, None, None),
        (
            answer(429, {"policyName": "daily"}),
            "crm_daily_limit",
            True,
            3.5 * 3600,
            "hubspot:62515",
        ),
        (answer(503, retry_after="4"), "crm_unavailable", True, 4.0, None),
        (answer(400, {"category": "VALIDATION_ERROR"}), "crm_bad_request", False, None, None),
        (answer(409), "crm_bad_request", False, None, None),
    ],
)
def test_status_table(a: Answer, reason: str, retryable: bool, retry_after, scope) -> None:
    error = mapped(a)
    assert (error.reason, error.retryable, error.retry_after, error.park_scope) == (
        reason,
        retryable,
        retry_after,
        scope,
    )


def test_without_a_known_account_nothing_is_parked() -> None:
    assert mapped(answer(477, retry_after="60"), account_id=None).park_scope is None
    assert mapped(answer(429, {"policyName": "DAILY"}), account_id=None).park_scope is None


def test_next_midnight_across_a_daylight_saving_change() -> None:
    new_york = ZoneInfo("America/New_York")
    # 1 November 2026: clocks go back at 02:00, so that day has 25 hours.
    before = datetime(2026, 11, 1, 4, 30, tzinfo=UTC)  # 00:30 EDT on 1 November
    assert next_midnight(before, new_york) == datetime(2026, 11, 2, tzinfo=new_york)
    assert (next_midnight(before, new_york) - before) == timedelta(hours=24, minutes=30)
    # Exactly at midnight: the next one, a day later.
    at = datetime(2026, 12, 2, tzinfo=new_york)
    assert next_midnight(at, new_york) == datetime(2026, 12, 3, tzinfo=new_york)


def test_account_zone_falls_back_to_the_offset_then_utc() -> None:
    assert account_zone("US/Eastern") == ZoneInfo("US/Eastern")
    assert account_zone("Not/AZone", -18_000_000) == timezone(timedelta(hours=-5))
    assert account_zone(None, True) is UTC  # a bool is not an offset
    assert account_zone("", None) is UTC


def test_write_back_validation_rule_vs_property_codes() -> None:
    keys = {"demo_meet_url": "hubspot.meet_url_property"}
    rule = answer(400, {"message": "Amount is required", "category": "VALIDATION_ERROR"})
    error = write_back_error(rule, deal_id="9", rules_keys=keys, account_id="1", zone=UTC, now=NOW)
    assert error.reason == "crm_validation_rule" and "Amount is required" in error.message
    # errorType instead of category is understood too
    other = answer(400, {"message": "Nope", "errorType": "VALIDATION_ERROR"})
    error = write_back_error(other, deal_id="9", rules_keys=keys, account_id="1", zone=UTC, now=NOW)
    assert error.reason == "crm_validation_rule"
    missing = answer(
        400,
        {
            "message": 'Property values were not valid: [{"name":"demo_meet_url",'
            '"error":"PROPERTY_DOESNT_EXIST"}]',
            "category": "VALIDATION_ERROR",
        },
    )
    error = write_back_error(
        missing, deal_id="9", rules_keys=keys, account_id="1", zone=UTC, now=NOW
    )
    assert error.reason == "crm_property_missing"
