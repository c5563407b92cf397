"""The Pipedrive emulator over real sockets, with plain ``requests``: it models the documented
API (reference §2.5), so these tests read like Pipedrive's docs, not like the client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from middleware.testing.pipedrive import PipedriveEmulator

MEET = "a" * 40
DAY = "b" * 40
TIME = "c" * 40


@pytest.fixture
def pd() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator() as emu:
        emu.define_field(MEET)
        emu.define_field(DAY, "date")
        emu.define_field(TIME, "time")
        emu.add_user(7, "rep@seller.example")
        emu.add_person(70, "buyer@acme.example")
        emu.add_person(71, "cfo@acme.example")
        emu.add_deal(
            1,
            stage_id=3,
            owner_id=7,
            person_id=70,
            participants=(71,),
            **{DAY: "2030-01-07", TIME: {"value": "15:00:00", "timezone_name": "Europe/Berlin"}},
        )
        yield emu


def get(pd: PipedriveEmulator, path: str, **params: object) -> requests.Response:
    return requests.get(pd.base_url + path, headers={"x-api-token": pd.api_token}, params=params)


def test_the_token_is_required_in_the_header_or_the_legacy_query(pd: PipedriveEmulator) -> None:
    assert requests.get(pd.base_url + "/api/v2/deals/1").status_code == 401
    wrong = requests.get(pd.base_url + "/api/v2/deals/1", headers={"x-api-token": "nope"})
    assert wrong.status_code == 401 and wrong.json()["success"] is False
    legacy = requests.get(pd.base_url + "/api/v2/deals/1", params={"api_token": pd.api_token})
    assert legacy.status_code == 200


def test_a_deal_reads_with_v2_custom_fields(pd: PipedriveEmulator) -> None:
    data = get(pd, "/api/v2/deals/1").json()["data"]
    assert (data["stage_id"], data["owner_id"], data["person_id"]) == (3, 7, 70)
    assert data["custom_fields"][DAY] == "2030-01-07"
    assert data["custom_fields"][TIME] == {"value": "15:00:00", "timezone_name": "Europe/Berlin"}
    assert get(pd, "/api/v2/deals/99").status_code == 404


def test_the_time_field_can_read_back_without_its_zone(pd: PipedriveEmulator) -> None:
    pd.time_with_zone = False
    assert get(pd, "/api/v2/deals/1").json()["data"]["custom_fields"][TIME] == "15:00:00"


def test_people_participants_and_users(pd: PipedriveEmulator) -> None:
    person = get(pd, "/api/v2/persons/70").json()["data"]
    assert person["emails"][0] == {"value": "buyer@acme.example", "primary": True, "label": "work"}
    first = get(pd, "/v1/deals/1/participants", limit=1).json()
    assert first["data"][0]["person"]["email"][0]["value"] == "buyer@acme.example"
    assert first["additional_data"]["pagination"]["next_start"] == 1
    second = get(pd, "/v1/deals/1/participants", limit=1, start=1).json()
    assert second["data"][0]["person_id"]["value"] == 71
    assert second["additional_data"]["pagination"]["more_items_in_collection"] is False
    assert get(pd, "/v1/users/7").json()["data"]["email"] == "rep@seller.example"
    assert get(pd, "/v1/users/8").status_code == 404


def test_patch_writes_and_clears_text_fields_and_refuses_unknown_keys(
    pd: PipedriveEmulator,
) -> None:
    url, headers = pd.base_url + "/api/v2/deals/1", {"x-api-token": pd.api_token}
    ok = requests.patch(url, headers=headers, json={"custom_fields": {MEET: "https://meet"}})
    assert ok.status_code == 200 and pd.fields(1)[MEET] == "https://meet"
    assert requests.patch(url, headers=headers, json={"custom_fields": {MEET: None}}).ok
    assert MEET not in pd.fields(1)
    bad = requests.patch(url, headers=headers, json={"custom_fields": {"d" * 40: "x"}})
    assert bad.status_code == 400 and "d" * 40 in bad.json()["error"]
    number = requests.patch(url, headers=headers, json={"custom_fields": {MEET: 5}})
    assert number.status_code == 400
    assert pd.patches == [(1, {MEET: "https://meet"}), (1, {MEET: None})]


def test_stages_are_cursor_paged(pd: PipedriveEmulator) -> None:
    first = get(pd, "/api/v2/stages", limit=2).json()
    assert [s["id"] for s in first["data"]] == [1, 2]
    rest = get(pd, "/api/v2/stages", cursor=first["additional_data"]["next_cursor"]).json()
    assert [s["name"] for s in rest["data"]][0] == "Demo Scheduled"
    assert rest["additional_data"]["next_cursor"] is None


@pytest.mark.parametrize(
    "mode, status, flagged", [("not_found", 404, None), ("flagged", 200, True)]
)
def test_a_deleted_deal_is_gone_or_flagged(
    pd: PipedriveEmulator, mode: str, status: int, flagged: bool | None
) -> None:
    pd.deleted_reads = mode
    pd.delete_deal(1)
    answer = get(pd, "/api/v2/deals/1")
    assert answer.status_code == status
    if flagged:
        assert answer.json()["data"]["is_deleted"] is True


def test_injected_faults_answer_once_then_the_api_serves(pd: PipedriveEmulator) -> None:
    pd.fail_next(429, headers={"Retry-After": "3", "x-ratelimit-reset": "2"}, path="/deals/")
    assert get(pd, "/v1/users/7").status_code == 200  # another path is served
    limited = get(pd, "/api/v2/deals/1")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    pd.fail_next(503, count=2)
    assert [get(pd, "/api/v2/deals/1").status_code for _ in range(3)] == [503, 503, 200]


def test_the_current_user_is_the_tokens_user_with_its_company(pd: PipedriveEmulator) -> None:
    pd.add_user(9, "admin@seller.example", "Ada Admin")
    me = get(pd, "/v1/users/me").json()["data"]
    assert (me["id"], me["email"], me["company_name"]) == (7, "rep@seller.example", "Demo Company")
    assert me["company_id"] == 8087566 and me["is_you"] is True
    pd.token_user_id = 9
    assert get(pd, "/v1/users/me").json()["data"]["email"] == "admin@seller.example"
    assert requests.get(pd.base_url + "/v1/users/me").status_code == 401


def test_every_user_is_listed_active_or_not(pd: PipedriveEmulator) -> None:
    pd.add_user(8, "gone@seller.example", active=False)
    users = get(pd, "/v1/users").json()["data"]
    assert [(u["id"], u["email"], u["active_flag"]) for u in users] == [
        (7, "rep@seller.example", True),
        (8, "gone@seller.example", False),
    ]


def test_deal_fields_list_system_and_custom_fields_cursor_paged(pd: PipedriveEmulator) -> None:
    pd.define_field("d" * 40, "text", "Demo notes")
    first = get(pd, "/api/v2/dealFields", limit=3).json()
    assert [f["field_code"] for f in first["data"]] == ["title", "value", "stage_id"]
    assert first["data"][0]["is_custom_field"] is False
    fields, cursor = list(first["data"]), first["additional_data"]["next_cursor"]
    while cursor:
        page = get(pd, "/api/v2/dealFields", limit=3, cursor=cursor).json()
        fields += page["data"]
        cursor = page["additional_data"]["next_cursor"]
    custom = {f["field_code"]: f for f in fields if f["is_custom_field"]}
    assert {k: f["field_type"] for k, f in custom.items()} == {
        MEET: "varchar",
        DAY: "date",
        TIME: "time",
        "d" * 40: "text",
    }
    assert custom["d" * 40]["field_name"] == "Demo notes"
    pd.remove_field(MEET)
    codes = [f["field_code"] for f in get(pd, "/api/v2/dealFields", limit=500).json()["data"]]
    assert MEET not in codes and DAY in codes


def test_an_injected_fault_can_be_kept_for_one_method(pd: PipedriveEmulator) -> None:
    pd.fail_next(429, path="/api/v2/deals/1", method="patch")
    assert get(pd, "/api/v2/deals/1").status_code == 200  # the read is served
    patch = requests.patch(
        pd.base_url + "/api/v2/deals/1",
        headers={"x-api-token": pd.api_token},
        json={"custom_fields": {MEET: "https://meet.google.com/abc"}},
    )
    assert patch.status_code == 429 and pd.fields(1).get(MEET) is None
