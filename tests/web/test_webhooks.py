"""POST /webhooks/hubspot through the real app and a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from middleware.app import create_app
from middleware.schema import events
from tests.builders import body_of, hubspot_headers, notification, shown

URL = "/webhooks/hubspot"
SIGNED_URI = "http://localhost/webhooks/hubspot"


def post(
    client: Any, body: bytes, *, uri: str = SIGNED_URI, now: datetime | None = None, **kw: Any
) -> Any:
    headers = hubspot_headers(body, uri, now=now, **kw)
    return client.post(URL, data=body, headers=headers)


def stored(app: Any) -> int:
    store = app.extensions["middleware"].store
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


def test_trigger_event_is_stored_and_acknowledged(client: Any, app: Any) -> None:
    response = post(client, body_of([notification(42)]))
    assert response.status_code == 200
    assert response.json["stored"] == 1
    [event_id] = response.json["event_ids"]
    event = shown(app.extensions["middleware"].store, event_id)
    assert (event["provider"], event["deal_id"], event["status"]) == ("hubspot", "42", "pending")
    assert event["payload"]["objectId"] == 42


def test_duplicate_delivery_stores_once(client: Any, app: Any) -> None:
    n = notification(42, event_id=9, occurred_at=1_790_000_000_000)
    first = post(client, body_of([n]))
    redelivered = post(client, body_of([dict(n, attemptNumber=1)]))
    assert first.status_code == redelivered.status_code == 200
    assert redelivered.json == {
        "received": 1,
        "stored": 0,
        "duplicates": 1,
        "ignored": 0,
        "ignored_types": {},
        "invalid": 0,
        "problems": [],
        "event_ids": [],
    }
    assert stored(app) == 1


def test_duplicates_inside_one_batch(client: Any, app: Any) -> None:
    n = notification(42, event_id=9)
    response = post(client, body_of([n, dict(n, attemptNumber=2), notification(43)]))
    assert response.json["stored"] == 2 and response.json["duplicates"] == 1
    assert stored(app) == 2


def test_non_trigger_events_store_nothing(client: Any, app: Any) -> None:
    body = body_of(
        [notification(1, "closedwon"), notification(2, "demoscheduled", propertyName="amount")]
    )
    response = post(client, body)
    assert response.status_code == 200
    assert response.json["ignored"] == 2 and response.json["stored"] == 0
    assert stored(app) == 0


def test_bad_signature_is_401_json_and_stores_nothing(client: Any, app: Any) -> None:
    body = body_of([notification(1)])
    response = post(client, body, secret="wrong-secret")
    assert response.status_code == 401
    assert "does not match" in response.json["error"]
    assert stored(app) == 0


def test_signature_over_another_host_is_refused(client: Any) -> None:
    body = body_of([notification(1)])
    response = post(client, body, uri="http://attacker.example/webhooks/hubspot")
    assert response.status_code == 401


def test_stale_timestamp_is_401(client: Any, app: Any) -> None:
    body = body_of([notification(1)])
    response = post(client, body, now=datetime.now(UTC) - timedelta(minutes=6))
    assert response.status_code == 401 and "old" in response.json["error"]
    assert stored(app) == 0


def test_missing_headers_is_401(client: Any) -> None:
    response = client.post(URL, data=body_of([notification(1)]), content_type="application/json")
    assert response.status_code == 401
    assert "missing" in response.json["error"]


def test_malformed_bodies_are_400(client: Any, app: Any) -> None:
    for body in (b"{not json", b'{"a": 1}', b"[1, 2]", b'"text"'):
        response = post(client, body)
        assert response.status_code == 400, body[:40]
        assert isinstance(response.json["error"], str) and response.json["error"]
    assert stored(app) == 0


def test_mixed_batch_stores_the_trigger_and_counts_the_rest(client: Any, app: Any) -> None:
    association = {
        "eventId": 11,
        "portalId": 62515,
        "occurredAt": 1_795_000_000_000,
        "subscriptionType": "deal.associationChange",
        "fromObjectId": 9001,
        "toObjectId": 77,
    }
    bad = notification(2, objectId="5.9")
    generic = notification(3, subscriptionType="object.propertyChange", objectTypeId="0-3")
    items = [association, notification(1), bad, generic, {"unknown": True}]
    items += [notification(100 + i, "closedwon") for i in range(150)]
    response = post(client, body_of(items))
    assert response.status_code == 200
    data = response.json
    assert (data["received"], data["stored"], data["ignored"], data["invalid"]) == (155, 2, 152, 1)
    assert data["ignored_types"] == {
        "deal.associationChange": 1,
        "(no subscriptionType)": 1,
        "deal.propertyChange:dealstage": 150,
    }
    assert "objectId" in data["problems"][0]
    assert stored(app) == 2


def test_oversized_body_is_413(client: Any, app: Any) -> None:
    body = b"[" + b" " * (1024 * 1024) + b"]"
    response = post(client, body)
    assert response.status_code == 413
    assert "1 MiB" in response.json["error"]
    assert stored(app) == 0


def test_public_base_url_is_the_signed_uri(make_settings: Any, sqlite_store: Any) -> None:
    app = create_app(
        make_settings(PUBLIC_BASE_URL="https://crm-hooks.example.com/"), store=sqlite_store
    )
    client = app.test_client()
    body = body_of([notification(5)])
    assert (
        post(client, body, uri="https://crm-hooks.example.com/webhooks/hubspot").status_code == 200
    )
    assert post(client, body_of([notification(6)])).status_code == 401


def test_disabled_provider(make_settings: Any, sqlite_store: Any) -> None:
    app = create_app(make_settings(HUBSPOT_CLIENT_SECRET=None), store=sqlite_store)
    response = app.test_client().post(URL, data=b"[]")
    assert response.status_code == 503
    assert "HUBSPOT_CLIENT_SECRET" in response.json["error"]


def test_wrong_method_and_unknown_path_are_json(client: Any) -> None:
    assert client.get(URL).status_code == 405 and "error" in client.get(URL).json
    assert client.get("/nope").status_code == 404 and "error" in client.get("/nope").json


def test_health_and_readiness(client: Any) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ready"


def test_readiness_fails_when_store_is_gone(make_settings: Any, tmp_path: Any) -> None:
    from middleware.database import make_engine
    from middleware.store import Store

    # A store whose schema was never created is not ready.
    store = Store(make_engine(f"sqlite:///{tmp_path}/empty.db"))
    app = create_app(make_settings(), store=store)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and "error" in response.json


def test_text_the_store_cannot_hold_is_invalid_not_a_500(client: Any, app: Any) -> None:
    """A signed batch with a lone surrogate (JSON ``"\\ud800"``, no UTF-8 for it) or a NUL
    (PostgreSQL's text refuses it) in an event id: that notification is counted invalid and
    its neighbours are stored (issue 13; it was a 500)."""
    batch = [
        notification(1),
        notification(2, event_id="9\ud800"),
        notification(3, event_id="9\x00"),
        notification(4),
    ]
    response = post(client, body_of(batch))
    assert response.status_code == 200, response.json
    assert (response.json["stored"], response.json["invalid"]) == (2, 2)
    assert stored(app) == 2
