"""Fault and delay injection on the HubSpot emulator, and HubSpot's own 423/477/429 answers.

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.testing.hubspot.support import AUTH, patch_deal, url

pytestmark = pytest.mark.timeout(10)


# ---- fault and delay injection ----------------------------------------------------------


def test_429_with_retry_after_then_success(hs, api) -> None:
    hs.inject_fault(
        "PATCH", r"/crm/v3/objects/deals/301", 429, headers={"Retry-After": "1"}, times=1
    )
    limited = patch_deal(api, hs, "301", {"demo_meet_url": "https://meet.google.com/a"})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = limited.json()
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"]
    assert hs.patches == []  # a fault never touches state
    assert hs.deal_properties("301")["demo_meet_url"] is None

    ok = patch_deal(api, hs, "301", {"demo_meet_url": "https://meet.google.com/a"})
    assert ok.status_code == 200
    assert len(hs.patches) == 1
    assert [r["status"] for r in hs.requests] == [429, 200]


def test_fault_only_hits_matching_method_and_path(hs, api) -> None:
    hs.inject_fault("GET", r"/crm/v3/owners/", 503)
    assert api.get(url(hs, "/crm/v3/objects/deals/301")).status_code == 200
    assert patch_deal(api, hs, "301", {"dealname": "x"}).status_code == 200
    assert api.get(url(hs, "/crm/v3/owners/101")).status_code == 503
    assert api.get(url(hs, "/crm/v3/owners/101")).status_code == 200


def test_5xx_injection_repeats_times(hs, api) -> None:
    hs.inject_fault("get", r"^/crm/v3/objects/deals/\d+$", 502, times=2)
    for _ in range(2):
        response = api.get(url(hs, "/crm/v3/objects/deals/301"))
        assert response.status_code == 502
        body = response.json()
        assert body["category"] == "INTERNAL_ERROR"
        assert body["status"] == "error"
    assert api.get(url(hs, "/crm/v3/objects/deals/301")).status_code == 200


def test_fault_with_custom_body_fires_before_auth(hs) -> None:
    hs.inject_fault("*", r"/crm/v3/pipelines", 500, body={"oops": True})
    response = requests.get(url(hs, "/crm/v3/pipelines/deals"))
    assert (response.status_code, response.json()) == (500, {"oops": True})


def test_delay_injection(hs, api) -> None:
    hs.inject_delay("GET", r"/crm/v3/objects/deals/301", 0.6)
    with pytest.raises(requests.ReadTimeout):
        api.get(url(hs, "/crm/v3/objects/deals/301"), timeout=0.2)
    started = time.monotonic()
    assert api.get(url(hs, "/crm/v3/objects/deals/301"), timeout=2).status_code == 200
    assert time.monotonic() - started < 0.5


def test_delayed_patch_still_applies_after_client_gives_up(hs, api) -> None:
    hs.inject_delay("PATCH", r"/crm/v3/objects/deals/301", 0.3)
    with pytest.raises(requests.ReadTimeout):
        api.patch(
            url(hs, "/crm/v3/objects/deals/301"),
            json={"properties": {"demo_calendar_event_id": "evt1"}},
            timeout=0.05,
        )
    deadline = time.monotonic() + 3
    while not hs.patches and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hs.deal_properties("301")["demo_calendar_event_id"] == "evt1"


def test_concurrent_patches_are_all_recorded(hs) -> None:
    def worker(n: int) -> None:
        with requests.Session() as session:
            session.headers.update(AUTH)
            for i in range(5):
                response = patch_deal(session, hs, "301", {"dealname": f"w{n}-{i}"})
                assert response.status_code == 200

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(hs.patches) == 40
    assert len(hs.requests) == 40


# ---- HubSpot's own error answers --------------------------------------------------------


def test_answer_locked(hs, api) -> None:
    hs.answer_locked("GET", r"/crm/v3/objects/deals/301")
    locked = api.get(url(hs, "/crm/v3/objects/deals/301"))
    assert locked.status_code == 423
    assert locked.json()["status"] == "error"
    assert api.get(url(hs, "/crm/v3/objects/deals/301")).status_code == 200


def test_answer_migrating_carries_retry_after_seconds(hs, api) -> None:
    hs.answer_migrating("*", r"/crm/", retry_after_seconds=86_000, times=2)
    for _ in range(2):
        answer = api.get(url(hs, "/crm/v3/owners/101"))
        assert answer.status_code == 477
        assert answer.headers["Retry-After"] == "86000"
        assert answer.json()["message"] == "Migration in progress"
    assert api.get(url(hs, "/crm/v3/owners/101")).status_code == 200


def test_answer_daily_limit(hs, api) -> None:
    hs.answer_daily_limit("GET", r"/crm/v3/objects/deals/301")
    answer = api.get(url(hs, "/crm/v3/objects/deals/301"))
    assert answer.status_code == 429
    body = answer.json()
    assert body["message"] == "You have reached your daily limit."
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "DAILY")
    assert body["correlationId"]
    assert answer.headers["X-HubSpot-RateLimit-Daily"] == "250000"
    assert answer.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] != "0"  # the burst window is fine
    assert "Retry-After" not in answer.headers


def test_answer_ten_secondly_limit(hs, api) -> None:
    hs.answer_ten_secondly_limit("GET", r"/crm/v3/owners/101")
    hs.answer_ten_secondly_limit("GET", r"/crm/v3/owners/101", retry_after=3)
    first = api.get(url(hs, "/crm/v3/owners/101"))
    assert first.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in first.headers
    assert api.get(url(hs, "/crm/v3/owners/101")).headers["Retry-After"] == "3"
