"""Property definition and pipeline routes of the HubSpot emulator.

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import pytest

from tests.testing.hubspot.support import url

pytestmark = pytest.mark.timeout(10)


# ---- properties and pipelines -----------------------------------------------------------


def test_deal_property_definitions(hs, api) -> None:
    meet = api.get(url(hs, "/crm/v3/properties/deals/demo_meet_url")).json()
    assert (meet["name"], meet["type"], meet["fieldType"]) == ("demo_meet_url", "string", "text")
    assert meet["groupName"] == "dealinformation"
    assert meet["hidden"] is False
    assert meet["modificationMetadata"]["readOnlyValue"] is False
    start = api.get(url(hs, "/crm/v3/properties/deals/demo_start_time")).json()
    assert start["type"] == "datetime"
    record_id = api.get(url(hs, "/crm/v3/properties/deals/hs_object_id")).json()
    assert record_id["modificationMetadata"]["readOnlyValue"] is True
    stage = api.get(url(hs, "/crm/v3/properties/deals/dealstage")).json()
    assert stage["type"] == "enumeration"
    assert {"label": "Demo Scheduled", "value": "demoscheduled"}.items() <= next(
        o for o in stage["options"] if o["value"] == "demoscheduled"
    ).items()


def test_deal_property_missing_is_404(hs, api) -> None:
    hs.remove_property("demo_calendar_event_id")
    response = api.get(url(hs, "/crm/v3/properties/deals/demo_calendar_event_id"))
    assert response.status_code == 404
    body = response.json()
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["message"].startswith("Unable to find property")
    assert "demo_calendar_event_id" not in hs.deal_properties("301")


def test_define_property(hs, api) -> None:
    hs.define_property("meet_link", label="Meet link", read_only=True)
    prop = api.get(url(hs, "/crm/v3/properties/deals/meet_link")).json()
    assert prop["label"] == "Meet link"
    assert prop["modificationMetadata"]["readOnlyValue"] is True


def test_pipelines(hs, api) -> None:
    [pipeline] = api.get(url(hs, "/crm/v3/pipelines/deals")).json()["results"]
    assert (pipeline["id"], pipeline["label"], pipeline["displayOrder"]) == (
        "default",
        "Sales Pipeline",
        0,
    )
    assert pipeline["archived"] is False
    stages = {s["id"]: s for s in pipeline["stages"]}
    assert set(stages) == {
        "appointmentscheduled",
        "demoscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    }
    assert stages["demoscheduled"]["label"] == "Demo Scheduled"
    assert stages["appointmentscheduled"]["metadata"] == {"isClosed": "false", "probability": "0.2"}
    assert stages["closedwon"]["metadata"]["isClosed"] == "true"
    assert [s["displayOrder"] for s in pipeline["stages"]] == list(range(len(stages)))


def test_add_stage_to_new_pipeline(hs, api) -> None:
    hs.add_stage("enterprise", "3752325848", "Demo Scheduled")
    results = api.get(url(hs, "/crm/v3/pipelines/deals")).json()["results"]
    assert [p["id"] for p in results] == ["default", "enterprise"]
    enterprise = api.get(url(hs, "/crm/v3/pipelines/deals/enterprise")).json()
    assert [(s["id"], s["label"]) for s in enterprise["stages"]] == [
        ("3752325848", "Demo Scheduled")
    ]
    assert api.get(url(hs, "/crm/v3/pipelines/deals/nope")).status_code == 404
