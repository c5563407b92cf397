"""HTTP plumbing of the HubSpot emulator: auth, headers, the request log, bodies, stop.

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import pytest
import requests

from middleware.testing.hubspot import HubSpotEmulator
from tests.testing.hubspot.support import TOKEN, patch_deal, url

pytestmark = pytest.mark.timeout(10)


# ---- plumbing ---------------------------------------------------------------------------


def test_base_url_is_local_without_trailing_slash(hs: HubSpotEmulator) -> None:
    assert hs.base_url.startswith("http://127.0.0.1:")
    assert not hs.base_url.endswith("/")
    assert (hs.access_token, hs.portal_id) == (TOKEN, 62515)


def test_responses_are_json_with_hubspot_headers(hs, api) -> None:
    response = api.get(url(hs, "/crm/v3/objects/deals/301"))
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert response.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert int(response.headers["X-HubSpot-RateLimit-Remaining"]) < 190
    assert response.headers["X-HubSpot-Correlation-Id"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong-token", "wrong-scheme"],
)
def test_every_endpoint_requires_the_bearer_token(hs, headers) -> None:
    response = requests.get(url(hs, "/crm/v3/objects/deals/301"), headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert body["correlationId"]
    assert hs.requests[-1]["authorization_ok"] is False
    assert hs.requests[-1]["status"] == 401


def test_request_log_and_reset(hs, api) -> None:
    api.get(url(hs, "/crm/v3/objects/deals/301"), params={"properties": "dealname,pipeline"})
    patch_deal(api, hs, "301", {"demo_meet_url": "https://meet.google.com/abc-defg-hij"})
    get, patch = hs.requests
    assert get == {
        "method": "GET",
        "path": "/crm/v3/objects/deals/301",
        "query": {"properties": "dealname,pipeline"},
        "body": None,
        "status": 200,
        "authorization_ok": True,
    }
    assert patch["body"] == {
        "properties": {"demo_meet_url": "https://meet.google.com/abc-defg-hij"}
    }
    hs.reset_log()
    assert hs.requests == [] and hs.patches == []
    assert hs.deal_properties("301")["demo_meet_url"] == "https://meet.google.com/abc-defg-hij"


def test_unknown_route_and_wrong_method_answer_json(hs, api) -> None:
    missing = api.get(url(hs, "/crm/v3/objects/widgets/1"))
    assert missing.status_code == 404
    assert missing.json()["status"] == "error"
    wrong_method = api.delete(url(hs, "/crm/v3/objects/deals/301"))
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == "error"


def test_malformed_json_body_is_a_validation_error(hs, api) -> None:
    response = api.patch(
        url(hs, "/crm/v3/objects/deals/301"),
        data=b'{"properties": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Invalid input JSON")
    assert hs.patches == []


def test_chunked_request_body_is_read(hs, api) -> None:
    chunks = iter([b'{"properties": ', b'{"demo_calendar_event_id": "evt9"}}'])
    response = api.patch(
        url(hs, "/crm/v3/objects/deals/301"),
        data=chunks,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert hs.deal_properties("301")["demo_calendar_event_id"] == "evt9"


def test_stop_drops_keep_alive_connections(api) -> None:
    emulator = HubSpotEmulator().start()
    base = emulator.base_url
    assert api.get(base + "/crm/v3/pipelines/deals").status_code == 200
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        api.get(base + "/crm/v3/pipelines/deals", timeout=2)
    emulator.stop()  # idempotent
