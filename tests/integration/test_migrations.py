"""Schema migrations: several processes starting at once on an empty database."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from middleware.database import make_engine, schema_is_current
from tests.builders import shown
from tests.conftest import PG_SERVER_URL


@pytest.fixture
def empty_pg_url() -> Any:
    server = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    name = f"mw_migrate_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_upgrades_on_an_empty_database(
    backend: str, tmp_path: Path, make_env: Any, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/fresh.db"
        if backend == "sqlite"
        else request.getfixturevalue("empty_pg_url")
    )
    env = {**make_env(), "DATABASE_URL": url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "middleware.cli", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    engine = make_engine(url)
    assert schema_is_current(engine)
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0002_adds_parks_and_keeps_existing_events(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from alembic import command

    from middleware.database import alembic_config, upgrade_schema
    from middleware.model import NewEvent
    from middleware.store import Store

    url = (
        f"sqlite:///{tmp_path}/old.db"
        if backend == "sqlite"
        else request.getfixturevalue("empty_pg_url")
    )
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as connection:  # a database of the previous release
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
    store = Store(engine)
    [event_id] = store.add_events(
        [NewEvent("hubspot", "62515", "7", "k7", "demoscheduled", None, {"objectId": 7})]
    ).ids
    assert not schema_is_current(engine)
    upgrade_schema(engine)
    upgrade_schema(engine)  # a second process finds nothing to do
    assert schema_is_current(engine)
    event = shown(store, event_id)
    assert event is not None and event["deal_id"] == "7" and event["status"] == "pending"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM parks")).scalar_one() == 0
    engine.dispose()
