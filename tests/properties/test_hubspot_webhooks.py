"""Properties of ``POST /webhooks/hubspot`` (and the refusals of ``/webhooks/hubspot/workflow``).

Unsigned (or wrongly signed) requests of any shape are refused 4xx with a JSON error and
store nothing; correctly signed odd payloads are judged without a 500, and every event stored
names exactly the deal and portal the notification sent, as strict integers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.builders import SECRET, hubspot_headers
from tests.properties.checks import assert_json_answer, assert_refused, decoded, strict_id_of
from tests.properties.conftest import PER_FIELD, Service
from tests.properties.strategies import (
    MAX_OCCURRED_AT_MS,
    dumps,
    encoded,
    good_ids,
    header_values,
    ids,
    json_values,
    mutated,
    odd_bodies,
    odd_numbers,
    odd_text,
    one_field_odd,
)

BATCH_URL, WORKFLOW_URL = "/webhooks/hubspot", "/webhooks/hubspot/workflow"
BASE = "http://localhost"
NOT_POST = ["GET", "PUT", "PATCH", "DELETE"]

KINDS = st.sampled_from(
    [
        ("deal.propertyChange", None),
        ("object.propertyChange", "0-3"),
        ("deal.deletion", None),
        ("object.deletion", "0-3"),
        ("deal.creation", None),
        ("deal.associationChange", None),
        ("object.merge", "0-3"),
        ("object.propertyChange", "0-1"),
        ("contact.propertyChange", None),
    ]
)


@st.composite
def real_notifications(draw: Any) -> dict[str, Any]:
    """A notification as HubSpot sends one, in its legacy or generic form."""
    kind, object_type = draw(KINDS)
    n: dict[str, Any] = {
        # any text is a usable event id or value: only the ids and the time are strict
        "eventId": draw(
            st.one_of(st.integers(1, 10**12), st.integers(1, 10**12).map(str), odd_text)
        ),
        "subscriptionId": draw(st.integers(1, 1000)),
        "portalId": draw(good_ids),
        "appId": 1160452,
        "occurredAt": draw(
            st.one_of(
                st.integers(1, MAX_OCCURRED_AT_MS - 1),
                st.integers(MAX_OCCURRED_AT_MS - 3, MAX_OCCURRED_AT_MS + 3),
            )
        ),
        "subscriptionType": kind,
        "attemptNumber": draw(st.integers(0, 10)),
        "objectId": draw(good_ids),
        "changeSource": "CRM_UI",
    }
    if object_type:
        n["objectTypeId"] = object_type
    if kind.endswith("propertyChange"):
        n["propertyName"] = draw(
            st.sampled_from(
                ["dealstage", "dealstage", "demo_start_time", "hubspot_owner_id", "amount"]
            )
        )
        n["propertyValue"] = draw(
            st.one_of(
                st.sampled_from(
                    ["demoscheduled", "closedlost", "Demo Scheduled", "1795000000000", ""]
                ),
                odd_text,
            )
        )
    return n


notifications = mutated(
    real_notifications(),
    {
        "eventId": ids,
        "portalId": ids,
        "objectId": ids,
        "occurredAt": st.one_of(
            odd_numbers, json_values, st.integers(MAX_OCCURRED_AT_MS - 3, MAX_OCCURRED_AT_MS + 3)
        ),
        "subscriptionType": st.one_of(odd_text, json_values),
        "objectTypeId": json_values,
        "propertyName": st.one_of(odd_text, json_values),
        "propertyValue": st.one_of(odd_text, odd_text, json_values),
    },
)
batches = st.one_of(
    st.lists(notifications, max_size=6),
    st.lists(st.one_of(notifications, json_values), max_size=5),
)


def post(service: Service, url: str, body: bytes, headers: dict[str, str], method: str = "POST"):
    return service.client.open(url, method=method, data=body, headers=headers)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def acts_on_a_deal(n: dict[str, Any]) -> bool:
    kind = n.get("subscriptionType")
    return isinstance(kind, str) and (
        kind.startswith("deal.")
        or (kind.startswith("object.") and str(n.get("objectTypeId")) == "0-3")
    )


# -- signed -------------------------------------------------------------------------------


def check_signed_batch(service: Service, batch: list[Any], data: st.DataObject) -> None:
    """Signed: 400 exactly when the body is not a JSON array with objects, else 200 with
    every notification counted once; each event stored names the deal and portal sent."""
    body = data.draw(st.one_of(st.just(dumps(batch)), encoded(batch)), label="body")
    service.empty()
    before = service.count()
    response = post(service, BATCH_URL, body, hubspot_headers(body, BASE + BATCH_URL))
    sent = decoded(body)
    is_batch = isinstance(sent, list) and (not sent or any(isinstance(n, dict) for n in sent))
    if not is_batch:
        assert_json_answer(response, {400})
        assert service.count() == before
        return
    answer = assert_json_answer(response, {200})
    assert answer["received"] == len(sent)
    parts = answer["stored"] + answer["duplicates"] + answer["ignored"] + answer["invalid"]
    assert parts == len(sent)
    assert service.count() - before == answer["stored"] == len(answer["event_ids"])
    by_payload = {canonical(n): n for n in sent if isinstance(n, dict)}
    for row in service.rows(answer["event_ids"]):
        n = by_payload[canonical(json.loads(row.payload))]
        assert acts_on_a_deal(n)
        deal, portal = strict_id_of(n.get("objectId")), strict_id_of(n.get("portalId"))
        assert deal is not None and row.deal_id == str(deal), (n.get("objectId"), row.deal_id)
        assert portal is not None and row.account_id == str(portal)
        assert row.provider == "hubspot" and row.status == "pending"
        occurred = n["occurredAt"]
        assert isinstance(occurred, int) and not isinstance(occurred, bool)
        assert row.occurred_at == datetime.fromtimestamp(occurred / 1000, UTC)


@given(batch=batches, data=st.data())
def test_signed_batches_store_only_strict_ids_exactly_as_sent(
    service: Service, batch: list[Any], data: st.DataObject
) -> None:
    check_signed_batch(service, batch, data)


@st.composite
def acted_on(draw: Any) -> dict[str, Any]:
    """A notification the service stores: a stage, start or owner change, or a deletion."""
    n = draw(real_notifications())
    kind, object_type = draw(ACTED_ON_KINDS)
    n["subscriptionType"] = kind
    n.pop("objectTypeId", None)
    if object_type:
        n["objectTypeId"] = object_type
    if kind.endswith("propertyChange"):
        n["propertyName"] = draw(
            st.sampled_from(["dealstage", "demo_start_time", "hubspot_owner_id"])
        )
        n["propertyValue"] = "demoscheduled"
    else:
        n.pop("propertyName", None)
        n.pop("propertyValue", None)
    return n


ACTED_ON_KINDS = st.sampled_from(
    [
        ("deal.propertyChange", None),
        ("object.propertyChange", "0-3"),
        ("deal.deletion", None),
        ("object.deletion", "0-3"),
    ]
)
ODD_FIELDS = {
    "eventId": st.one_of(ids, odd_text),
    "portalId": ids,
    "objectId": ids,
    "occurredAt": st.one_of(
        odd_numbers, json_values, st.integers(MAX_OCCURRED_AT_MS - 3, MAX_OCCURRED_AT_MS + 3)
    ),
    "subscriptionType": st.one_of(odd_text, json_values),
    "objectTypeId": json_values,
    "propertyName": st.one_of(odd_text, json_values),
    "propertyValue": st.one_of(odd_text, odd_text, json_values),
    "attemptNumber": json_values,
}


@pytest.mark.parametrize("path", sorted(ODD_FIELDS))
def test_one_odd_field_in_a_notification_that_is_acted_on(service: Service, path: str) -> None:
    @PER_FIELD
    @given(
        odd=one_field_odd(acted_on(), path, ODD_FIELDS[path]),
        neighbours=st.lists(acted_on(), max_size=2),
        data=st.data(),
    )
    def judged(odd: dict[str, Any], neighbours: list[dict[str, Any]], data: st.DataObject) -> None:
        check_signed_batch(service, [*neighbours, odd], data)

    judged()


@given(body=odd_bodies)
def test_signed_garbage_bodies_are_400_or_an_empty_acknowledgement(
    service: Service, body: bytes
) -> None:
    service.empty()
    before = service.count()
    response = post(service, BATCH_URL, body, hubspot_headers(body, BASE + BATCH_URL))
    answer = assert_json_answer(response, {200, 400})
    if response.status_code == 200:
        assert service.count() - before == answer["stored"]
    else:
        assert service.count() == before


@given(extra=st.integers(-16, 16))
def test_the_size_limit_is_413_with_nothing_stored(sqlite_service: Service, extra: int) -> None:
    limit = 1024 * 1024
    body = b"[" + b" " * (limit - 2 + extra) + b"]"
    before = sqlite_service.count()
    response = post(sqlite_service, BATCH_URL, body, hubspot_headers(body, BASE + BATCH_URL))
    assert_json_answer(response, {200} if len(body) <= limit else {413})
    assert sqlite_service.count() == before


# -- unsigned or wrongly signed ---------------------------------------------------------


@st.composite
def forged_headers(draw: Any, body: bytes, url: str) -> dict[str, str]:
    """Headers that do not authenticate ``body``: missing, garbage, or a real signature of
    something else (another secret, URI, method or body, or a time stamp out of the window)."""
    now = datetime.now(UTC)
    kind = draw(st.sampled_from(["garbage", "secret", "uri", "method", "body", "stale", "future"]))
    if kind == "garbage":
        names = st.sampled_from(
            [
                "X-HubSpot-Signature-v3",
                "x-hubspot-signature-v3",
                "X-HubSpot-Request-Timestamp",
                "X-HubSpot-Signature",
                "X-HubSpot-Signature-Version",
                "Content-Type",
                "Content-Encoding",
                "Authorization",
                "Host",
                "X-Forwarded-Host",
                "X-Forwarded-Proto",
            ]
        )
        headers = draw(st.dictionaries(names, header_values, max_size=6))
        stamp = str(int(now.timestamp() * 1000))
        if draw(st.booleans()):  # a well-formed time stamp beside a wrong signature
            headers["X-HubSpot-Request-Timestamp"] = (
                draw(
                    st.sampled_from([stamp, f" {stamp} ", "²³", "٣" * 13, "9" * 5000, "-1", "1e12"])
                )
                .encode()
                .decode("latin-1")
            )
            headers.setdefault("X-HubSpot-Signature-v3", draw(header_values) or "x")
        return headers
    if kind == "secret":
        return hubspot_headers(
            body,
            BASE + url,
            secret=draw(st.text(min_size=1, max_size=20)).replace(SECRET, "") or "other",
        )
    if kind == "uri":
        return hubspot_headers(body, BASE + url + draw(st.sampled_from(["/", "?a=1", "x"])))
    if kind == "method":
        return hubspot_headers(body, BASE + url, method="PUT")
    if kind == "body":
        return hubspot_headers(body + b" ", BASE + url)
    skew = timedelta(seconds=draw(st.integers(305, 10**6)))
    return hubspot_headers(body, BASE + url, now=now - skew if kind == "stale" else now + skew)


@given(data=st.data(), url=st.sampled_from([BATCH_URL, WORKFLOW_URL]))
def test_unauthentic_requests_are_refused_and_store_nothing(
    sqlite_service: Service, data: st.DataObject, url: str
) -> None:
    body = data.draw(st.one_of(odd_bodies, batches.map(dumps)), label="body")
    headers = data.draw(forged_headers(body, url), label="headers")
    before = sqlite_service.count()
    response = post(sqlite_service, url, body, headers)
    assert_refused(response)
    assert sqlite_service.count() == before


@given(
    body=odd_bodies,
    method=st.sampled_from(NOT_POST),
    url=st.sampled_from([BATCH_URL, WORKFLOW_URL]),
)
def test_other_methods_are_405_json(
    sqlite_service: Service, body: bytes, method: str, url: str
) -> None:
    before = sqlite_service.count()
    response = post(
        sqlite_service, url, body, hubspot_headers(body, BASE + url, method=method), method
    )
    assert_json_answer(response, {405})
    assert sqlite_service.count() == before
