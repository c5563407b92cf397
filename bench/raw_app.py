"""The ingest baseline: a bare WSGI endpoint doing the same durable insert with no framework.

It parses the JSON array and stores each notification as the service must: a row in the
service's own ``events`` table (the same columns and indexes, deduplicated on ``dedupe_key``)
and its deal's row in ``deals``, committed before answering. It checks no signature, judges
no notification, knows no CRM and answers only a count. On SQLite: WAL and
``synchronous=FULL`` (a commit survives a power cut, as the service's store does); on
PostgreSQL: the server's defaults (``fsync`` on). Served by the same gunicorn configuration as
the ``web`` process, so the ratio measures the service's own cost.

``BENCH_RAW_URL`` names the database (``sqlite:///path`` or a ``postgresql://`` URL).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import psycopg

_URL = os.environ.get("BENCH_RAW_URL", "sqlite:///raw.db")
_local = threading.local()
_EVENTS = (
    "INSERT INTO events (provider, account_id, deal_id, dedupe_key, trigger, occurred_at, "
    "payload, next_attempt_at, created_at, updated_at, status, attempts, attempts_at_replay, "
    "force) VALUES ({marks}, 'pending', 0, 0, {false}) ON CONFLICT (dedupe_key) DO NOTHING"
)
_DEALS = (
    "INSERT INTO deals (provider, account_id, deal_id, updated_at) VALUES ({marks}) "
    "ON CONFLICT (provider, account_id, deal_id) DO NOTHING"
)


def _connect(url: str = _URL) -> Any:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def create_table(url: str) -> None:
    """The service's schema, once, before the server starts."""
    from middleware.database import make_engine, upgrade_schema  # not in the server

    engine = make_engine(url, pool_size=1)
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()


def _time(moment: datetime, sqlite: bool) -> Any:
    naive = moment.replace(tzinfo=None)  # UTC
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def _insert(notifications: list[dict[str, Any]]) -> None:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = _connect()
    sqlite = isinstance(conn, sqlite3.Connection)
    now = _time(datetime.now(UTC), sqlite)
    events, deals = [], []
    for n in notifications:
        portal, deal = str(n["portalId"]), str(n["objectId"])
        occurred = datetime.fromtimestamp(n["occurredAt"] / 1000, tz=UTC)
        events.append(
            (
                "hubspot",
                portal,
                deal,
                f"hubspot:{portal}:{deal}:{n['propertyName']}:{n['propertyValue']}:"
                f"{n['occurredAt']}:{n['eventId']}",
                n["propertyValue"],
                _time(occurred, sqlite),
                json.dumps(n, separators=(",", ":")),
                now,
                now,
                now,
            )
        )
        deals.append(("hubspot", portal, deal, now))
    mark = "?" if sqlite else "%s"
    false = "0" if sqlite else "false"
    events_sql = _EVENTS.format(marks=", ".join([mark] * 10), false=false)
    deals_sql = _DEALS.format(marks=", ".join([mark] * 4))
    if sqlite:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(events_sql, events)
        conn.executemany(deals_sql, deals)
        conn.execute("COMMIT")
    else:
        with conn.cursor() as cur:
            cur.executemany(events_sql, events)
            cur.executemany(deals_sql, deals)
        conn.commit()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status":"ok"}']
    size = int(environ.get("CONTENT_LENGTH") or 0)
    notifications = json.loads(environ["wsgi.input"].read(size))
    _insert(notifications)
    body = json.dumps({"stored": len(notifications)}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
