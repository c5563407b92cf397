"""Calling the meetings API in tests: keys made through the admin API, requests with them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.builders import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ORGANIZER = "rep@seller.example"


def make_key(client: Any, scope: str = "write", **extra: Any) -> str:
    """A new API key (through ``POST /admin/api-keys``)."""
    response = client.post(
        "/admin/api-keys", json={"name": f"test {scope}", "scope": scope, **extra}, headers=ADMIN
    )
    assert response.status_code == 201, response.json
    key: str = response.json["key"]
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def meeting_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organizer": ORGANIZER,
        "attendees": ["guest@buyer.example"],
        "title": "Intro call",
        "start": "2030-01-07T10:00:00+01:00",
        "duration_minutes": 45,
        "timezone": "Europe/Berlin",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create(
    client: Any, key: str, body: dict[str, Any], *, idempotency: str | None = None, **query: str
) -> Any:
    headers = {**bearer(key), "Idempotency-Key": idempotency or str(uuid.uuid4())}
    return client.post("/api/meetings", json=body, headers=headers, query_string=query)
