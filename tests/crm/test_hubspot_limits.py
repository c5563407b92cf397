"""HubSpot's 423, 477 and 429 answers and its validation rules, through the real client.

The client runs over real sockets against the emulator with an injected clock (no sleeping):
the tests assert the reason, the wait (``retry_after``) and whether the wait is account-wide
(``park_scope``), down to the account's midnight for a ``DAILY`` 429.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from middleware.crm.hubspot.client import HubSpotClient
from middleware.deadlines import Timeouts
from middleware.errors import MiddlewareError, PermanentError, RetryableError
from middleware.model import Deal
from middleware.rules import HubSpotRules
from middleware.testing.hubspot import HubSpotEmulator

pytestmark = pytest.mark.timeout(10)

TOKEN = "pat-na1-test-token"
PORTAL = "62515"
DEAL_PATH = "/crm/v3/objects/deals/301"
#: 20:30 UTC on 1 December 2026: 15:30 in New York, 02:00 on 2 December in Kolkata.
NOW = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
MEET_URL = "https://meet.google.com/abc-defg-hij"


def emulator(time_zone: str) -> HubSpotEmulator:
    hs = HubSpotEmulator(access_token=TOKEN, portal_id=int(PORTAL), time_zone=time_zone)
    hs.add_owner("101", "rep@example.com")
    hs.add_deal(
        "301",
        {
            "dealname": "Acme",
            "dealstage": "demoscheduled",
            "hubspot_owner_id": "101",
            "demo_start_time": "2030-01-01T10:00:00Z",
        },
    )
    return hs


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with emulator("US/Eastern") as hs:
        yield hs


def make_client(hs: HubSpotEmulator) -> HubSpotClient:
    return HubSpotClient(
        base_url=hs.base_url,
        access_token=TOKEN,
        rules=HubSpotRules(),
        timeout=Timeouts(2.0, 5.0, 10.0),
        clock=lambda: NOW,
    )


def raised(call, *args, **kwargs) -> MiddlewareError:
    with pytest.raises(MiddlewareError) as info:
        call(*args, **kwargs)
    return info.value


def fetch(client: HubSpotClient) -> Deal:
    return client.fetch_deal(PORTAL, "301")


def write_back(client: HubSpotClient, deal: Deal) -> bool:
    return client.write_back(deal, meet_url=MEET_URL, calendar_event_id="evt301")


# ---- 423 and 477 ------------------------------------------------------------------------


def test_423_locked_waits_at_least_two_seconds(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    hs.answer_locked("GET", DEAL_PATH)
    error = raised(fetch, client)
    assert isinstance(error, RetryableError)
    assert (error.reason, error.retry_after, error.park_scope) == ("crm_locked", 2.0, None)
    assert "423" in error.message and "deal 301" in error.message
    hs.inject_fault("GET", DEAL_PATH, 423, headers={"Retry-After": "5"})
    assert raised(fetch, client).retry_after == 5.0
    hs.inject_fault("GET", DEAL_PATH, 423, headers={"Retry-After": "1"})
    assert raised(fetch, client).retry_after == 2.0


def test_477_migration_parks_the_account_for_retry_after(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    hs.answer_migrating("GET", DEAL_PATH, retry_after_seconds=86_000)
    error = raised(fetch, client)
    assert isinstance(error, RetryableError)
    assert error.reason == "crm_migrating"
    assert error.retry_after == 86_000  # about a day, not capped
    assert error.park_scope == "hubspot:62515"
    assert "until 2026-12-02T20:23:20+00:00" in error.message  # NOW + 86000 s


def test_477_on_the_write_back_parks_the_deals_account(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    deal = fetch(client)
    hs.answer_migrating("PATCH", DEAL_PATH, retry_after_seconds=600)
    error = raised(write_back, client, deal)
    assert (error.reason, error.retry_after, error.park_scope) == (
        "crm_migrating",
        600,
        "hubspot:62515",
    )
    assert hs.patches == []


# ---- 429: burst vs daily ----------------------------------------------------------------


def test_ten_secondly_429_is_a_short_wait(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    hs.answer_ten_secondly_limit("GET", DEAL_PATH)
    error = raised(fetch, client)
    assert (error.reason, error.retry_after, error.park_scope) == ("crm_rate_limited", 10.0, None)
    hs.answer_ten_secondly_limit("GET", DEAL_PATH, retry_after=3)
    assert raised(fetch, client).retry_after == 3.0


@pytest.mark.parametrize("policy", ["SECONDLY", None])
def test_secondly_or_unnamed_429_is_a_short_wait(hs: HubSpotEmulator, policy: str | None) -> None:
    body = {"status": "error", "message": "You have reached your secondly limit."}
    if policy:
        body["policyName"] = policy
    hs.inject_fault("GET", DEAL_PATH, 429, body=body)
    error = raised(fetch, make_client(hs))
    assert (error.reason, error.park_scope) == ("crm_rate_limited", None)


@pytest.mark.parametrize(
    ("time_zone", "midnight", "seconds"),
    [
        # 15:30 in New York: midnight is 8 h 30 min away.
        ("US/Eastern", "2026-12-02T00:00:00-05:00", 8.5 * 3600),
        ("UTC", "2026-12-02T00:00:00+00:00", 3.5 * 3600),
        # Already 2 December (02:00) in Kolkata: the next midnight is 22 h away.
        ("Asia/Kolkata", "2026-12-03T00:00:00+05:30", 22 * 3600),
    ],
)
def test_daily_429_parks_the_account_until_its_midnight(
    time_zone: str, midnight: str, seconds: float
) -> None:
    with emulator(time_zone) as hs:
        client = make_client(hs)
        assert fetch(client).deal_id == "301"  # the account (and its zone) is known
        hs.answer_daily_limit("GET", DEAL_PATH)
        error = raised(fetch, client)
    assert isinstance(error, RetryableError)
    assert error.reason == "crm_daily_limit"
    assert error.park_scope == "hubspot:62515"
    assert error.retry_after == seconds
    assert "daily API limit" in error.message and "is spent" in error.message
    assert f"waits until {midnight}" in error.message


def test_daily_429_before_the_zone_is_known_waits_until_midnight_utc(
    hs: HubSpotEmulator,
) -> None:
    hs.answer_daily_limit("GET", "/account-info/")
    error = raised(fetch, make_client(hs))
    assert (error.reason, error.park_scope) == ("crm_daily_limit", "hubspot:62515")
    assert error.retry_after == 3.5 * 3600
    assert "2026-12-02T00:00:00+00:00" in error.message


def test_daily_429_on_the_write_back(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    deal = fetch(client)
    hs.answer_daily_limit("PATCH", DEAL_PATH)
    error = raised(write_back, client, deal)
    assert (error.reason, error.park_scope, error.retry_after) == (
        "crm_daily_limit",
        "hubspot:62515",
        8.5 * 3600,
    )


# ---- validation rules on the write-back -------------------------------------------------


RULE = "The property 'amount' is required when 'dealstage' is 'Demo Scheduled'."


def test_a_validation_rule_refusing_the_write_back(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    deal = fetch(client)
    hs.add_validation_rule(RULE)
    error = raised(write_back, client, deal)
    assert isinstance(error, PermanentError)
    assert error.reason == "crm_validation_rule"
    assert RULE in error.message  # HubSpot's message, quoted
    assert "deal 301" in error.message
    assert "Calendar event and its Meet link are kept" in error.message
    assert "replay" in error.message
    assert hs.patches == []
    hs.clear_validation_rules()  # the admin relaxed the rule: the replay writes it
    assert write_back(client, deal) is True


def test_without_enforcement_on_v3_the_write_back_passes(hs: HubSpotEmulator) -> None:
    client = make_client(hs)
    deal = fetch(client)
    hs.add_validation_rule(RULE)
    hs.validation_rules_apply_to_v3 = False
    assert write_back(client, deal) is True


def test_a_validation_error_on_a_read_is_a_bad_request(hs: HubSpotEmulator) -> None:
    body = {"status": "error", "message": "bad", "category": "VALIDATION_ERROR"}
    hs.inject_fault("GET", DEAL_PATH, 400, body=body)
    assert raised(fetch, make_client(hs)).reason == "crm_bad_request"
