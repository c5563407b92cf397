"""Engines and schema migrations for SQLite (embedded default) and PostgreSQL.

``make_engine(url)`` is called once per process, after any fork (gunicorn workers build their
app, and so their pool, after forking). ``upgrade_schema(engine)`` brings the schema to the
newest Alembic revision; several processes may call it at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every process of this service.
_MIGRATION_LOCK_KEY = 7_274_001


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create the engine for ``url``.

    SQLite: the database folder is created; WAL journal so readers never block the writer;
    ``synchronous=FULL`` so a committed webhook survives a power cut; every transaction starts
    with ``BEGIN IMMEDIATE`` so writers queue on the database lock (``busy_timeout``) instead of
    failing with "database is locked" half-way through.

    PostgreSQL: a pool per process, pre-pinged, sized for the process's concurrency.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _configure_sqlite(engine: Engine) -> None:
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
