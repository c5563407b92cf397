"""GET /metrics in one process: webhook counters move, store gauges read the store, request ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from middleware.app import create_app
from middleware.model import NewEvent
from middleware.store import Store
from tests.builders import body_of, hubspot_headers, notification
from tests.scrape import label_values, total, value

URL = "/webhooks/hubspot"
SIGNED_URI = "http://localhost/webhooks/hubspot"


def scrape(client: Any) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return str(response.get_data(as_text=True))


def post(client: Any, items: list[dict[str, Any]], **kw: Any) -> Any:
    body = body_of(items)
    return client.post(URL, data=body, headers=hubspot_headers(body, SIGNED_URI, **kw))


def test_webhook_counters_move_by_outcome(client: Any) -> None:
    before = scrape(client)
    n = notification(4201)
    ignored = notification(4202, "closedwon")
    association = {
        "eventId": 1,
        "portalId": 1,
        "occurredAt": 1,
        "subscriptionType": "deal.associationChange",
    }
    bad = notification(4203, objectId="x")
    assert post(client, [n, dict(n), ignored, association, bad]).status_code == 200
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    wn = "middleware_webhook_notifications_total"
    assert moved(wn, provider="hubspot", outcome="stored") == 1
    assert moved(wn, provider="hubspot", outcome="duplicate") == 1
    assert moved(wn, provider="hubspot", outcome="ignored") == 2
    assert moved(wn, provider="hubspot", outcome="invalid") == 1
    ig = "middleware_webhook_ignored_total"
    assert moved(ig, provider="hubspot", type="deal.associationChange") == 1
    assert total(after, ig, provider="hubspot") - total(before, ig, provider="hubspot") == 2
    assert moved("middleware_webhook_seconds_count", provider="hubspot") == 1
    assert moved("middleware_events", status="pending") == 1
    labels = label_values(after)
    assert "deal_id" not in labels and "4201" not in labels  # no deal ids in labels


def test_refusals_are_counted_by_reason(client: Any, app: Any, make_settings: Any) -> None:
    before = scrape(client)
    assert post(client, [notification(1)], secret="wrong").status_code == 401
    bad = b"{not json"
    assert client.post(URL, data=bad, headers=hubspot_headers(bad, SIGNED_URI)).status_code == 400
    big = b"[" + b" " * (1024 * 1024) + b"]"
    assert client.post(URL, data=big, headers=hubspot_headers(big, SIGNED_URI)).status_code == 413
    other = hubspot_headers(body_of([]), "http://evil.example/webhooks/hubspot")
    assert (
        client.post(
            URL, data=body_of([]), headers=other, base_url="http://evil.example"
        ).status_code
        == 400
    )
    assert client.post("/webhooks/pipedrive", data=b"{}").status_code == 503
    assert client.post("/webhooks/nosuchcrm", data=b"{}").status_code == 404
    after = scrape(client)
    name = "middleware_webhook_refused_total"
    for provider, reason in (
        ("hubspot", "unauthorized"),
        ("hubspot", "bad_body"),
        ("hubspot", "too_large"),
        ("hubspot", "unknown_host"),
        ("pipedrive", "disabled"),
    ):
        moved = value(after, name, provider=provider, reason=reason) - value(
            before, name, provider=provider, reason=reason
        )
        assert moved == 1, (provider, reason)
    assert "nosuchcrm" not in after  # an unknown path never becomes a label


def test_backlog_age_and_parked_events_come_from_the_store(
    settings: Any, sqlite_store: Store
) -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    store = Store(sqlite_store.engine, clock=lambda: now - timedelta(minutes=15))
    store.add_events([NewEvent("hubspot", "1", "p", "k-p", "s", None, {})])
    [parked] = store.claim("w", 5, 60)
    until = now + timedelta(hours=3)
    store.finish(
        parked, "retrying", reason="crm_daily_limit", message="daily", retry_at=until, park=True
    )
    # Due 15 minutes ago, and no worker took it: the backlog.
    store.add_events([NewEvent("hubspot", "1", "stuck", "k-stuck", "s", None, {})])
    store.park("hubspot:1", until, reason="crm_daily_limit", message="daily")
    store.clock = lambda: now
    client = create_app(settings, store=store).test_client()
    text = scrape(client)
    assert value(text, "middleware_store_up") == 1
    assert value(text, "middleware_backlog_oldest_due_seconds") == 15 * 60
    assert value(text, "middleware_backlog_due_events") == 1
    assert value(text, "middleware_events_parked") == 1
    assert value(text, "middleware_parks_active", kind="hubspot") == 1
    assert value(text, "middleware_events", status="retrying") == 1
    assert value(text, "middleware_events", status="pending") == 1


def test_nothing_due_is_a_zero_backlog(client: Any) -> None:
    text = scrape(client)
    assert value(text, "middleware_backlog_oldest_due_seconds") == 0
    assert value(text, "middleware_backlog_due_events") == 0


def test_a_store_that_does_not_answer_is_store_up_zero(settings: Any, tmp_path: Any) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    client = create_app(settings, store=Store(engine)).test_client()
    text = scrape(client)
    assert value(text, "middleware_store_up") == 0
    assert "middleware_backlog_oldest_due_seconds" not in text


def test_every_response_carries_a_request_id(client: Any) -> None:
    given = client.get("/healthz", headers={"X-Request-Id": "lb-4f2a.9"})
    assert given.headers["X-Request-Id"] == "lb-4f2a.9"
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
    odd = client.get("/no/such/page", headers={"X-Request-Id": "bad id\twith spaces"})
    assert odd.status_code == 404 and odd.headers["X-Request-Id"] not in ("", "bad id\twith spaces")
    assert client.get("/admin/events").headers["X-Request-Id"]  # 401 answers too


def test_metrics_follow_admin_bind(make_settings: Any, sqlite_store: Store) -> None:
    app = create_app(make_settings(ADMIN_BIND="127.0.0.1:9310"), store=sqlite_store)
    client = app.test_client()
    public = client.get("/metrics", environ_overrides={"SERVER_PORT": "8000"})
    admin = client.get("/metrics", environ_overrides={"SERVER_PORT": "9310"})
    assert public.status_code == 404 and admin.status_code == 200
