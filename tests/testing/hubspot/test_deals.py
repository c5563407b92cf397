"""Deal routes of the HubSpot emulator: reads, PATCH validation, validation rules.

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.testing.hubspot.support import patch_deal, url

pytestmark = pytest.mark.timeout(10)


# ---- deals ------------------------------------------------------------------------------


def test_deal_read_with_requested_properties_and_associations(hs, api) -> None:
    response = api.get(
        url(hs, "/crm/v3/objects/deals/301"),
        params={
            "properties": "dealname,dealstage,pipeline,hubspot_owner_id,demo_start_time,nope",
            "associations": "contacts",
            "archived": "false",
        },
    )
    assert response.status_code == 200
    deal = response.json()
    assert deal["id"] == "301"
    assert deal["archived"] is False
    assert deal["createdAt"].endswith("Z") and deal["updatedAt"].endswith("Z")
    props = deal["properties"]
    # Requested + always-returned ones; the unknown "nope" is ignored.
    assert set(props) == {
        "dealname",
        "dealstage",
        "pipeline",
        "hubspot_owner_id",
        "demo_start_time",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }
    assert props["dealname"] == "Acme"
    assert props["dealstage"] == "demoscheduled"
    assert props["pipeline"] == "default"  # HubSpot's default when none is given
    assert props["hubspot_owner_id"] == "101"
    assert props["demo_start_time"] == "2030-01-01T10:00:00Z"
    assert props["hs_object_id"] == "301"
    assert deal["associations"] == {
        "contacts": {
            "results": [
                {"id": "201", "type": "deal_to_contact"},
                {"id": "202", "type": "deal_to_contact"},
            ]
        }
    }


def test_deal_read_repeated_properties_params(hs, api) -> None:
    response = api.get(
        url(hs, "/crm/v3/objects/deals/301"), params={"properties": ["dealname", "amount"]}
    )
    assert set(response.json()["properties"]) == {
        "dealname",
        "amount",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }


def test_deal_read_omits_associations_unless_asked_and_present(hs, api) -> None:
    plain = api.get(url(hs, "/crm/v3/objects/deals/301")).json()
    assert "associations" not in plain
    lonely = api.get(url(hs, "/crm/v3/objects/deals/302"), params={"associations": "contacts"})
    assert "associations" not in lonely.json()


def _deal_with_contacts(hs, deal_id: str, count: int) -> None:
    ids = [str(5000 + n) for n in range(count)]
    for contact_id in ids:
        hs.add_contact(contact_id, f"c{contact_id}@example.com")
    hs.add_deal(deal_id, {"dealname": "Big", "dealstage": "demoscheduled"}, contact_ids=ids)


def test_embedded_associations_stop_at_100_with_the_next_page_in_their_paging(hs, api) -> None:
    _deal_with_contacts(hs, "310", 130)
    block = api.get(
        url(hs, "/crm/v3/objects/deals/310"), params={"associations": "contacts"}
    ).json()["associations"]["contacts"]
    assert [r["id"] for r in block["results"]] == [str(5000 + n) for n in range(100)]
    assert block["paging"]["next"]["after"]

    _deal_with_contacts(hs, "311", 100)  # exactly 100: nothing more, no paging
    exact = api.get(url(hs, "/crm/v3/objects/deals/311"), params={"associations": "contacts"})
    assert len(exact.json()["associations"]["contacts"]["results"]) == 100
    assert "paging" not in exact.json()["associations"]["contacts"]


def test_embedded_associations_can_be_cut_without_paging(hs, api) -> None:
    _deal_with_contacts(hs, "310", 130)
    hs.embedded_association_paging = False
    block = api.get(
        url(hs, "/crm/v3/objects/deals/310"), params={"associations": "contacts"}
    ).json()["associations"]["contacts"]
    assert len(block["results"]) == 100
    assert "paging" not in block


def test_deal_read_defaults_and_null_for_unset_defined_properties(hs, api) -> None:
    default = api.get(url(hs, "/crm/v3/objects/deals/302")).json()["properties"]
    assert set(default) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    assert default["amount"] is None
    asked = api.get(
        url(hs, "/crm/v3/objects/deals/302"),
        params={"properties": "demo_meet_url,demo_calendar_event_id"},
    ).json()["properties"]
    assert asked["demo_meet_url"] is None
    assert asked["demo_calendar_event_id"] is None


def test_deal_read_unknown_deal_is_404(hs, api) -> None:
    response = api.get(url(hs, "/crm/v3/objects/deals/999"))
    assert response.status_code == 404
    body = response.json()
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"] == "Object not found.  objectId are usually numeric."
    assert body["context"] == {"id": ["999"]}
    archived = api.get(url(hs, "/crm/v3/objects/deals/301"), params={"archived": "true"})
    assert archived.status_code == 404


def test_patch_updates_deal_and_is_recorded(hs, api) -> None:
    before = hs.deal_properties("301")["hs_lastmodifieddate"]
    time.sleep(0.002)
    response = patch_deal(
        api,
        hs,
        "301",
        {"demo_meet_url": "https://meet.google.com/abc-defg-hij", "amount": 1500, "dealname": "X"},
    )
    assert response.status_code == 200
    deal = response.json()
    assert deal["id"] == "301"
    # The answer carries every stored property with a value, as strings.
    assert deal["properties"]["demo_meet_url"] == "https://meet.google.com/abc-defg-hij"
    assert deal["properties"]["amount"] == "1500"
    assert deal["properties"]["hubspot_owner_id"] == "101"
    assert "demo_calendar_event_id" not in deal["properties"]
    assert hs.patches == [
        {
            "deal_id": "301",
            "properties": {
                "demo_meet_url": "https://meet.google.com/abc-defg-hij",
                "amount": "1500",
                "dealname": "X",
            },
        }
    ]
    state = hs.deal_properties("301")
    assert state["demo_meet_url"] == "https://meet.google.com/abc-defg-hij"
    assert state["hs_lastmodifieddate"] > before
    assert deal["updatedAt"] == state["hs_lastmodifieddate"]


def test_patch_empty_string_or_null_clears_a_value(hs, api) -> None:
    hs.set_deal_properties("301", demo_meet_url="https://meet.google.com/old")
    assert patch_deal(api, hs, "301", {"demo_meet_url": ""}).status_code == 200
    assert hs.deal_properties("301")["demo_meet_url"] == ""
    assert patch_deal(api, hs, "301", {"demo_calendar_event_id": None}).status_code == 200
    assert hs.deal_properties("301")["demo_calendar_event_id"] == ""


def _invalid_properties(response: requests.Response) -> list[dict]:
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix)
    return json.loads(body["message"][len(prefix) :])


def test_patch_unknown_property_is_rejected_whole(hs, api) -> None:
    response = patch_deal(api, hs, "301", {"demo_meet_url": "https://x", "meet_link": "y"})
    assert response.status_code == 400
    assert _invalid_properties(response) == [
        {
            "isValid": False,
            "message": 'Property "meet_link" does not exist',
            "error": "PROPERTY_DOESNT_EXIST",
            "name": "meet_link",
            "localizedErrorMessage": 'Property "meet_link" does not exist',
            "portalId": 62515,
        }
    ]
    assert hs.patches == []
    assert hs.deal_properties("301")["demo_meet_url"] is None  # nothing applied


def test_patch_read_only_property_is_rejected(hs, api) -> None:
    response = patch_deal(api, hs, "301", {"hs_object_id": "1"})
    assert response.status_code == 400
    [error] = _invalid_properties(response)
    assert error["error"] == "READ_ONLY_VALUE"
    assert error["name"] == "hs_object_id"
    assert hs.patches == []


def test_patch_unknown_deal_is_404(hs, api) -> None:
    response = patch_deal(api, hs, "999", {"demo_meet_url": "https://x"})
    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"
    assert hs.patches == []


def test_patch_without_properties_object_is_400(hs, api) -> None:
    response = api.patch(url(hs, "/crm/v3/objects/deals/301"), json={"demo_meet_url": "x"})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_removed_property_can_no_longer_be_patched(hs, api) -> None:
    hs.remove_property("demo_meet_url")
    response = patch_deal(api, hs, "301", {"demo_meet_url": "https://x"})
    assert [e["error"] for e in _invalid_properties(response)] == ["PROPERTY_DOESNT_EXIST"]
    hs.define_property("demo_meet_url")
    assert patch_deal(api, hs, "301", {"demo_meet_url": "https://x"}).status_code == 200


def test_set_deal_properties_changes_state_without_a_patch(hs) -> None:
    hs.set_deal_properties("301", dealstage="closedlost", demo_start_time=None)
    props = hs.deal_properties("301")
    assert props["dealstage"] == "closedlost"
    assert props["demo_start_time"] is None
    assert hs.patches == []
    with pytest.raises(ValueError, match="define_property"):
        hs.set_deal_properties("301", not_a_property="x")
    with pytest.raises(ValueError):
        hs.add_deal("303", {"typo_stage": "x"})
    with pytest.raises(KeyError):
        hs.deal_properties("999")


def test_validation_rule_refuses_deal_patches(hs, api) -> None:
    rule = "Deal 'Amount' is required when the stage is Demo Scheduled"
    hs.add_validation_rule(rule, deal_ids=["301"])
    refused = patch_deal(api, hs, "301", {"demo_meet_url": "https://meet.google.com/a"})
    assert refused.status_code == 400
    body = refused.json()
    assert (body["status"], body["category"], body["message"]) == (
        "error",
        "VALIDATION_ERROR",
        rule,
    )
    assert body["correlationId"]
    assert hs.patches == [] and hs.deal_properties("301")["demo_meet_url"] is None
    assert patch_deal(api, hs, "302", {"dealname": "x"}).status_code == 200  # other deal

    hs.validation_rules_apply_to_v3 = False  # the other reading of the changelog
    assert patch_deal(api, hs, "301", {"dealname": "y"}).status_code == 200
    hs.validation_rules_apply_to_v3 = True
    hs.clear_validation_rules()
    assert patch_deal(api, hs, "301", {"dealname": "z"}).status_code == 200
