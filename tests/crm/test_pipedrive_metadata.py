"""The Pipedrive client's company-level reads (``metadata.py``) against the emulator over real
sockets: the token's user, every deal field across pages, the users."""

from __future__ import annotations

import pytest

from middleware.errors import PermanentError
from tests.crm.test_pipedrive_client import MEET, client, pd  # noqa: F401 - fixture


def test_check_token_answers_the_tokens_user_and_company(pd) -> None:  # noqa: F811
    me = client(pd).check_token()
    assert (me["email"], me["company_name"]) == ("rep@seller.example", "Demo Company")
    with pytest.raises(PermanentError) as caught:
        client(pd, token="pd-wrong").check_token()
    assert caught.value.reason == "crm_unauthorized"
    assert "pd-wrong" not in caught.value.message


def test_deal_fields_are_listed_across_pages(pd) -> None:  # noqa: F811
    for n in range(150):
        pd.define_field(f"{n:040x}", "varchar", f"F{n}")
    fields = client(pd).list_deal_fields()
    custom = [f for f in fields if f["is_custom_field"]]
    assert len(custom) == 155 and custom[0]["field_code"] == MEET
    assert any(f["field_code"] == "title" and not f["is_custom_field"] for f in fields)


def test_a_missing_deal_field_list_is_an_error_not_an_empty_list(pd) -> None:  # noqa: F811
    pd.fail_next(404, path="/dealFields")
    with pytest.raises(PermanentError) as caught:
        client(pd).list_deal_fields()
    assert caught.value.reason == "crm_bad_request" and "404" in caught.value.message


def test_users_are_listed_active_or_not(pd) -> None:  # noqa: F811
    pd.add_user(8, "left@seller.example", active=False)
    users = client(pd).list_users()
    assert [(u["email"], u["active_flag"]) for u in users] == [
        ("rep@seller.example", True),
        ("left@seller.example", False),
    ]
