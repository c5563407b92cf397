"""Tests of the HubSpot CRM v3 emulator, over real sockets with ``requests``.

The emulator stands in for HubSpot in the integration tests, so these tests pin the response
shapes the real client depends on (see shared/reference/crm-webhooks-and-apis.md §1.7).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.fakes.hubspot_emulator import HubSpotEmulator

pytestmark = pytest.mark.timeout(10)

TOKEN = "pat-na1-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hs() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as emulator:
        emulator.add_owner("101", "rep@example.com", "Sam", "Rep")
        emulator.add_contact("201", "ada@example.com", "Ada", "Lovelace")
        emulator.add_contact("202", "alan@example.com", "Alan", "Turing")
        emulator.add_deal(
            "301",
            {
                "dealname": "Acme",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": "2030-01-01T10:00:00Z",
            },
            contact_ids=["201", "202"],
        )
        emulator.add_deal("302", {"dealname": "Lonely", "dealstage": "demoscheduled"})
        yield emulator


@pytest.fixture
def api(hs: HubSpotEmulator) -> requests.Session:
    session = requests.Session()
    session.headers.update(AUTH)
    return session


def url(hs: HubSpotEmulator, path: str) -> str:
    return hs.base_url + path


def patch_deal(api: requests.Session, hs: HubSpotEmulator, deal_id: str, props: dict):
    return api.patch(url(hs, f"/crm/v3/objects/deals/{deal_id}"), json={"properties": props})


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


def test_deal_contact_associations_endpoints(hs, api) -> None:
    v3 = api.get(url(hs, "/crm/v3/objects/deals/301/associations/contacts")).json()
    assert v3 == {
        "results": [
            {"id": "201", "type": "deal_to_contact"},
            {"id": "202", "type": "deal_to_contact"},
        ]
    }
    v4 = api.get(url(hs, "/crm/v4/objects/deals/301/associations/contacts")).json()
    assert [r["toObjectId"] for r in v4["results"]] == [201, 202]


# ---- contacts ---------------------------------------------------------------------------


def test_contacts_batch_read(hs, api) -> None:
    response = api.post(
        url(hs, "/crm/v3/objects/contacts/batch/read"),
        json={
            "properties": ["email", "firstname", "lastname"],
            "inputs": [{"id": "201"}, {"id": "202"}],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert body["startedAt"] and body["completedAt"]
    assert "errors" not in body
    ada, alan = body["results"]
    assert ada["id"] == "201"
    assert ada["archived"] is False
    assert ada["properties"]["email"] == "ada@example.com"
    assert ada["properties"]["firstname"] == "Ada"
    assert ada["properties"]["lastname"] == "Lovelace"
    assert ada["properties"]["hs_object_id"] == "201"
    assert alan["properties"]["email"] == "alan@example.com"


def test_contacts_batch_read_partial_is_207(hs, api) -> None:
    hs.add_contact("203", None)  # no email, no names: they read back as null
    response = api.post(
        url(hs, "/crm/v3/objects/contacts/batch/read"),
        json={"properties": ["email", "firstname"], "inputs": [{"id": "203"}, {"id": "404"}]},
    )
    assert response.status_code == 207
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["203"]
    assert body["results"][0]["properties"]["email"] is None
    assert body["results"][0]["properties"]["firstname"] is None
    assert body["numErrors"] == 1
    [error] = body["errors"]
    assert error["status"] == "error"
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["message"].startswith("Could not get some CONTACT objects")
    assert error["context"] == {"ids": ["404"]}


def test_contacts_batch_read_limits_inputs(hs, api) -> None:
    inputs = [{"id": str(i)} for i in range(101)]
    response = api.post(url(hs, "/crm/v3/objects/contacts/batch/read"), json={"inputs": inputs})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_single_contact_read(hs, api) -> None:
    contact = api.get(url(hs, "/crm/v3/objects/contacts/202"), params={"properties": "email"})
    assert contact.json()["properties"]["email"] == "alan@example.com"
    assert api.get(url(hs, "/crm/v3/objects/contacts/999")).status_code == 404


# ---- owners -----------------------------------------------------------------------------


def test_owner_get(hs, api) -> None:
    response = api.get(url(hs, "/crm/v3/owners/101"))
    assert response.status_code == 200
    owner = response.json()
    assert owner["id"] == "101"
    assert owner["email"] == "rep@example.com"
    assert (owner["firstName"], owner["lastName"]) == ("Sam", "Rep")
    assert isinstance(owner["userId"], int)
    assert owner["archived"] is False
    assert owner["teams"] == []
    assert owner["type"] == "PERSON"
    by_user = api.get(url(hs, f"/crm/v3/owners/{owner['userId']}"), params={"idProperty": "userId"})
    assert by_user.json()["id"] == "101"


def test_owner_unknown_or_archived_is_404(hs, api) -> None:
    assert api.get(url(hs, "/crm/v3/owners/999")).status_code == 404
    hs.add_owner("102", "gone@example.com", archived=True)
    response = api.get(url(hs, "/crm/v3/owners/102"))
    assert response.status_code == 404
    assert response.json()["category"] == "OBJECT_NOT_FOUND"
    archived = api.get(url(hs, "/crm/v3/owners/102"), params={"archived": "true"})
    assert archived.status_code == 200
    assert archived.json()["archived"] is True


def test_owner_list_pages(hs, api) -> None:
    hs.add_owner("102", "b@example.com")
    hs.add_owner("103", "c@example.com")
    first = api.get(url(hs, "/crm/v3/owners"), params={"limit": 2}).json()
    assert [o["id"] for o in first["results"]] == ["101", "102"]
    after = first["paging"]["next"]["after"]
    second = api.get(url(hs, "/crm/v3/owners"), params={"limit": 2, "after": after}).json()
    assert [o["id"] for o in second["results"]] == ["103"]
    assert "paging" not in second
    by_email = api.get(url(hs, "/crm/v3/owners"), params={"email": "C@example.com"}).json()
    assert [o["id"] for o in by_email["results"]] == ["103"]


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


# ---- account details (the token's portal) -----------------------------------------------


@pytest.mark.parametrize("path", ["/account-info/v3/details", "/account-info/2026-03/details"])
def test_account_details(hs, api, path: str) -> None:
    details = api.get(url(hs, path)).json()
    assert details["portalId"] == 62515
    assert details["timeZone"] == "US/Eastern"
    assert details["accountType"] == "STANDARD"
    assert details["utcOffsetMilliseconds"] in (-18_000_000, -14_400_000)  # EST / EDT
    assert details["utcOffset"] in ("-05:00", "-04:00")
    assert requests.get(url(hs, path)).status_code == 401


def test_account_details_are_settable() -> None:
    with HubSpotEmulator(portal_id=777, time_zone="Asia/Kolkata") as hs:
        details = requests.get(url(hs, "/account-info/v3/details"), headers=AUTH).json()
        assert (details["portalId"], details["timeZone"]) == (777, "Asia/Kolkata")
        assert (details["utcOffset"], details["utcOffsetMilliseconds"]) == ("+05:30", 19_800_000)
        hs.time_zone = "UTC"
        details = requests.get(url(hs, "/account-info/v3/details"), headers=AUTH).json()
        assert (details["timeZone"], details["utcOffset"]) == ("UTC", "+00:00")


# ---- v4 association paging --------------------------------------------------------------


def test_v4_associations_page_with_limit_and_after(hs, api) -> None:
    ids = [str(5000 + i) for i in range(7)]
    hs.add_deal("303", {"dealname": "Many"}, contact_ids=ids)
    path = url(hs, "/crm/v4/objects/deals/303/associations/contacts")
    seen: list[int] = []
    afters: list[str] = []
    params: dict = {"limit": 3}
    while True:
        body = api.get(path, params=params).json()
        seen += [r["toObjectId"] for r in body["results"]]
        assert all(r["associationTypes"][0]["typeId"] == 3 for r in body["results"])
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
        assert after not in afters
        afters.append(after)
        params = {"limit": 3, "after": after}
    assert seen == [int(i) for i in ids]
    assert len(afters) == 2  # pages of 3, 3, 1
    assert api.get(path, params={"after": "not a cursor"}).status_code == 400


def test_v4_associations_limit_is_cut_to_the_page_maximum(hs, api) -> None:
    hs.add_deal("303", {"dealname": "Many"}, contact_ids=[str(i) for i in range(600)])
    path = url(hs, "/crm/v4/objects/deals/303/associations/contacts")
    first = api.get(path, params={"limit": 1000}).json()
    assert len(first["results"]) == 500 and "after" in first["paging"]["next"]
    hs.association_page_max = 100
    assert len(api.get(path, params={"limit": 500}).json()["results"]) == 100
    everything = api.get(path).json()  # no limit: a page of the default size
    assert len(everything["results"]) == 100


def test_v4_associations_of_a_deal_without_contacts(hs, api) -> None:
    body = api.get(url(hs, "/crm/v4/objects/deals/302/associations/contacts")).json()
    assert body == {"results": []}
    assert api.get(url(hs, "/crm/v4/objects/deals/999/associations/contacts")).status_code == 404


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
