"""Shared fixtures: settings, the store (SQLite and PostgreSQL), the app and its client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from middleware.app import create_app
from middleware.database import make_engine, upgrade_schema
from middleware.schema import metadata
from middleware.settings import Settings, load_settings
from middleware.store import Store
from tests.builders import base_env

# The PostgreSQL server the store tests run against (CONTRACT.md: 127.0.0.1:5432, trust auth).
PG_SERVER_URL = os.environ.get(
    "MIDDLEWARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def make_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """An environment mapping for ``load_settings``: SQLite in tmp_path, the shipped rules."""

    def _make(rules: str | None = None, **env: str | None) -> dict[str, str]:
        return base_env(tmp_path, rules, **env)

    return _make


@pytest.fixture
def make_settings(make_env: Callable[..., dict[str, str]]) -> Callable[..., Settings]:
    def _make(rules: str | None = None, **env: str | None) -> Settings:
        return load_settings(make_env(rules, **env))

    return _make


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, dropped at the end.

    There is no skip: when the server cannot be reached the PostgreSQL tests fail, so CI
    never passes without having run them.
    """
    server = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"mw_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with server.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        server.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both stores: a fresh SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    url: str = request.getfixturevalue("pg_database_url")
    engine = create_engine(url)
    upgrade_schema(engine)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield url


def _store_for(url: str) -> Store:
    engine = make_engine(url, pool_size=8)
    upgrade_schema(engine)
    return Store(engine)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The store on SQLite and on PostgreSQL (tests using it run twice)."""
    s = _store_for(database_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = _store_for(f"sqlite:///{tmp_path}/events.db")
    yield s
    s.engine.dispose()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings, sqlite_store: Store) -> Any:
    app = create_app(settings, store=sqlite_store)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()
