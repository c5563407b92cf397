"""Properties of ``POST /webhooks/hubspot`` and ``/webhooks/hubspot/workflow``.

Unsigned (or wrongly signed) requests of any shape are refused 4xx with a JSON error and
store nothing; correctly signed odd payloads are judged without a 500, and every event stored
names exactly the deal and portal the notification sent, as strict integers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from middleware.crm.hubspot.signature import sign_v2
from tests.builders import SECRET, hubspot_headers
from tests.properties.checks import assert_json_answer, assert_refused, strict_id_of
from tests.properties.conftest import Service
from tests.properties.strategies import (
    MAX_OCCURRED_AT_MS,
    MISSING,
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


def decoded(body: bytes) -> Any:
    """What the body holds as JSON (any UTF encoding, as RFC 8259 readers detect), or
    MISSING when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return MISSING


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def acts_on_a_deal(n: dict[str, Any]) -> bool:
    kind = n.get("subscriptionType")
    return isinstance(kind, str) and (
        kind.startswith("deal.")
        or (kind.startswith("object.") and str(n.get("objectTypeId")) == "0-3")
    )


# -- signed -------------------------------------------------------------------------------


@given(batch=batches, data=st.data())
def test_signed_batches_store_only_strict_ids_exactly_as_sent(
    service: Service, batch: list[Any], data: st.DataObject
) -> None:
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


# -- workflow: signed -------------------------------------------------------------------


@st.composite
def real_enrollments(draw: Any) -> dict[str, Any]:
    """A workflow body: the deal as the CRM v3 API shows it (``id``), the legacy API's shape
    (``dealId``, ``portalId`` as ``{"value": …}``), or a customised one."""
    deal, portal = draw(good_ids), draw(good_ids)
    shape = draw(st.sampled_from(["v3", "legacy", "custom"]))
    if shape == "v3":
        return {
            "id": str(deal),
            "portalId": portal,
            "properties": {
                "hs_object_id": str(deal),
                "dealname": "Acme",
                "dealstage": "demoscheduled",
            },
            "createdAt": "2026-01-01T00:00:00Z",
            "archived": False,
        }
    if shape == "legacy":
        return {
            "dealId": deal,
            "portalId": {"value": portal},
            "properties": {"hs_object_id": {"value": str(deal)}, "dealname": {"value": "Acme"}},
        }
    return {"objectId": deal, "portalId": str(portal), "dealname": "Acme"}


workflow_bodies = mutated(
    real_enrollments(),
    {
        name: st.one_of(ids, ids.map(lambda v: {"value": v}))
        for name in ("id", "objectId", "dealId", "portalId")
    }
    | {"properties": st.one_of(json_values, st.fixed_dictionaries({"hs_object_id": ids}))},
)


def _unwrap(value: Any) -> Any:
    return value["value"] if isinstance(value, dict) and "value" in value else value


def expected_enrollment(sent: Any) -> tuple[int, int] | None:
    """(deal, portal) a workflow body names, judged on its own; None when it must be 400."""
    if not isinstance(sent, dict):
        return None
    props = sent.get("properties") if isinstance(sent.get("properties"), dict) else {}
    values = [_unwrap(sent.get(k)) for k in ("id", "objectId", "dealId")]
    values.append(_unwrap(props.get("hs_object_id")))
    present = [v for v in values if v is not None]
    deals = {strict_id_of(v) for v in present}
    portal = strict_id_of(_unwrap(sent.get("portalId")))
    if not present or None in deals or len(deals) != 1 or portal is None:
        return None
    return deals.pop(), portal


@given(sent=st.one_of(workflow_bodies, workflow_bodies, json_values), data=st.data())
def test_signed_workflow_bodies_store_exactly_the_deal_sent(
    service: Service, sent: Any, data: st.DataObject
) -> None:
    body = data.draw(st.one_of(st.just(dumps(sent)), encoded(sent)), label="body")
    uri = BASE + WORKFLOW_URL
    if data.draw(st.booleans(), label="v2"):
        headers = {
            "X-HubSpot-Signature": sign_v2(SECRET, "POST", uri, body),
            "X-HubSpot-Signature-Version": "v2",
        }
    else:
        headers = hubspot_headers(body, uri)
    service.empty()
    before = service.count()
    response = post(service, WORKFLOW_URL, body, headers)
    expected = expected_enrollment(decoded(body))
    if expected is None:
        assert_json_answer(response, {400})
        assert service.count() == before
        return
    answer = assert_json_answer(response, {200})
    assert answer["stored"] + answer["duplicates"] == 1
    assert service.count() - before == answer["stored"]
    for row in service.rows(answer["event_ids"]):
        assert (row.deal_id, row.account_id) == (str(expected[0]), str(expected[1]))
        assert row.trigger == "workflow"
