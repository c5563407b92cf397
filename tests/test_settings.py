"""Settings: environment + rules file, validated; one clear line on error."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from middleware.errors import ConfigError
from middleware.settings import load_settings
from tests.builders import SHIPPED_RULES


def test_shipped_rules_file_loads(make_env: Any) -> None:
    settings = load_settings(make_env())
    assert settings.rules.meeting.title == "Demo: {deal_name}"
    assert settings.rules.hubspot.trigger_stages == ("demoscheduled",)
    assert settings.worker_concurrency == 8
    assert settings.google_api_base_url == "https://www.googleapis.com/"


def test_defaults_apply_to_missing_tables(make_env: Any) -> None:
    settings = load_settings(make_env(rules="[meeting]\nduration_minutes = 45\n"))
    assert settings.rules.meeting.duration_minutes == 45
    assert settings.rules.meeting.send_updates == "all"
    assert settings.rules.meeting.max_attendees == 100
    assert settings.rules.hubspot.start_property == "demo_start_time"


@pytest.mark.parametrize(
    "rules,expected",
    [
        ("[meeting]\nduration_minutes = 0\n", "meeting.duration_minutes"),
        ("[meeting]\nduration_minutes = '30'\n", "meeting.duration_minutes"),
        ("[meeting]\ntimezone = 'Mars/Olympus'\n", "meeting.timezone: unknown IANA time zone"),
        ("[meeting]\nsend_updates = 'everyone'\n", "meeting.send_updates"),
        ("[meeting]\nmax_attendees = 0\n", "meeting.max_attendees"),
        ("[meeting]\nmax_attendees = 1001\n", "meeting.max_attendees"),
        ("[meeting]\ntitle = 'Demo {deal.__class__}'\n", "meeting.title: unknown field"),
        ("[meeting]\ntitle = 'Demo {amount}'\n", "meeting.title: unknown field {amount}"),
        ("[meeting]\ndescription = 'x {deal_name[0]}'\n", "meeting.description: unknown field"),
        ("[meeting]\ntitle = 'Demo {'\n", "meeting.title: not a valid template"),
        ("[hubspot]\ntrigger_stages = []\n", "hubspot.trigger_stages"),
        ("[hubspot]\nstage = 'x'\n", "hubspot.stage: unknown key"),
        ("[surprise]\n", "surprise: unknown key"),
        ("this is = not toml [", "not valid TOML"),
    ],
)
def test_bad_rules_name_the_key(make_env: Any, rules: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(make_env(rules=rules))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"WORKER_CONCURRENCY": "lots"}, "WORKER_CONCURRENCY: Not a valid integer."),
        ({"WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: backend 'mysql' is not supported"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"GOOGLE_API_BASE_URL": "ftp://x"}, "GOOGLE_API_BASE_URL: must be an http"),
        ({"GOOGLE_SERVICE_ACCOUNT_FILE": "/nonexistent/key.json"}, "no such file"),
        ({"PIPEDRIVE_WEBHOOK_USER": "u"}, "must be set together"),
        ({"MIDDLEWARE_CONFIG": "/nonexistent.toml"}, "rules file /nonexistent.toml: not found"),
        ({"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY: Not a valid integer."),
        ({"WEB_THREADS": "0"}, "WEB_THREADS"),
        ({"PORT": "70000"}, "PORT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: must be DEBUG"),
        ({"WORKER_ATTEMPT_TIMEOUT_SECONDS": "89"}, "WORKER_ATTEMPT_TIMEOUT_SECONDS: Must be "),
        ({"WORKER_ATTEMPT_TIMEOUT_SECONDS": "3601"}, "WORKER_ATTEMPT_TIMEOUT_SECONDS"),
        ({"WORKER_ATTEMPT_TIMEOUT_SECONDS": "soon"}, "WORKER_ATTEMPT_TIMEOUT_SECONDS"),
    ],
)
def test_bad_environment_names_the_variable(make_env: Any, env: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        load_settings(make_env(**env))
    assert expected in str(info.value)


def test_key_file_must_be_a_service_account(make_env: Any, tmp_path: Any) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ConfigError, match="not a service account key"):
        load_settings(make_env(GOOGLE_SERVICE_ACCOUNT_FILE=str(key)))
    key.write_text("{oops")
    with pytest.raises(ConfigError, match="not a readable JSON"):
        load_settings(make_env(GOOGLE_SERVICE_ACCOUNT_FILE=str(key)))


def test_secrets_never_in_repr(make_env: Any) -> None:
    settings = load_settings(
        make_env(
            DATABASE_URL="postgresql+psycopg://u:hunter2@db/x", HUBSPOT_ACCESS_TOKEN="pat-secret"
        )
    )
    assert "hunter2" not in repr(settings) and "pat-secret" not in repr(settings)


def test_empty_variables_count_as_unset(make_env: Any) -> None:
    settings = load_settings(make_env(HUBSPOT_CLIENT_SECRET="", ADMIN_TOKEN=""))
    assert settings.hubspot_client_secret is None and settings.admin_token is None


def test_cli_reports_bad_settings_in_one_line(make_env: Any) -> None:
    env = make_env(rules=SHIPPED_RULES.replace("duration_minutes = 30", "duration_minutes = -1"))
    result = subprocess.run(
        [sys.executable, "-m", "middleware.cli", "db", "upgrade"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "meeting.duration_minutes" in lines[0]
    assert "Traceback" not in result.stderr


def test_every_variable_is_declared_once_and_documented() -> None:
    from middleware.settings import ENV_VARS
    from tests.builders import REPO

    names = [f.metadata["env"] for f in ENV_VARS]
    assert len(names) == len(set(names))
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert [n for n in names if f"`{n}`" not in table] == []


def test_web_server_values_are_typed(make_env: Any) -> None:
    settings = load_settings(make_env(WEB_CONCURRENCY="3", WEB_THREADS="5", LOG_LEVEL="debug"))
    assert (settings.web_concurrency, settings.web_threads, settings.log_level) == (3, 5, "DEBUG")
    assert load_settings(make_env(PUBLIC_BASE_URL="https://h.example.com/")).public_base_url == (
        "https://h.example.com"
    )


def test_web_threads_default_to_more_on_sqlite(make_env: Any) -> None:
    """A webhook's thread on SQLite only waits for its process's writer (group commit)."""
    assert load_settings(make_env()).web_threads == 16
    pg = make_env(DATABASE_URL="postgresql+psycopg://u@db.example.com/mw")
    assert load_settings(pg).web_threads == 4
    assert load_settings(make_env(WEB_THREADS="6")).web_threads == 6


def test_quota_park_minutes(make_env: Any) -> None:
    assert load_settings(make_env()).rules.retry.quota_park_minutes == 30
    assert load_settings(make_env(rules="")).rules.retry.quota_park_minutes == 30
    rules = "[retry]\nquota_park_minutes = 1440\n"
    assert load_settings(make_env(rules=rules)).rules.retry.quota_park_minutes == 1440
    for bad in ("0", "1441", "'30'"):
        with pytest.raises(ConfigError, match="retry.quota_park_minutes"):
            load_settings(make_env(rules=f"[retry]\nquota_park_minutes = {bad}\n"))


def test_the_attempt_maximum_leaves_room_for_two_of_the_longest_calls(make_env: Any) -> None:
    from middleware.deadlines import LONGEST_CALL_SECONDS

    assert load_settings(make_env()).worker_attempt_timeout_seconds == 120.0
    assert load_settings(make_env()).worker_lease_seconds == 60.0
    lowest = load_settings(make_env(WORKER_ATTEMPT_TIMEOUT_SECONDS="90"))
    assert lowest.worker_attempt_timeout_seconds == 90.0 == 2 * LONGEST_CALL_SECONDS
