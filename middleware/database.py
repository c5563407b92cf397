"""Engines and schema migrations for SQLite (embedded default) and PostgreSQL.

``make_engine(url)`` is called once per process, after any fork (gunicorn workers build their
app, and so their pool, after forking). ``upgrade_schema(engine)`` brings the schema to the
newest Alembic revision; several processes may call it at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from middleware.sqlite_lock import HostLockedConnection, host_lock_for

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every process of this service.
_MIGRATION_LOCK_KEY = 7_274_001

#: How long a write waits for the database's write lock, by who is writing. The worker and
#: operators wait (a claim or an outcome is worth waiting for); webhook intake gives up early so
#: the CRM is answered 503 well inside its own timeout (HubSpot waits 5 s, then retries); the
#: readiness probe must answer within a second.
WRITE_LOCK_WAIT_SECONDS = 30.0
INTAKE_LOCK_WAIT_SECONDS = 2.0
PROBE_LOCK_WAIT_SECONDS = 0.5
#: PostgreSQL: seconds to open a connection (libpq's ``connect_timeout``; at least 2) unless the
#: URL sets its own.
CONNECT_TIMEOUT_SECONDS = 3

# Execution options the ``begin`` listeners read (see :func:`writer` and :func:`reader`).
_LOCK_WAIT = "middleware_lock_wait"
_READ_ONLY = "middleware_read_only"
_DEFAULT_BUSY_MS = int(WRITE_LOCK_WAIT_SECONDS * 1000)


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create the engine for ``url``.

    SQLite: the database folder is created; WAL journal so readers never block the writer;
    ``synchronous=FULL`` so a committed webhook survives a power cut; a write transaction starts
    with ``BEGIN IMMEDIATE`` so writers queue on the database lock instead of failing with
    "database is locked" half-way through, and a read (:func:`reader`) with a deferred
    ``BEGIN``, so reads never wait for writers. Writers queue first on the host's file lock
    (``sqlite_lock.py``), which wakes the next one at once, then on SQLite's (``busy_timeout``).

    PostgreSQL: a pool per process, pre-pinged, sized for the process's concurrency; a
    connection attempt gives up after ``CONNECT_TIMEOUT_SECONDS``.

    The engine's own transactions wait ``WRITE_LOCK_WAIT_SECONDS`` for a lock (SQLite; on
    PostgreSQL as long as the server's ``lock_timeout`` says); :func:`writer` makes a view of
    it that waits less.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "timeout": WRITE_LOCK_WAIT_SECONDS,
                "check_same_thread": False,
                "factory": HostLockedConnection,
            },
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine, database)
        return engine
    connect_args = (
        {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        pool_recycle=1800,
    )
    _configure_postgresql(engine)
    return engine


def writer(engine: Engine, *, lock_wait: float) -> Engine:
    """``engine`` (same pool) whose write transactions give up waiting for a lock after
    ``lock_wait`` seconds: SQLite's ``busy_timeout``; PostgreSQL's ``lock_timeout``, with a
    ``statement_timeout`` half a second longer. The error is then ``OperationalError``
    ("database is locked", ``lock_not_available``, ``query_canceled``)."""
    return engine.execution_options(**{_LOCK_WAIT: lock_wait})


def reader(engine: Engine, *, lock_wait: float | None = None) -> Engine:
    """``engine`` (same pool) for transactions that only read. On SQLite they begin deferred:
    in WAL mode a reader never waits for, nor blocks, a writer. Nothing changes on PostgreSQL,
    where readers never wait for writers. A transaction made here must not write (on SQLite a
    write would fail with "database is locked" whenever another writer got in first)."""
    options: dict[str, Any] = {_READ_ONLY: True}
    if lock_wait is not None:
        options[_LOCK_WAIT] = lock_wait
    return engine.execution_options(**options)


def _configure_sqlite(engine: Engine, database: str) -> None:
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        dbapi_connection.host_lock = host_lock_for(database)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_DEFAULT_BUSY_MS}")
        record.info["busy_ms"] = _DEFAULT_BUSY_MS
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        wait = options.get(_LOCK_WAIT, WRITE_LOCK_WAIT_SECONDS)
        dbapi = connection.connection.dbapi_connection
        started = time.monotonic()
        dbapi.take_host_lock(wait)
        waited = time.monotonic() - started
        # https://www.sqlite.org/pragma.html#pragma_busy_timeout: per connection, so set it
        # for each transaction whose wait differs from what the pooled connection has. What
        # the host lock took (past a tenth of a second) is not waited again.
        busy_ms = int((wait if waited < 0.1 else max(wait - waited, 0.0)) * 1000)
        info = connection.connection.info
        try:
            if info.get("busy_ms") != busy_ms:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
                info["busy_ms"] = busy_ms
            # https://www.sqlite.org/lang_transaction.html: IMMEDIATE takes the write lock now.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi.give_back_host_lock()
            raise


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        wait = connection.get_execution_options().get(_LOCK_WAIT)
        if wait is None:
            return
        # https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SET:
        # is_local = true lasts until the end of this transaction only, so the pooled
        # connection keeps its defaults. One round trip for both.
        lock_ms = int(wait * 1000)
        connection.exec_driver_sql(
            f"SELECT set_config('lock_timeout', '{lock_ms}', true), "
            f"set_config('statement_timeout', '{lock_ms + 500}', true)"
        )


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade_schema(engine: Engine) -> None:
    """Apply every pending migration, one process at a time.

    PostgreSQL: a transaction-scoped advisory lock; DDL is transactional, so a process that
    waited finds the schema current and does nothing. SQLite: the migration runs inside one
    ``BEGIN IMMEDIATE`` transaction, which already excludes every other writer.
    """
    cfg = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision (used by ``/readyz``)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def process_tag() -> str:
    """A name for this process in leases and attempts: host:pid."""
    return f"{os.uname().nodename}:{os.getpid()}"
