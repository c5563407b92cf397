"""Contact and association routes of the HubSpot emulator (v3, v4 paging, batch read).

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import pytest

from tests.testing.hubspot.support import url

pytestmark = pytest.mark.timeout(10)


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
