"""The Host a webhook may name, and the admin API on a listener of its own (web/hosts.py)."""

from __future__ import annotations

from typing import Any

import pytest

from middleware.app import create_app
from middleware.errors import ConfigError
from middleware.web.hosts import host_allowed, machine_names, split_host, startup_warnings
from tests.builders import ADMIN_TOKEN, body_of, hubspot_headers, notification
from tests.web.test_webhooks import stored

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def signed_post(client: Any, host: str) -> Any:
    body = body_of([notification(42)])
    headers = hubspot_headers(body, f"http://{host}/webhooks/hubspot")
    return client.post("/webhooks/hubspot", data=body, headers={**headers, "Host": host})


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("Hooks.Example.com", ("hooks.example.com", None)),
        ("hooks.example.com:8443", ("hooks.example.com", "8443")),
        ("[::1]:8000", ("[::1]", "8000")),
        ("[::1]", ("[::1]", None)),
        ("::1", ("::1", None)),
        ("host:port", ("host:port", None)),
    ],
)
def test_split_host(value: str, parts: tuple[str, str | None]) -> None:
    assert split_host(value) == parts


def test_without_settings_only_this_machines_names_are_accepted(make_settings: Any) -> None:
    settings = make_settings()
    assert {"localhost", "127.0.0.1", "[::1]"} <= machine_names()
    assert host_allowed("localhost:8000", settings)
    assert host_allowed("127.0.0.1", settings)
    assert not host_allowed("hooks.other-deployment.example", settings)
    assert any("neither PUBLIC_BASE_URL nor ALLOWED_HOSTS" in w for w in startup_warnings(settings))


def test_allowed_hosts_is_the_whole_list_with_optional_ports(make_settings: Any) -> None:
    settings = make_settings(ALLOWED_HOSTS="Hooks.Example.com, staging.example.com:8443")
    assert settings.allowed_hosts == ("hooks.example.com", "staging.example.com:8443")
    assert host_allowed("hooks.example.com", settings)
    assert host_allowed("HOOKS.example.com:443", settings)
    assert host_allowed("staging.example.com:8443", settings)
    assert not host_allowed("staging.example.com:9000", settings)
    assert not host_allowed("localhost", settings)  # the list replaces the machine's names
    assert not list(startup_warnings(settings))


def test_public_base_url_makes_the_host_irrelevant(make_settings: Any) -> None:
    settings = make_settings(PUBLIC_BASE_URL="https://hooks.example.com")
    assert host_allowed("anything.example", settings)


def test_a_webhook_for_an_unknown_host_is_refused_and_nothing_is_stored(
    make_settings: Any, sqlite_store: Any
) -> None:
    app = create_app(make_settings(), store=sqlite_store)
    response = signed_post(app.test_client(), "hooks.other-deployment.example")
    assert response.status_code == 400
    assert "ALLOWED_HOSTS" in response.json["error"]
    assert stored(app) == 0
    assert signed_post(app.test_client(), "localhost").status_code == 200
    assert stored(app) == 1


def test_an_allowed_host_is_signed_as_sent(make_settings: Any, sqlite_store: Any) -> None:
    app = create_app(make_settings(ALLOWED_HOSTS="hooks.example.com"), store=sqlite_store)
    assert signed_post(app.test_client(), "hooks.example.com").status_code == 200
    assert signed_post(app.test_client(), "localhost").status_code == 400


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ADMIN_BIND": "9000"}, "ADMIN_BIND: must be HOST:PORT"),
        ({"ADMIN_BIND": "127.0.0.1:70000"}, "ADMIN_BIND: must be HOST:PORT"),
        ({"ADMIN_BIND": "127.0.0.1:8000", "PORT": "8000"}, "must not use PORT's port"),
        ({"ALLOWED_HOSTS": "https://hooks.example.com"}, "ALLOWED_HOSTS: 'https"),
    ],
)
def test_bad_exposure_settings_are_one_line(
    make_settings: Any, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_settings(**env)


def test_with_admin_bind_the_admin_api_answers_only_on_its_listener(
    make_settings: Any, sqlite_store: Any
) -> None:
    app = create_app(make_settings(ADMIN_BIND="127.0.0.1:9001"), store=sqlite_store)
    client = app.test_client()
    public = client.get("/admin/events", headers=AUTH, environ_overrides={"SERVER_PORT": "8000"})
    admin = client.get("/admin/events", headers=AUTH, environ_overrides={"SERVER_PORT": "9001"})
    spec = client.get("/openapi.json", environ_overrides={"SERVER_PORT": "8000"})
    health = client.get("/healthz", environ_overrides={"SERVER_PORT": "8000"})
    assert (public.status_code, public.json) == (404, {"error": "no such endpoint"})
    assert admin.status_code == 200
    assert spec.status_code == 404
    assert health.status_code == 200


def test_a_short_admin_token_is_warned_about(make_settings: Any) -> None:
    warnings = list(startup_warnings(make_settings(ADMIN_TOKEN="short", ALLOWED_HOSTS="h.example")))
    assert len(warnings) == 1 and "shorter than 32 characters" in warnings[0]
    assert "short" not in warnings[0].replace("shorter", "")  # the token itself is never shown
