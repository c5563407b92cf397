"""Refresh tokens at rest: the database file never holds one in clear, and GOOGLE_TOKEN_KEYS
rotates (new key first, ``middleware google reseal``, old key dropped)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from middleware.app import create_app
from middleware.cli import cli
from middleware.errors import PermanentError
from middleware.google_connections import ConnectionVault
from middleware.settings import Settings, load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.token_cipher import TokenCipher
from tests.oauth.support import TOKEN_KEY, Browser, link_for, oauth_env

REP = "alex@seller.example"


def database_bytes(tmp_path: Path) -> bytes:
    """Every byte SQLite keeps for the store: the file, its WAL and shared memory."""
    files = sorted(tmp_path.glob("events.db*"))
    assert files, "no database file"
    return b"".join(f.read_bytes() for f in files)


def test_the_database_file_holds_no_token_in_clear(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    sqlite_store: Store,
    tmp_path: Path,
) -> None:
    assert browser.connect(link_for(oauth_settings, REP)).status_code == 200
    [token] = google.refresh_tokens(REP)
    record = sqlite_store.google_connection(REP)
    assert record is not None
    stored = database_bytes(tmp_path)
    assert record.sealed_refresh_token.encode() in stored  # the right file, and what it keeps
    assert token.encode() not in stored
    assert token.split("//", 1)[1][:24].encode() not in stored  # not even a piece of it
    assert google.oauth_client_secret.encode() not in stored


def reseal(env: dict[str, str]) -> Any:
    return CliRunner().invoke(cli, ["google", "reseal"], env=env, catch_exceptions=False)


def opened_with(store: Store, settings: Settings, keys: list[str]) -> str | None:
    return ConnectionVault(store, TokenCipher(keys), settings).current(REP).refresh_token


def test_key_rotation_new_key_first_reseal_then_drop_the_old_one(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    sqlite_store: Store,
    make_env: Callable[..., dict[str, str]],
) -> None:
    old_link = link_for(oauth_settings, REP)
    assert browser.connect(old_link).status_code == 200
    [token] = google.refresh_tokens(REP)
    new = Fernet.generate_key().decode()
    # Before re-sealing, the new key alone cannot open the token: the event would say so.
    with pytest.raises(PermanentError) as info:
        opened_with(sqlite_store, oauth_settings, [new])
    assert info.value.reason == "google_oauth_reconnect"
    assert "GOOGLE_TOKEN_KEYS" in info.value.message and new not in info.value.message
    # Reseal refuses (changing nothing) while the key that sealed it is not listed.
    refused = reseal(make_env(**oauth_env(google, keys=new)))
    assert refused.exit_code == 1 and "opens with no key of GOOGLE_TOKEN_KEYS" in refused.output
    assert opened_with(sqlite_store, oauth_settings, [TOKEN_KEY]) == token
    # Rotation: the new key first, the old one after; reseal; the old key can go.
    rotated = make_env(**oauth_env(google, keys=f"{new},{TOKEN_KEY}"))
    assert opened_with(sqlite_store, load_settings(rotated), [new, TOKEN_KEY]) == token
    done = reseal(rotated)
    assert done.exit_code == 0 and "1 refresh token sealed with the first key" in done.output
    assert opened_with(sqlite_store, oauth_settings, [new]) == token
    with pytest.raises(PermanentError):
        opened_with(sqlite_store, oauth_settings, [TOKEN_KEY])
    [audit, *_] = sqlite_store.list_audit(limit=5)[0]
    assert (audit.action, audit.count) == ("google_reseal", 1)
    # A connect link made before the rotation works while its key is listed, not after.
    during = Browser(create_app(load_settings(rotated), store=sqlite_store).test_client())
    assert during.connect(old_link).status_code == 200
    after = create_app(load_settings(make_env(**oauth_env(google, keys=new))), store=sqlite_store)
    assert Browser(after.test_client()).open_link(old_link).status_code == 403
