"""HubSpot workflow webhooks (``POST /webhooks/hubspot/workflow``): signatures v2 and v3, the
enrolled deal's id in each form the contract lists, and the endpoint through the real app."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from middleware.app import create_app
from middleware.crm.base import WebhookRequest
from middleware.crm.hubspot import HubSpotWorkflowIntake, sign_v2, sign_v3, verify_v2
from middleware.crm.hubspot.workflow import parse_enrollment
from middleware.errors import PayloadError, SignatureError, WebhookError
from middleware.schema import events
from tests.builders import SECRET, hubspot_headers, shown

NOW = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
URL = "/webhooks/hubspot/workflow"
SIGNED_URI = "http://localhost/webhooks/hubspot/workflow"

# HubSpot's published vectors (shared/reference/crm-webhooks-and-apis.md §1.3).
VECTOR_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
VECTOR_URI = "https://www.example.com/webhook_uri"


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("GET", b"", "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"),
        (
            "POST",
            b"{'example_field':'example_value'}",
            "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383",
        ),
        (
            "POST",
            b'{"example_field":"example_value"}',
            "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900",
        ),
    ],
)
def test_published_v2_vectors(method: str, body: bytes, expected: str) -> None:
    assert sign_v2(VECTOR_SECRET, method, VECTOR_URI, body) == expected
    headers = {"X-HubSpot-Signature": expected, "X-HubSpot-Signature-Version": "v2"}
    verify_v2(headers, body, method=method, uri=VECTOR_URI, secrets=[VECTOR_SECRET])
    # upper-case hex is the same digest
    upper = {**headers, "X-HubSpot-Signature": expected.upper()}
    verify_v2(upper, body, method=method, uri=VECTOR_URI, secrets=["old", VECTOR_SECRET])
    with pytest.raises(SignatureError, match="does not match"):
        verify_v2(headers, body + b" ", method=method, uri=VECTOR_URI, secrets=[VECTOR_SECRET])


def test_published_v3_vector_signs() -> None:
    body = b"{'example_field':'example_value'}"
    assert (
        sign_v3(VECTOR_SECRET, "POST", VECTOR_URI, body, "15000000")
        == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
    )


def deal_body(**fields: Any) -> bytes:
    return json.dumps({"portalId": 62515, **fields}).encode()


def v2_headers(body: bytes, *, secret: str = SECRET, uri: str = SIGNED_URI) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature": sign_v2(secret, "POST", uri, body),
        "X-HubSpot-Signature-Version": "v2",
    }


def request(body: bytes, headers: dict[str, str], *, uri: str = SIGNED_URI) -> WebhookRequest:
    return WebhookRequest(headers=headers, body=body, method="POST", uri=uri, now=NOW)


INTAKE = HubSpotWorkflowIntake((SECRET, "previous-secret"))


@pytest.mark.parametrize("signing", ["v2", "v3"])
def test_round_trip_gives_one_workflow_event(signing: str) -> None:
    body = deal_body(id="42", properties={"dealstage": "demoscheduled"})
    headers = v2_headers(body) if signing == "v2" else hubspot_headers(body, SIGNED_URI, now=NOW)
    batch = INTAKE.parse(request(body, headers))
    [event] = batch.events
    assert batch.received == 1 and batch.ignored == 0 and batch.invalid == 0
    assert (event.provider, event.account_id, event.deal_id, event.trigger) == (
        "hubspot",
        "62515",
        "42",
        "workflow",
    )
    assert event.payload["signature"] == signing
    assert event.dedupe_key.startswith("hubspot:workflow:62515:42:")


def test_the_previous_secret_still_verifies() -> None:
    body = deal_body(id=7)
    assert INTAKE.parse(request(body, v2_headers(body, secret="previous-secret"))).events


@pytest.mark.parametrize("signing", ["v2", "v3"])
def test_tampering_is_refused(signing: str) -> None:
    body = deal_body(id="42")
    headers = v2_headers(body) if signing == "v2" else hubspot_headers(body, SIGNED_URI, now=NOW)
    for changed in (
        request(deal_body(id="43"), headers),  # another body
        request(body, headers, uri="http://localhost/webhooks/hubspot/workflow?x=1"),  # URI
        request(body, v2_headers(body, secret="wrong") if signing == "v2" else {}),
    ):
        with pytest.raises(SignatureError):
            INTAKE.parse(changed)


def test_a_bad_v3_is_not_rescued_by_a_good_v2() -> None:
    body = deal_body(id="42")
    headers = {**v2_headers(body), **hubspot_headers(body, SIGNED_URI, secret="wrong", now=NOW)}
    with pytest.raises(SignatureError, match="v3 does not match"):
        INTAKE.parse(request(body, headers))


def test_a_stale_v3_is_refused() -> None:
    body = deal_body(id="42")
    headers = hubspot_headers(body, SIGNED_URI, now=NOW - timedelta(minutes=6))
    with pytest.raises(SignatureError, match="5 minutes old"):
        INTAKE.parse(request(body, headers))


def test_v1_and_unsigned_requests_are_refused_with_the_fix() -> None:
    body = deal_body(id="42")
    v1 = {"X-HubSpot-Signature": "ab" * 32, "X-HubSpot-Signature-Version": "v1"}
    with pytest.raises(SignatureError, match="v1 is not accepted.*v2 or v3"):
        INTAKE.parse(request(body, v1))
    with pytest.raises(SignatureError, match="Use request signature"):
        INTAKE.parse(request(body, {"Content-Type": "application/json"}))


def test_disabled_without_a_secret() -> None:
    body = deal_body(id="42")
    with pytest.raises(WebhookError, match="HUBSPOT_CLIENT_SECRET") as caught:
        HubSpotWorkflowIntake(()).parse(request(body, v2_headers(body)))
    assert caught.value.status == 503


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "901"},
        {"id": 901},
        {"objectId": 901},
        {"dealId": 901},
        {"dealId": {"value": "901"}},
        {"properties": {"hs_object_id": "901"}},
        {"properties": {"hs_object_id": {"value": "901", "timestamp": 1}}},
        {"id": "901", "properties": {"hs_object_id": "901", "dealstage": "x"}},  # both agree
    ],
)
def test_each_deal_id_form(fields: dict[str, Any]) -> None:
    event = parse_enrollment(deal_body(**fields))
    assert event.deal_id == "901" and event.account_id == "62515"


def test_portal_in_the_legacy_value_shape() -> None:
    event = parse_enrollment(json.dumps({"portalId": {"value": "77"}, "dealId": 5}).encode())
    assert event.account_id == "77"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": 5.9}, "id 5.9 is not a deal id"),
        ({"id": " 12 "}, "is not a deal id"),
        ({"id": "٣"}, "is not a deal id"),
        ({"id": True}, "is not a deal id"),
        ({"id": 0}, "is not a deal id"),
        ({"id": "-4"}, "is not a deal id"),
        ({"id": 2**63}, "is not a deal id"),
        ({"dealId": {"value": 5.5}}, "dealId 5.5"),
        ({"objectId": {"other": 1}}, "objectId"),
        ({"properties": {"hs_object_id": "12a"}}, "properties.hs_object_id"),
        ({"id": "1", "objectId": "2"}, "2 different deal ids"),
        ({"id": "1", "objectId": "x"}, 'objectId "x" is not a deal id'),
        ({}, "no deal id"),
        ({"properties": "901"}, "no deal id"),
    ],
)
def test_bad_deal_ids_are_400(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse_enrollment(deal_body(**fields))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "JSON object"),
        (b'[{"id": 1, "portalId": 2}]', "JSON object"),
        (b'"text"', "JSON object"),
        (b"12", "JSON object"),
        (b"null", "JSON object"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON|nested too deeply"),
        (b'{"id": 5}', "no portalId.*add portalId"),
        (b'{"id": 5, "portalId": "62 515"}', "portalId .* is not a HubSpot account id"),
    ],
)
def test_unusable_bodies_are_400(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as caught:
        parse_enrollment(body)
    assert caught.value.status == 400


def test_a_retry_is_a_duplicate_and_two_enrollments_are_not() -> None:
    first = deal_body(id="42", properties={"hs_lastmodifieddate": "2030-01-01T10:00:00Z"})
    again = deal_body(id="42", properties={"hs_lastmodifieddate": "2030-01-03T10:00:00Z"})
    other_deal = deal_body(id="43", properties={"hs_lastmodifieddate": "2030-01-01T10:00:00Z"})
    # a retry is signed afresh (another time stamp) over the same body: the same key
    retry_a = INTAKE.parse(request(first, hubspot_headers(first, SIGNED_URI, now=NOW)))
    retry_b = INTAKE.parse(
        request(first, hubspot_headers(first, SIGNED_URI, now=NOW - timedelta(minutes=2)))
    )
    keys = {parse_enrollment(b).dedupe_key for b in (first, again, other_deal)} | {
        retry_a.events[0].dedupe_key,
        retry_b.events[0].dedupe_key,
    }
    assert len(keys) == 3
    assert all(len(k) <= 255 for k in keys)


# ---- through the real app ------------------------------------------------------------------


def stored(app: Any) -> int:
    store = app.extensions["middleware"].store
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def test_endpoint_stores_and_answers_200(client: Any, app: Any) -> None:
    body = deal_body(id="4242", properties={"dealstage": "demoscheduled"})
    response = client.post(URL, data=body, headers=v2_headers(body))
    assert response.status_code == 200, response.json
    assert (response.json["received"], response.json["stored"]) == (1, 1)
    [event_id] = response.json["event_ids"]
    event = shown(app.extensions["middleware"].store, event_id)
    assert (event["provider"], event["deal_id"], event["trigger"], event["status"]) == (
        "hubspot",
        "4242",
        "workflow",
        "pending",
    )
    again = client.post(
        URL, data=body, headers=hubspot_headers(body, SIGNED_URI)
    )  # a retry, signed v3
    assert again.status_code == 200 and again.json["duplicates"] == 1
    assert stored(app) == 1


def test_endpoint_refusals(client: Any, app: Any) -> None:
    body = deal_body(id="4242")
    bad = client.post(URL, data=body, headers=v2_headers(body, secret="wrong"))
    assert bad.status_code == 401 and "does not match" in bad.json["error"]
    assert SECRET not in bad.get_data(as_text=True)
    no_id = deal_body(properties={"dealname": "Acme"})
    missing = client.post(URL, data=no_id, headers=v2_headers(no_id))
    assert missing.status_code == 400 and "no deal id" in missing.json["error"]
    assert stored(app) == 0


def test_endpoint_without_a_secret_is_503(make_settings: Any, sqlite_store: Any) -> None:
    app = create_app(make_settings(HUBSPOT_CLIENT_SECRET=None), store=sqlite_store)
    body = deal_body(id="1")
    response = app.test_client().post(URL, data=body, headers=v2_headers(body))
    assert response.status_code == 503
    assert "HUBSPOT_CLIENT_SECRET" in response.json["error"]
