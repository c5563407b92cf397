"""Builders for test data: HubSpot notifications, signed requests, settings files."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from middleware.crm import hubspot

SECRET = "test-client-secret-0f6b"
ADMIN_TOKEN = "admin-token-for-tests-5f0c2a9e7d3b41c8"
REPO = Path(__file__).resolve().parent.parent
SHIPPED_RULES = (REPO / "config" / "middleware.toml").read_text()

_event_ids = itertools.count(1000)


def notification(
    deal_id: int | str,
    stage: str = "demoscheduled",
    *,
    portal_id: int = 62515,
    occurred_at: int | None = None,
    event_id: int | None = None,
    attempt: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """One deal.propertyChange notification on ``dealstage``, as HubSpot sends it."""
    n: dict[str, Any] = {
        "eventId": event_id if event_id is not None else next(_event_ids),
        "subscriptionId": 25,
        "portalId": portal_id,
        "appId": 1160452,
        "occurredAt": occurred_at if occurred_at is not None else 1_795_000_000_000 + int(deal_id),
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": attempt,
        "objectId": int(deal_id),
        "propertyName": "dealstage",
        "propertyValue": stage,
        "changeSource": "CRM_UI",
        "sourceId": "userId:45678",
    }
    n.update(extra)
    return n


def body_of(notifications: list[dict[str, Any]] | Any) -> bytes:
    return json.dumps(notifications).encode()


def hubspot_headers(
    body: bytes,
    uri: str,
    *,
    secret: str = SECRET,
    now: datetime | None = None,
    method: str = "POST",
) -> dict[str, str]:
    return hubspot.signed_headers(secret, method, uri, body, now or datetime.now(UTC))


def rules_file(tmp_path: Path, text: str | None = None, name: str = "middleware.toml") -> Path:
    path = tmp_path / name
    path.write_text(SHIPPED_RULES if text is None else text)
    return path


def base_env(tmp_path: Path, rules: str | None = None, **env: str | None) -> dict[str, str]:
    """An environment mapping for the service (``load_settings`` or a process): SQLite in
    ``tmp_path``, the rules ``rules`` (default: the shipped ones) written there, the test
    secrets; ``env`` adds or overrides (None removes)."""
    base: dict[str, str | None] = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/events.db",
        "MIDDLEWARE_CONFIG": str(rules_file(tmp_path, rules)),
        "HUBSPOT_CLIENT_SECRET": SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
    }
    base.update(env)
    return {k: v for k, v in base.items() if v is not None}


def shown(store: Any, event_id: int) -> dict[str, Any]:
    """Event ``event_id`` exactly as the admin API shows it (``GET /admin/events/<id>``)."""
    from middleware.json_shapes import event_json

    detail = store.get_event(event_id)
    assert detail is not None, f"event {event_id} not found"
    return event_json(detail)


def shown_page(store: Any, flt: Any, **paging: Any) -> tuple[list[dict[str, Any]], int | None]:
    """A page of events as ``GET /admin/events`` shows them, and the id to continue before."""
    from middleware.json_shapes import events_json

    page, before = store.list_events(flt, **paging)
    return events_json(page), before
