"""The web process (gunicorn, as the Procfile starts it) over real HTTP while another process
holds the store's write lock: webhooks are answered 503 with Retry-After inside HubSpot's 5 s,
/readyz says not ready within a second, and the retried webhook is stored once the lock goes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from middleware.database import upgrade_schema
from tests.builders import body_of, hubspot_headers, notification
from tests.procs import Proc, free_port


def send(web: Proc, body: bytes) -> tuple[float, requests.Response]:
    url = web.url + "/webhooks/hubspot"
    start = time.monotonic()
    answer = requests.post(url, data=body, headers=hubspot_headers(body, url), timeout=10)
    return time.monotonic() - start, answer


def readyz(web: Proc) -> tuple[float, requests.Response]:
    start = time.monotonic()
    answer = requests.get(web.url + "/readyz", timeout=10)
    return time.monotonic() - start, answer


def run_locked_intake(web: Proc, lock: Callable[[], None], unlock: Callable[[], None]) -> None:
    web.wait_ready()
    body = body_of([notification(77, event_id=5)])
    lock()
    try:
        took, refused = send(web, body)
        assert refused.status_code == 503 and took < 3.0, refused.text
        assert refused.json()["reason"] == "store_busy" and refused.headers["Retry-After"]
        took, ready = readyz(web)
        assert ready.status_code == 503 and took < 1.5
        assert ready.json()["reason"] == "store_busy"
        assert requests.get(web.url + "/healthz", timeout=2).status_code == 200
    finally:
        unlock()
    _, stored = send(web, body)  # the CRM's retry
    assert stored.status_code == 200 and stored.json()["stored"] == 1
    assert readyz(web)[1].status_code == 200


def stored_deals(url: str) -> list[Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(text("SELECT deal_id FROM events")).scalars())
    engine.dispose()
    return rows


def test_sqlite_locked_by_another_process(tmp_path: Path, make_env: Any) -> None:
    env = make_env()
    web = Proc("web", env, cwd=tmp_path, log=tmp_path / "web.log", port=free_port())
    holder = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"), isolation_level=None)
    try:
        run_locked_intake(
            web,
            lambda: holder.execute("BEGIN IMMEDIATE"),
            lambda: holder.execute("ROLLBACK"),
        )
    finally:
        holder.close()
        web.stop()
    assert stored_deals(env["DATABASE_URL"]) == ["77"]
    assert "Traceback" not in web.output()


@pytest.fixture
def pg_url(pg_database_url: str) -> str:
    engine = create_engine(pg_database_url)
    upgrade_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE events, deals, attempts RESTART IDENTITY CASCADE"))
    engine.dispose()
    return pg_database_url


def test_postgresql_table_locked_by_another_session(
    tmp_path: Path, make_env: Any, pg_url: str
) -> None:
    env = make_env(DATABASE_URL=pg_url)
    web = Proc("web", env, cwd=tmp_path, log=tmp_path / "web.log", port=free_port())
    holder_engine = create_engine(pg_url)
    holder = holder_engine.connect()
    try:
        run_locked_intake(
            web,
            lambda: holder.execute(text("LOCK TABLE events IN SHARE MODE")),
            holder.rollback,
        )
    finally:
        holder.close()
        holder_engine.dispose()
        web.stop()
    assert stored_deals(pg_url) == ["77"]
    assert "Traceback" not in web.output()
