"""Webhooks, /readyz and the admin API while the SQLite store is locked or full."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from middleware.store import Store
from tests.builders import body_of, notification
from tests.test_store_pressure import fill_up, sqlite_path
from tests.web.test_admin import AUTH
from tests.web.test_webhooks import post, stored


@pytest.fixture
def lock_holder(sqlite_store: Store) -> Iterator[sqlite3.Connection]:
    """Another process's connection, ready to take SQLite's write lock."""
    other = sqlite3.connect(sqlite_path(sqlite_store), isolation_level=None)
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_webhook_answers_503_fast_while_locked_and_stores_the_retry(
    client: Any, app: Any, lock_holder: sqlite3.Connection
) -> None:
    body = body_of([notification(42, event_id=7)])
    lock_holder.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    refused = post(client, body)
    took = time.monotonic() - start
    assert refused.status_code == 503 and took < 3.0
    assert refused.json["reason"] == "store_busy" and "send it again" in refused.json["error"]
    assert int(refused.headers["Retry-After"]) > 0
    lock_holder.execute("ROLLBACK")
    assert stored(app) == 0
    retried = post(client, body)  # HubSpot signs its retry anew, same notification
    assert retried.status_code == 200 and retried.json["stored"] == 1
    assert post(client, body).json["duplicates"] == 1
    assert stored(app) == 1


def test_readyz_is_not_ready_fast_while_locked(
    client: Any, lock_holder: sqlite3.Connection
) -> None:
    assert client.get("/readyz").status_code == 200
    lock_holder.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - start < 1.0
    assert response.status_code == 503 and response.json["reason"] == "store_busy"
    lock_holder.execute("ROLLBACK")
    assert client.get("/readyz").status_code == 200


def test_admin_reads_do_not_wait_for_a_writer(client: Any, lock_holder: sqlite3.Connection) -> None:
    [event_id] = post(client, body_of([notification(42)])).json["event_ids"]
    lock_holder.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    listed = client.get("/admin/events", headers=AUTH)
    one = client.get(f"/admin/events/{event_id}", headers=AUTH)
    assert time.monotonic() - start < 0.5
    assert listed.status_code == 200 and [e["id"] for e in listed.json["events"]] == [event_id]
    assert one.status_code == 200 and one.json["deal_id"] == "42"


def test_a_full_store_answers_503_and_is_not_ready(
    client: Any, app: Any, sqlite_store: Store
) -> None:
    assert post(client, body_of([notification(1)])).status_code == 200
    fill_up(sqlite_store)
    refused = post(client, body_of([notification(n, event_id=n) for n in range(2, 300)]))
    assert refused.status_code == 503 and refused.json["reason"] == "store_full"
    assert "Retry-After" in refused.headers
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["reason"] == "store_full"
    assert "full" in ready.json["error"]
    assert stored(app) == 1


def test_a_store_fault_anywhere_in_the_app_is_a_503_not_a_500(
    app: Any, sqlite_store: Store
) -> None:
    """The app-wide handler: a real "database or disk is full" raised by any view (an admin
    change, say) is answered like a webhook's: 503, its reason, Retry-After."""
    fill_up(sqlite_store)
    with pytest.raises(SQLAlchemyError) as full, sqlite_store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE filler (x TEXT)"))
        conn.execute(text("INSERT INTO filler VALUES (:x)"), {"x": "x" * 1_000_000})

    def _view() -> Any:
        raise full.value

    app.add_url_rule("/admin/raises-what-the-store-raised", view_func=_view)
    answer = app.test_client().get("/admin/raises-what-the-store-raised", headers=AUTH)
    assert answer.status_code == 503
    assert answer.json["reason"] == "store_full" and answer.headers["Retry-After"]
    assert "filler" not in answer.json["error"]  # the driver's words stay in the log
