"""GOOGLE_AUTH_MODE, the OAuth client settings, and the per-rep override ``[google.rep_auth]``."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from middleware.errors import ConfigError
from middleware.settings import load_settings

KEY = Fernet.generate_key().decode()
OAUTH = {
    "GOOGLE_AUTH_MODE": "oauth",
    "GOOGLE_OAUTH_CLIENT_ID": "123-abc.apps.googleusercontent.com",
    "GOOGLE_OAUTH_CLIENT_SECRET": "GOCSPX-hunter2",
    "GOOGLE_OAUTH_REDIRECT_URI": "https://hooks.example.com/connect/google/callback",
    "GOOGLE_TOKEN_KEYS": KEY,
}


def test_delegation_is_the_default_and_needs_no_oauth_setting(make_env: Any) -> None:
    settings = load_settings(make_env())
    assert settings.google_auth_mode == "delegation"
    assert not settings.google_oauth_in_use and settings.google_delegation_in_use
    assert settings.google_auth_mode_for("rep@x.example") == "delegation"
    assert settings.google_oauth_token_uri == "https://oauth2.googleapis.com/token"
    assert settings.google_oauth_auth_uri == "https://accounts.google.com/o/oauth2/auth"


def test_oauth_mode_with_its_settings(make_env: Any) -> None:
    settings = load_settings(make_env(**OAUTH))
    assert settings.google_oauth_in_use and not settings.google_delegation_in_use
    assert settings.google_token_keys == (KEY,)
    assert settings.google_connect_url == "https://hooks.example.com/connect/google"
    assert "hunter2" not in repr(settings) and KEY not in repr(settings)


@pytest.mark.parametrize("missing", sorted(set(OAUTH) - {"GOOGLE_AUTH_MODE"}))
def test_oauth_mode_names_what_is_missing(make_env: Any, missing: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(make_env(**{**OAUTH, missing: None}))
    assert str(info.value).startswith("GOOGLE_AUTH_MODE=oauth needs ") and missing in str(
        info.value
    )


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"GOOGLE_AUTH_MODE": "magic"}, "GOOGLE_AUTH_MODE: Must be one of: delegation, oauth."),
        (
            {"GOOGLE_OAUTH_REDIRECT_URI": "https://hooks.example.com/oauth"},
            "GOOGLE_OAUTH_REDIRECT_URI: must be this service's /connect/google/callback URL",
        ),
        ({"GOOGLE_TOKEN_KEYS": f"{KEY},hunter2"}, "GOOGLE_TOKEN_KEYS: key 2 of 2 is not a Fernet"),
        ({"GOOGLE_OAUTH_TOKEN_URI": "ftp://x"}, "GOOGLE_OAUTH_TOKEN_URI: must be an http"),
    ],
)
def test_bad_oauth_settings_name_the_variable(make_env: Any, env: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(make_env(**env))
    assert str(info.value).startswith(expected) and "hunter2" not in str(info.value)


def test_a_rep_override_in_the_rules(make_env: Any) -> None:
    rules = '[google.rep_auth]\n"Alex@Gmail.com" = "oauth"\n'
    with pytest.raises(ConfigError, match=r"google\.rep_auth names oauth reps, which needs"):
        load_settings(make_env(rules=rules))
    env = {k: v for k, v in OAUTH.items() if k != "GOOGLE_AUTH_MODE"}
    settings = load_settings(make_env(rules=rules, **env))
    assert settings.google_auth_mode_for("alex@gmail.com") == "oauth"
    assert settings.google_auth_mode_for("sam@acme.example") == "delegation"
    assert settings.google_oauth_in_use and settings.google_delegation_in_use


@pytest.mark.parametrize(
    "rules,expected",
    [
        ('[google.rep_auth]\n"a@b.example" = "sso"\n', "google.rep_auth"),
        ('[google.rep_auth]\n"not-an-email" = "oauth"\n', "google.rep_auth"),
        ("[google]\nmode = 'oauth'\n", "google.mode: unknown key"),
    ],
)
def test_bad_google_rules_name_the_key(make_env: Any, rules: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(make_env(rules=rules, **OAUTH))
    assert expected in str(info.value)
