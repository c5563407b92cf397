"""The property suite's budget (hypothesis profiles) and the service it runs against.

Profiles, chosen with ``HYPOTHESIS_PROFILE``:

* ``ci`` (the default): a bounded, reproducible run: ``derandomize`` makes every run try the
  same examples, no example database is written, no deadline (a shared CI machine is slow at
  times, and slowness is not what these tests judge);
* ``thorough``: many more random examples for a local hunt
  (``HYPOTHESIS_PROFILE=thorough pytest tests/properties``), with the example database in
  ``.hypothesis/`` so a failure found once is tried first next time.

The service is the real Flask app over a real store (SQLite, and PostgreSQL), built once per
module: hypothesis runs many examples per test. A webhook example starts from an empty event
table (``Service.empty``); the invariants compare counts before and after a request.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import func, select, text

from middleware.app import create_app
from middleware.database import make_engine, upgrade_schema
from middleware.schema import attempts, audit_log, events, metadata
from middleware.settings import load_settings
from middleware.store import Store
from tests.builders import ADMIN_TOKEN, SECRET, SHIPPED_RULES, rules_file

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=120, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=3000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Examples for each case of a parametrized property (one field under attack per case).
PER_FIELD = settings(max_examples=max(10, settings.default.max_examples // 6))

PIPEDRIVE_USER, PIPEDRIVE_PASSWORD = "pd-hook", "pd-pass:with:colons"
START_FIELD = "b" * 40
TRIGGER_STAGE, CANCEL_STAGE = 3, 5
#: A stage given by label makes the intake store every stage change (only the worker resolves
#: labels), so any ``propertyValue`` reaches the store: the widest surface to try.
RULES = (
    SHIPPED_RULES.replace(
        'trigger_stages = ["demoscheduled"]', 'trigger_stages = ["demoscheduled", "Demo Scheduled"]'
    )
    .replace("cancel_stages = []", 'cancel_stages = ["closedlost"]')
    .replace("cancel_stage_ids = []", f"cancel_stage_ids = [{CANCEL_STAGE}]")
    .replace('start_field = ""', f'start_field = "{START_FIELD}"')
)


def basic_auth(user: str = PIPEDRIVE_USER, password: str = PIPEDRIVE_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Service:
    """The app's test client and the store under it."""

    client: Any
    store: Store

    def empty(self) -> None:
        """Forget every event, so that one example's events never make the next one's
        duplicates (hypothesis draws the same simple ids again and again)."""
        with self.store.engine.begin() as conn:
            conn.execute(attempts.delete())
            conn.execute(events.delete())

    def count(self, table: Any = events) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def audit_count(self) -> int:
        return self.count(audit_log)

    def rows(self, ids: list[int]) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(events).where(events.c.id.in_(ids))).all())


def _service(url: str, tmp: Path, *, empty_first: bool) -> Service:
    engine = make_engine(url, pool_size=4)
    upgrade_schema(engine)
    if empty_first:
        with engine.begin() as conn:
            names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    env = {
        "DATABASE_URL": url,
        "MIDDLEWARE_CONFIG": str(rules_file(tmp, RULES)),
        "HUBSPOT_CLIENT_SECRET": SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "PIPEDRIVE_WEBHOOK_USER": PIPEDRIVE_USER,
        "PIPEDRIVE_WEBHOOK_PASSWORD": PIPEDRIVE_PASSWORD,
    }
    store = Store(engine)
    app = create_app(load_settings(env), store=store)
    app.config["TESTING"] = True
    return Service(app.test_client(), store)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """Every webhook endpoint enabled and the admin API on, over a fresh store: SQLite, and
    PostgreSQL (which refuses NUL in text and counts column lengths itself)."""
    tmp = tmp_path_factory.mktemp("properties")
    if request.param == "sqlite":
        made = _service(f"sqlite:///{tmp}/events.db", tmp, empty_first=False)
    else:
        made = _service(request.getfixturevalue("pg_database_url"), tmp, empty_first=True)
    yield made
    made.store.engine.dispose()


@pytest.fixture(scope="module")
def sqlite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The same on SQLite alone: for properties of refusals, which never reach the store."""
    tmp = tmp_path_factory.mktemp("properties")
    made = _service(f"sqlite:///{tmp}/events.db", tmp, empty_first=False)
    yield made
    made.store.engine.dispose()
