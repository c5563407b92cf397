"""Fixtures of the OAuth tests: Google's emulator, the service in OAuth mode on a SQLite file,
and a rep's browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from middleware.app import create_app
from middleware.settings import Settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from tests.oauth.support import Browser, oauth_env


@pytest.fixture(autouse=True)
def _plain_http_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib (under google-auth-oauthlib) refuses http:// endpoints unless told they are a
    # local test server; the service's own code never sets this.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emu:
        yield emu
        assert emu.internal_errors == []


@pytest.fixture
def oauth_settings(make_settings: Callable[..., Settings], google: GoogleEmulator) -> Settings:
    return make_settings(**oauth_env(google))


@pytest.fixture
def oauth_app(oauth_settings: Settings, sqlite_store: Store) -> Any:
    app = create_app(oauth_settings, store=sqlite_store)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def browser(oauth_app: Any) -> Browser:
    return Browser(oauth_app.test_client())
