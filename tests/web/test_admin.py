"""The admin API over the real app and store."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from middleware.app import create_app
from middleware.model import NewEvent
from middleware.store import Store
from tests.builders import ADMIN_TOKEN

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def seed(store: Store, outcomes: dict[str, str], provider: str = "hubspot") -> dict[str, int]:
    """One event per deal id, finished with the given outcome ('pending' = left alone)."""
    ids = dict(
        zip(
            outcomes,
            store.add_events(
                [
                    NewEvent(
                        provider, "62515", deal, f"{provider}-{deal}", "demoscheduled", None, {}
                    )
                    for deal in outcomes
                ]
            ).ids,
            strict=True,
        )
    )
    claims = {}
    for claim in store.claim("w", 1000, 60):
        if claim.event_id in ids.values():
            claims[claim.deal_id] = claim
        else:
            store.release(claim)  # an earlier seed's pending event
    for deal, outcome in outcomes.items():
        if outcome == "pending":
            store.release(claims[deal])
        elif outcome != "processing":
            reason = "google_delegation_denied" if outcome == "failed" else None
            store.finish(
                claims[deal],
                outcome,
                reason=reason,
                message=f"{outcome} because" if reason else None,
            )
    return ids


@pytest.fixture
def store(app: Any) -> Store:
    return app.extensions["middleware"].store


def test_auth(client: Any) -> None:
    assert client.get("/admin/events").status_code == 401
    assert (
        client.get("/admin/events", headers={"Authorization": "Bearer nope-nope"}).status_code
        == 401
    )
    assert client.get("/admin/events", headers={"Authorization": ADMIN_TOKEN}).status_code == 401
    response = client.get("/admin/events", headers=AUTH)
    assert response.status_code == 200 and response.json == {"events": [], "next_cursor": None}


def test_unset_token_forbids_everyone(make_settings: Any, sqlite_store: Store) -> None:
    app = create_app(make_settings(ADMIN_TOKEN=None), store=sqlite_store)
    client = app.test_client()
    for headers in ({}, AUTH):
        response = client.get("/admin/events", headers=headers)
        assert response.status_code == 403 and "ADMIN_TOKEN" in response.json["error"]


def test_event_fields_and_detail(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed"})
    [event] = client.get("/admin/events", headers=AUTH).json["events"]
    for field in (
        "id",
        "provider",
        "deal_id",
        "status",
        "attempts",
        "last_error",
        "meet_url",
        "calendar_event_id",
        "created_at",
        "updated_at",
    ):
        assert field in event
    assert (event["status"], event["attempts"], event["last_error"]) == (
        "failed",
        1,
        "failed because",
    )
    detail = client.get(f"/admin/events/{ids['1']}", headers=AUTH).json
    assert detail["attempt_history"][0]["outcome"] == "failed"
    assert detail["errors"][0]["reason"] == "google_delegation_denied"
    assert client.get("/admin/events/999", headers=AUTH).status_code == 404


def test_filters(client: Any, store: Store) -> None:
    seed(store, {"1": "failed", "2": "succeeded", "3": "skipped", "4": "pending"})
    seed(store, {"9": "failed"}, provider="pipedrive")

    def deals(query: str) -> list[str]:
        response = client.get(f"/admin/events?{query}", headers=AUTH)
        assert response.status_code == 200, response.json
        return [e["deal_id"] for e in response.json["events"]]

    assert deals("status=failed") == ["9", "1"]
    assert deals("status=failed,succeeded") == ["9", "2", "1"]
    assert deals("status=failed&status=skipped") == ["9", "3", "1"]
    assert deals("provider=pipedrive") == ["9"]
    assert deals("deal_id=3") == ["3"]
    assert deals("reason=google_delegation_denied&provider=hubspot") == ["1"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert deals(f"created_before={future.replace('+', '%2B')}") == ["9", "4", "3", "2", "1"]
    assert deals(f"created_after={future.replace('+', '%2B')}") == []


@pytest.mark.parametrize(
    "query,word",
    [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("cursor=abc", "cursor"),
        ("created_after=yesterday", "created_after"),
        ("colour=red", "colour"),
    ],
)
def test_bad_queries_are_400(client: Any, query: str, word: str) -> None:
    response = client.get(f"/admin/events?{query}", headers=AUTH)
    assert response.status_code == 400 and word in response.json["error"]


def test_pagination_over_1000_while_inserting(client: Any, store: Store) -> None:
    store.add_events(
        [NewEvent("hubspot", "1", str(i), f"k{i}", "s", None, {}) for i in range(1000)]
    )
    stop = threading.Event()

    def arrive() -> None:
        n = 0
        while not stop.is_set():
            store.add_events([NewEvent("hubspot", "1", f"new{n}", f"new{n}", "s", None, {})])
            n += 1

    writer = threading.Thread(target=arrive)
    writer.start()
    try:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            url = "/admin/events?limit=97" + (f"&cursor={cursor}" if cursor else "")
            body = client.get(url, headers=AUTH).json
            seen += [e["deal_id"] for e in body["events"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
    finally:
        stop.set()
        writer.join()
    old = [d for d in seen if not d.startswith("new")]
    assert old == [str(i) for i in reversed(range(1000))]  # each once, in order
    assert len(seen) == len(set(seen))
    assert pages >= 11


def test_limit_is_capped_at_500(client: Any, store: Store) -> None:
    store.add_events([NewEvent("hubspot", "1", str(i), f"k{i}", "s", None, {}) for i in range(600)])
    body = client.get("/admin/events?limit=1000", headers=AUTH).json
    assert len(body["events"]) == 500 and body["next_cursor"] is not None
    assert len(client.get("/admin/events", headers=AUTH).json["events"]) == 50


def test_single_replay_rules(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed", "2": "succeeded", "3": "processing"})
    response = client.post(f"/admin/events/{ids['1']}/replay", headers=AUTH)
    assert response.status_code == 202 and response.json["status"] == "pending"
    assert response.json["last_error"] is None
    refused = client.post(f"/admin/events/{ids['3']}/replay", headers=AUTH)
    assert refused.status_code == 409 and "being processed" in refused.json["error"]
    assert client.post(f"/admin/events/{ids['2']}/replay", headers=AUTH).status_code == 409
    forced = client.post(f"/admin/events/{ids['2']}/replay", json={"force": True}, headers=AUTH)
    assert forced.status_code == 202
    assert client.post("/admin/events/999/replay", headers=AUTH).status_code == 404
    assert (
        client.post(
            f"/admin/events/{ids['1']}/replay",
            data="[1]",
            headers={**AUTH, "Content-Type": "application/json"},
        ).status_code
        == 400
    )


def test_bulk_replay_and_dry_run(client: Any, store: Store) -> None:
    seed(store, {"1": "failed", "2": "failed", "3": "succeeded", "4": "skipped"})
    dry = client.post(
        "/admin/events/replay", json={"status": "failed", "dry_run": True}, headers=AUTH
    )
    assert dry.status_code == 200 and dry.json["count"] == 2
    assert sorted(e["deal_id"] for e in dry.json["sample"]) == ["1", "2"]
    assert client.get("/admin/events?status=failed", headers=AUTH).json["events"] != []  # unchanged
    done = client.post("/admin/events/replay", json={"status": "failed"}, headers=AUTH)
    assert done.status_code == 202 and done.json == {"count": 2}
    assert [
        e["deal_id"]
        for e in client.get("/admin/events?status=pending", headers=AUTH).json["events"]
    ] == ["2", "1"]
    assert (
        client.post("/admin/events/replay", json={"status": "succeeded"}, headers=AUTH).json[
            "count"
        ]
        == 0
    )
    assert (
        client.post(
            "/admin/events/replay", json={"status": "succeeded", "force": True}, headers=AUTH
        ).json["count"]
        == 1
    )
    bad = client.post("/admin/events/replay", json={"status": "failed", "colour": 1}, headers=AUTH)
    assert bad.status_code == 400


def test_changes_are_audited(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed", "2": "failed"})
    client.post(f"/admin/events/{ids['1']}/replay", headers=AUTH)
    client.post("/admin/events/replay", json={"status": "failed", "dry_run": True}, headers=AUTH)
    client.post("/admin/events/replay", json={"status": "failed", "deal_id": "2"}, headers=AUTH)
    actions = client.get("/admin/audit", headers=AUTH).json["actions"]
    assert [(a["action"], a["count"]) for a in actions] == [("bulk_replay", 1), ("replay", 1)]
    assert actions[0]["target"] == {"deal_id": "2", "force": False, "status": ["failed"]}
    assert actions[1]["target"] == {"event_id": ids["1"], "force": False}
    assert actions[0]["actor"].startswith("admin-api:")


def test_stats_and_openapi(client: Any, store: Store) -> None:
    seed(store, {"1": "failed", "2": "succeeded"})
    assert client.get("/admin/stats", headers=AUTH).json["failed"] == 1
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {
        "/admin/events",
        "/admin/events/{event_id}",
        "/admin/events/{event_id}/replay",
        "/admin/events/replay",
    } <= set(spec["paths"])
    assert "Event" in spec["components"]["schemas"]


def test_openapi_documents_every_admin_route_and_the_shape_it_answers(
    app: Any, client: Any, store: Store
) -> None:
    spec = client.get("/openapi.json").json
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, m) for path, ops in spec["paths"].items() for m in ops}
    assert documented == routes
    for ops in spec["paths"].values():
        for op in ops.values():
            assert op["security"] == [{"bearer": []}] and "401" in op["responses"]
    # The answer has exactly the documented fields: the schema is the shape.
    seed(store, {"1": "failed"})
    event = client.get("/admin/events", headers=AUTH).json["events"][0]
    assert set(event) == set(spec["components"]["schemas"]["Event"]["properties"])
    detail = client.get(f"/admin/events/{event['id']}", headers=AUTH).json
    assert set(detail) == set(spec["components"]["schemas"]["EventDetail"]["properties"])
