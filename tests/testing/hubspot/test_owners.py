"""Owner routes of the HubSpot emulator.

Over real sockets with ``requests``; see shared/reference/crm-webhooks-and-apis.md §1.7.
"""

from __future__ import annotations

import pytest

from tests.testing.hubspot.support import url

pytestmark = pytest.mark.timeout(10)


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
