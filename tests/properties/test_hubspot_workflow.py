"""Properties of ``POST /webhooks/hubspot/workflow`` (HubSpot workflow "Send a webhook").

Correctly signed (v3 or v2) bodies of any shape are answered 400 exactly when they name no
single strict deal id and portal id, else 200 with one event that names exactly those.
Refusals of unsigned requests are in ``test_hubspot_webhooks.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from middleware.crm.hubspot.signature import sign_v2
from tests.builders import SECRET, hubspot_headers
from tests.properties.checks import assert_json_answer, decoded, strict_id_of
from tests.properties.conftest import PER_FIELD, Service
from tests.properties.strategies import (
    dumps,
    encoded,
    good_ids,
    ids,
    json_values,
    mutated,
    one_field_odd,
)

URL = "/webhooks/hubspot/workflow"
URI = "http://localhost" + URL


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


def check_workflow(service: Service, sent: Any, data: st.DataObject) -> None:
    """Signed v3 or v2: 400 exactly when :func:`expected_enrollment` says so, else 200 and
    one event naming that deal and portal."""
    body = data.draw(st.one_of(st.just(dumps(sent)), encoded(sent)), label="body")
    uri = URI
    if data.draw(st.booleans(), label="v2"):
        headers = {
            "X-HubSpot-Signature": sign_v2(SECRET, "POST", uri, body),
            "X-HubSpot-Signature-Version": "v2",
        }
    else:
        headers = hubspot_headers(body, uri)
    service.empty()
    before = service.count()
    response = service.client.post(URL, data=body, headers=headers)
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


@given(sent=st.one_of(workflow_bodies, workflow_bodies, json_values), data=st.data())
def test_signed_workflow_bodies_store_exactly_the_deal_sent(
    service: Service, sent: Any, data: st.DataObject
) -> None:
    check_workflow(service, sent, data)


ODD_FIELDS = {
    "id": ids,
    "objectId": ids,
    "dealId": ids,
    "portalId": ids,
    "portalId.value": ids,
    "properties": json_values,
    "properties.hs_object_id": ids,
    "properties.hs_object_id.value": ids,
}


@pytest.mark.parametrize("path", sorted(ODD_FIELDS))
def test_one_odd_field_in_an_enrollment(service: Service, path: str) -> None:
    @PER_FIELD
    @given(sent=one_field_odd(real_enrollments(), path, ODD_FIELDS[path]), data=st.data())
    def judged(sent: Any, data: st.DataObject) -> None:
        check_workflow(service, sent, data)

    judged()
