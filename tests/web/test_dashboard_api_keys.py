"""The dashboard's API keys page over the real app and store: a key made in the form is shown
once (and works), never again; revoking is confirmed first; both are CSRF-guarded and audited,
through the same code as ``/admin/api-keys``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from middleware.meetings_api.keys import key_hash
from middleware.store import Store
from tests.builders import ADMIN_TOKEN
from tests.web.test_dashboard import csrf_of, post, sign_in, text_of

PAGE = "/dashboard/api-keys"


@pytest.fixture
def store(app: Any) -> Store:
    """The app's own store (not the suite's parametrized one)."""
    return app.extensions["middleware"].store


def make(client: Any, **form: str) -> Any:
    return post(client, PAGE, PAGE, **form)


def secret_of(page: str) -> str:
    match = re.search(r'id="new-key"[^>]* value="(mk_[^"]+)"', page)
    assert match, "no key on the page"
    return match.group(1)


def meetings_answer(client: Any, key: str) -> int:
    status: int = client.get(
        "/api/meetings", headers={"Authorization": f"Bearer {key}"}
    ).status_code
    return status


def test_a_key_made_in_the_form_is_shown_once_and_works(client: Any, store: Store) -> None:
    sign_in(client)
    empty = client.get(PAGE)
    assert empty.status_code == 200 and "No key made yet" in empty.text
    assert 'href="/dashboard/api-keys"' in empty.text  # in the navigation
    made = make(
        client, name="booking page", scope="write", organizers="@Sales.Example, ana@x.example"
    )
    assert made.status_code == 200 and "shown this once" in made.text
    assert made.headers["Cache-Control"] == "no-store"  # not kept by the browser or a proxy
    secret = secret_of(made.text)
    [record] = store.list_api_keys()
    assert store.api_key_by_hash(key_hash(secret)) == record
    assert (record.name, record.scope, record.organizers) == (
        "booking page",
        "write",
        ("@sales.example", "ana@x.example"),
    )
    assert meetings_answer(client, secret) == 200
    listing = client.get(PAGE).text
    assert "booking page" in listing and f"{record.prefix}…" in listing
    assert "@sales.example, ana@x.example" in text_of(listing)
    for path in (PAGE, "/dashboard/audit", f"{PAGE}/{record.id}/revoke", "/dashboard/"):
        page = client.get(path).text
        assert secret not in page and secret[len(record.prefix) :] not in page, path
        assert ADMIN_TOKEN not in page, path
    [audit], _ = store.list_audit()
    assert (audit.action, audit.actor) == ("api_key_create", "dashboard:127.0.0.1")
    assert audit.target == {"api_key_id": record.id, "name": "booking page", "scope": "write"}


def test_bad_input_makes_no_key_and_says_why(client: Any, store: Store) -> None:
    sign_in(client)
    for form, word in (
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"name": "", "scope": "read"}, "name"),
        ({"name": "x" * 101, "scope": "read"}, "name"),
        ({"name": "x", "scope": "read", "organizers": "nobody"}, "neither an email nor @domain"),
    ):
        answer = make(client, **form)
        assert answer.status_code == 400 and word in answer.text, form
        assert "No key made" in answer.text and "mk_" not in answer.text
    assert store.list_api_keys() == [] and store.list_audit()[0] == []
    kept = make(client, name="kept name", scope="write", organizers="nobody")
    assert 'value="kept name"' in kept.text  # the form keeps what was typed


def test_revoking_is_confirmed_first_then_audited(client: Any, store: Store) -> None:
    sign_in(client)
    secret = secret_of(make(client, name="bot", scope="read").text)
    [record] = store.list_api_keys()
    listing = client.get(PAGE).text
    confirm_url = f"{PAGE}/{record.id}/revoke"
    assert f'href="{confirm_url}"' in listing
    confirm = client.get(confirm_url)
    assert confirm.status_code == 200 and "Revoke the key bot?" in confirm.text
    assert store.list_api_keys()[0].active  # asking changed nothing
    done = post(client, confirm_url, confirm_url)
    assert done.status_code == 303 and done.headers["Location"] == PAGE
    after = client.get(PAGE).text
    assert "Revoked the key &#39;bot&#39;" in after and "status-revoked" in after
    assert f'href="{confirm_url}"' not in after
    assert not store.list_api_keys()[0].active
    assert meetings_answer(client, secret) == 401
    again = client.post(confirm_url, data={"csrf_token": csrf_of(after)})
    assert "revoked already" in client.get(again.headers["Location"]).text
    actions = [(a.action, a.actor) for a in store.list_audit()[0]]
    assert actions == [
        ("api_key_revoke", "dashboard:127.0.0.1"),
        ("api_key_create", "dashboard:127.0.0.1"),
    ]
    assert client.get(f"{PAGE}/999/revoke").status_code == 404
    assert post(client, f"{PAGE}/999/revoke", PAGE).status_code == 404


def test_making_and_revoking_need_the_csrf_token(client: Any, store: Store) -> None:
    assert client.get(PAGE).status_code == 303  # signed out: to the sign-in page
    sign_in(client)
    secret_of(make(client, name="bot", scope="write").text)
    [record] = store.list_api_keys()
    for path, form in (
        (PAGE, {"name": "sneaky", "scope": "write"}),
        (f"{PAGE}/{record.id}/revoke", {}),
    ):
        refused = client.post(path, data=form)
        assert refused.status_code == 400 and "CSRF" in refused.text, path
        forged = client.post(path, data={**form, "csrf_token": "forged"})
        assert forged.status_code == 400, path
        assert "mk_" not in refused.text + forged.text
    assert [(k.name, k.active) for k in store.list_api_keys()] == [("bot", True)]
    assert len(store.list_audit()[0]) == 1
