"""The meetings API's web layer over the real app and store (no worker): the OpenAPI document,
API keys through the admin API, answers that are JSON errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.meetings_api.support import ADMIN, bearer, create, make_key, meeting_body


def _routes(app: Any, prefix: str) -> set[tuple[str, str]]:
    return {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(prefix)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_openapi_document_covers_every_route_and_the_answer_shape(
    app: Any, client: Any
) -> None:
    spec = client.get("/api/openapi.json").json
    documented = {(path, m) for path, ops in spec["paths"].items() for m in ops}
    assert documented == _routes(app, "meetings_api.")
    for ops in spec["paths"].values():
        for op in ops.values():
            assert op["security"] == [{"bearer": []}]
            assert {"401", "403", "400"} <= set(op["responses"])
    post = spec["paths"]["/api/meetings"]["post"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= post["parameters"][0].items()
    key = make_key(client)
    made = create(client, key, meeting_body()).json
    assert set(made) == set(spec["components"]["schemas"]["Meeting"]["properties"])
    admin = client.get("/openapi.json").json
    assert {"/admin/api-keys", "/admin/api-keys/{key_id}"} <= set(admin["paths"])
    listed = client.get("/admin/api-keys", headers=ADMIN).json["api_keys"][0]
    assert set(listed) == set(admin["components"]["schemas"]["ApiKey"]["properties"])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.mark.parametrize("path", ["/api/openapi.json", "/openapi.json"])
def test_every_reference_in_the_openapi_documents_resolves(client: Any, path: str) -> None:
    """A schema name two modules share (``MeetingSchema``) once left a dangling $ref."""
    spec = client.get(path).json
    refs = set(_refs(spec["paths"]))
    assert refs, "the document references its components"
    for ref in refs:
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in spec["components"].get(kind, {}), ref


def test_api_keys_need_the_admin_token_and_are_shown_once(client: Any, sqlite_store: Any) -> None:
    assert client.post("/admin/api-keys", json={"name": "x", "scope": "write"}).status_code == 401
    made = client.post(
        "/admin/api-keys",
        json={"name": "booking page", "scope": "write", "organizers": ["@Sales.Example"]},
        headers=ADMIN,
    )
    assert made.status_code == 201
    key = made.json["key"]
    assert key.startswith("mk_") and len(key) >= 40
    assert made.json["organizers"] == ["@sales.example"]
    [stored] = sqlite_store.list_api_keys()
    assert stored.prefix == key[:9]
    listing = client.get("/admin/api-keys", headers=ADMIN).text
    assert key not in listing and key[9:] not in listing
    bad = client.post("/admin/api-keys", json={"name": "x", "scope": "admin"}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json["error"].startswith("scope:")
    odd = client.post(
        "/admin/api-keys",
        json={"name": "x", "scope": "read", "organizers": ["nobody"]},
        headers=ADMIN,
    )
    assert odd.status_code == 400 and "neither an email nor @domain" in odd.json["error"]
    assert client.delete("/admin/api-keys/999", headers=ADMIN).status_code == 404


def test_a_missing_key_is_401_with_a_challenge(client: Any) -> None:
    response = client.get("/api/meetings")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json == {"error": "missing API key (Authorization: Bearer mk_…)"}


def test_unknown_meetings_and_bodies_that_are_not_objects(client: Any) -> None:
    key = make_key(client)
    assert client.get("/api/meetings/mtg_nope", headers=bearer(key)).status_code == 404
    response = client.post(
        "/api/meetings",
        data="[1, 2]",
        content_type="application/json",
        headers={**bearer(key), "Idempotency-Key": "k"},
    )
    assert response.status_code == 400 and response.json["error"] == "body must be a JSON object"
    not_recurring = create(client, key, meeting_body()).json
    occurrence = client.delete(
        f"/api/meetings/{not_recurring['id']}/occurrences/2030-01-07T09:00:00Z", headers=bearer(key)
    )
    assert occurrence.status_code == 409 and "does not recur" in occurrence.json["error"]
    switch = client.patch(
        f"/api/meetings/{not_recurring['id']}",
        json={"recurrence": "FREQ=DAILY;COUNT=2"},
        headers=bearer(key),
    )
    assert switch.status_code == 400 and "cannot become a series" in switch.json["error"]
