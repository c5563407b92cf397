"""Reps' connections for operators: ``GET /admin/google/reps`` and ``middleware google …``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from click.testing import CliRunner

from middleware.cli import cli
from middleware.settings import Settings
from middleware.testing.google import GoogleEmulator
from tests.builders import ADMIN_TOKEN
from tests.oauth.support import Browser, link_for, oauth_env

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REP, OTHER = "alex@seller.example", "sam@seller.example"


def test_the_admin_api_lists_reps_with_their_state_and_never_a_token(
    browser: Browser, google: GoogleEmulator, oauth_settings: Settings
) -> None:
    client = browser.client
    assert client.get("/admin/google/reps").status_code == 401
    browser.connect(link_for(oauth_settings, REP))
    answer = client.get(f"/admin/google/reps?rep={OTHER}", headers=AUTH)
    assert answer.status_code == 200
    shown = {r["email"]: r for r in answer.json["reps"]}
    assert (shown[REP]["mode"], shown[REP]["state"]) == ("oauth", "connected")
    assert shown[REP]["connected_at"].endswith("Z") and shown[REP]["broken_at"] is None
    assert shown[OTHER]["state"] == "not_connected"
    assert shown[OTHER]["connect_url"] == link_for(oauth_settings, OTHER)
    spec = client.get("/openapi.json").json
    assert set(shown[REP]) == set(spec["components"]["schemas"]["RepConnection"]["properties"])
    assert "/admin/google/reps" in spec["paths"]
    text = answer.get_data(as_text=True)
    assert not [t for t in google.refresh_tokens(REP) if t in text]
    bad = client.get("/admin/google/reps?rep=nobody", headers=AUTH)
    assert bad.status_code == 400 and "not an email address" in bad.json["error"]


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, ["google", *args], env=env, catch_exceptions=False)


def test_the_cli_lists_reps_and_prints_links(
    browser: Browser,
    google: GoogleEmulator,
    oauth_settings: Settings,
    make_env: Callable[..., dict[str, str]],
) -> None:
    env = make_env(**oauth_env(google))
    browser.connect(link_for(oauth_settings, REP))
    listed = run(env, "reps", "--rep", OTHER)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert any(
        line.startswith(REP) and "oauth" in line and "connected since" in line for line in lines
    )
    assert any(
        line.startswith(OTHER)
        and f"not_connected: send them {link_for(oauth_settings, OTHER)}" in line
        for line in lines
    )
    as_json = run(env, "reps", "--json")
    assert '"state": "connected"' in as_json.output
    assert not [t for t in google.refresh_tokens(REP) if t in listed.output + as_json.output]
    link = run(env, "link", OTHER)
    assert (link.exit_code, link.output.strip()) == (0, link_for(oauth_settings, OTHER))
    assert run(env, "link", "nobody").exit_code == 2


def test_the_cli_without_oauth_says_so_in_one_line(make_env: Callable[..., dict[str, str]]) -> None:
    result = CliRunner().invoke(cli, ["google", "link", REP], env=make_env())
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: GOOGLE_OAUTH_REDIRECT_URI is not set: the links are made from it"
    ]
    listed = CliRunner().invoke(cli, ["google", "reps", "--rep", REP], env=make_env())
    assert listed.exit_code == 0 and "delegation" in listed.output
