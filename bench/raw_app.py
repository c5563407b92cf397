"""The ingest baseline: a bare WSGI endpoint doing the same durable insert with no framework.

It parses the JSON array, inserts one row per notification (deduplicated on a unique key) and
commits before answering, like the service must; it checks no signature and knows no CRM. On
SQLite: WAL and ``synchronous=FULL`` (a commit survives a power cut, as the service's store
does); on PostgreSQL: the server's defaults (``fsync`` on). Served by the same gunicorn
configuration as the ``web`` process, so the ratio measures the service's own cost.

``BENCH_RAW_URL`` names the database (``sqlite:///path`` or a ``postgresql://`` URL).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

_URL = os.environ.get("BENCH_RAW_URL", "sqlite:///raw.db")
_local = threading.local()
_DDL = (
    "CREATE TABLE IF NOT EXISTS raw_events (id {pk}, dedupe_key TEXT NOT NULL UNIQUE, "
    "deal_id TEXT NOT NULL, payload TEXT NOT NULL)"
)


def _connect(url: str = _URL) -> Any:
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def create_table(url: str) -> None:
    """Once, before the server starts (concurrent ``CREATE TABLE IF NOT EXISTS`` can fail)."""
    conn = _connect(url)
    sqlite = isinstance(conn, sqlite3.Connection)
    conn.execute(_DDL.format(pk="INTEGER PRIMARY KEY" if sqlite else "BIGSERIAL PRIMARY KEY"))
    if not sqlite:
        conn.commit()
    conn.close()


def _insert(rows: list[tuple[str, str, str]]) -> None:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = _connect()
    if isinstance(conn, sqlite3.Connection):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR IGNORE INTO raw_events (dedupe_key, deal_id, payload) VALUES (?, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
    else:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO raw_events (dedupe_key, deal_id, payload) VALUES (%s, %s, %s) "
                "ON CONFLICT (dedupe_key) DO NOTHING",
                rows,
            )
        conn.commit()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/healthz":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status":"ok"}']
    size = int(environ.get("CONTENT_LENGTH") or 0)
    notifications = json.loads(environ["wsgi.input"].read(size))
    _insert(
        [
            (f"{n['portalId']}:{n['eventId']}", str(n["objectId"]), json.dumps(n))
            for n in notifications
        ]
    )
    body = json.dumps({"stored": len(notifications)}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
