"""`middleware check` in OAuth mode, against the emulators; and the migration that adds the
connections table to an existing database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from middleware.app import create_app
from middleware.cli import cli
from middleware.database import make_engine, upgrade_schema
from middleware.settings import load_settings
from middleware.testing.google import GoogleEmulator
from tests.integration.crm_drivers import NEW_REP, REP
from tests.integration.test_migrations import empty_pg_url  # noqa: F401 - a fixture
from tests.oauth.support import Browser, link_for, oauth_env

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def oauth_check_env(
    stack_env: dict[str, str], google: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The HubSpot stack in OAuth mode (no service account), REP connected."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    env = {k: v for k, v in stack_env.items() if k != "GOOGLE_SERVICE_ACCOUNT_FILE"}
    env.update(oauth_env(google), PUBLIC_BASE_URL="https://hooks.example.com")
    settings = load_settings(env)
    engine = make_engine(settings.database_url)
    upgrade_schema(engine)
    engine.dispose()
    browser = Browser(create_app(settings).test_client())
    assert browser.connect(link_for(settings, REP)).status_code == 200
    return env


def check(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["check", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output.strip().splitlines()


def test_oauth_mode_checks_the_client_and_each_rep(
    oauth_check_env: dict[str, str], google: GoogleEmulator
) -> None:
    code, lines = check(oauth_check_env, "--rep", REP, "--rep", NEW_REP)
    assert code == 1
    [client_line] = [line for line in lines if "google oauth client" in line]
    assert client_line.startswith("ok    google oauth client: client ")
    assert "reps connect at http://localhost/connect/google" in client_line
    assert (
        f"ok    google rep {REP}: connected (OAuth), token refreshed, calendar 'primary' "
        "reachable, Meet allowed" in lines
    )
    [failing] = [line for line in lines if line.startswith("FAIL")]
    assert failing.startswith(f"FAIL  google rep {NEW_REP}: rep {NEW_REP} must connect at ")
    assert not any("google key" in line for line in lines)  # no rep uses delegation
    assert google.events(REP) and not google.live_events()  # the Meet probe, deleted at once
    secrets = [*google.refresh_tokens(REP), google.oauth_client_secret]
    assert not [s for s in secrets if s in "\n".join(lines)]


def test_a_wrong_client_secret_fails_the_client_line(oauth_check_env: dict[str, str]) -> None:
    env = {**oauth_check_env, "GOOGLE_OAUTH_CLIENT_SECRET": "GOCSPX-wrong-hunter2"}
    code, lines = check(env, "--rep", REP)
    assert code == 1
    [client_line] = [line for line in lines if "google oauth client" in line]
    assert client_line.startswith("FAIL  google oauth client: Google refused the OAuth client")
    assert not any("hunter2" in line for line in lines)


def test_a_revoked_rep_fails_with_the_link(
    oauth_check_env: dict[str, str], google: GoogleEmulator
) -> None:
    google.revoke_grants(REP)
    code, lines = check(oauth_check_env, "--rep", REP)
    [failing] = [line for line in lines if line.startswith("FAIL")]
    assert (
        code == 1 and f"rep {REP} must reconnect at http://localhost/connect/google?rep=" in failing
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0005_adds_the_connections_table_to_an_existing_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from alembic import command

    from middleware.database import alembic_config, schema_is_current

    url: Any = (
        f"sqlite:///{tmp_path}/old.db"
        if backend == "sqlite"
        else request.getfixturevalue("empty_pg_url")
    )
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as connection:  # a database of the previous release
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0004")
    assert not schema_is_current(engine)
    upgrade_schema(engine)
    assert schema_is_current(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM google_connections")).scalar_one() == 0
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004")
    with engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
    assert "google_connections" not in tables and {"events", "workers"} <= tables
    engine.dispose()
