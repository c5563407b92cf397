"""`middleware check` against the emulators, and `middleware demo` end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from middleware.cli import cli
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import SHIPPED_RULES
from tests.integration.conftest import REP


def check(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["check", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output.strip().splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_all_checks_pass(stack_env: dict[str, str]) -> None:
    code, lines = check({**stack_env, "PUBLIC_BASE_URL": "https://hooks.example.com"})
    assert failures(lines) == [] and code == 0, lines
    assert (
        f"ok    google rep {REP}: token minted, calendar 'primary' reachable, Meet allowed" in lines
    )
    assert (
        "ok    webhook url: set the HubSpot app's target URL to https://hooks.example.com/webhooks/hubspot"
        in lines
    )
    assert any(
        line.startswith("ok    trigger stages: demoscheduled = Demo Scheduled") for line in lines
    )
    assert lines[-1].endswith("0 failing")
    # HubSpot only: no Pipedrive setting, so no Pipedrive line (and no failure for it).
    assert not any("pipedrive" in line.lower() for line in lines), lines


def test_a_short_admin_token_fails_without_showing_it(stack_env: dict[str, str]) -> None:
    code, lines = check({**stack_env, "ADMIN_TOKEN": "hunter2-admin"})
    assert code == 1
    assert (
        "FAIL  admin token: ADMIN_TOKEN is 13 characters: use at least 32 random ones "
        "(openssl rand -hex 32)" in lines
    )
    assert not any("hunter2" in line for line in lines)


def test_delegation_refused(stack_env: dict[str, str], google: GoogleEmulator) -> None:
    google.refuse_subject(REP)
    code, lines = check({**stack_env, "PUBLIC_BASE_URL": "https://hooks.example.com"})
    [line] = failures(lines)
    assert code == 1
    assert line.startswith(f"FAIL  google rep {REP}:")
    assert google.client_id in line and "https://www.googleapis.com/auth/calendar.events" in line


def test_meet_disabled_for_a_rep(stack_env: dict[str, str], google: GoogleEmulator) -> None:
    google.meet_disabled.add("other@seller.example")
    code, lines = check(
        {**stack_env, "PUBLIC_BASE_URL": "https://hooks.example.com"},
        "--rep",
        "other@seller.example",
    )
    [line] = failures(lines)
    assert code == 1 and "other@seller.example" in line and "Meet" in line


def test_missing_property_and_unknown_stage(
    stack_env: dict[str, str], hubspot: HubSpotEmulator, tmp_path: Path
) -> None:
    hubspot.remove_property("demo_meet_url")
    rules = tmp_path / "rules.toml"
    rules.write_text(
        SHIPPED_RULES.replace(
            'trigger_stages = ["demoscheduled"]', 'trigger_stages = ["3752325848"]'
        )
    )
    code, lines = check(
        {
            **stack_env,
            "MIDDLEWARE_CONFIG": str(rules),
            "PUBLIC_BASE_URL": "https://hooks.example.com",
        }
    )
    assert code == 1
    fails = failures(lines)
    assert len(fails) == 2, lines
    assert (
        fails[0].startswith("FAIL  deal property demo_meet_url: does not exist")
        and "hubspot.meet_url_property" in fails[0]
    )
    assert (
        fails[1].startswith(
            "FAIL  trigger stages: hubspot.trigger_stages: no deal stage has the id or label "
            "'3752325848'"
        )
        and "demoscheduled" in fails[1]
    )


def test_a_date_start_property_is_refused_with_the_fix(
    stack_env: dict[str, str], hubspot: HubSpotEmulator
) -> None:
    # A `date` property has no time of day: every invitation would be at 00:00.
    hubspot.define_property("demo_start_time", type="date", field_type="date")
    code, lines = check({**stack_env, "PUBLIC_BASE_URL": "https://hooks.example.com"})
    [line] = failures(lines)
    assert code == 1
    assert line.startswith("FAIL  deal property demo_start_time: has type 'date'")
    assert "every invitation would be at 00:00" in line
    assert "type datetime" in line and "single-line text holding ISO 8601" in line
    assert "hubspot.start_property" in line


def test_a_text_start_property_is_accepted(
    stack_env: dict[str, str], hubspot: HubSpotEmulator
) -> None:
    hubspot.define_property("demo_start_time", type="string", field_type="text")
    code, lines = check({**stack_env, "PUBLIC_BASE_URL": "https://hooks.example.com"})
    assert code == 0, failures(lines)
    assert "ok    deal property demo_start_time: exists (string)" in lines


def test_bad_key_file_and_missing_url(stack_env: dict[str, str], tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(
        '{"type": "service_account", "client_email": "a@b.c", "private_key": "not a key", "token_uri": "http://x"}'
    )
    code, lines = check({**stack_env, "GOOGLE_SERVICE_ACCOUNT_FILE": str(key)})
    fails = failures(lines)
    assert code == 1
    assert any(line.startswith("FAIL  webhook url: PUBLIC_BASE_URL is not set") for line in fails)
    assert any(line.startswith("FAIL  google key:") for line in fails)
    assert "Traceback" not in "\n".join(lines)


def test_wrong_hubspot_token(stack_env: dict[str, str]) -> None:
    code, lines = check(
        {
            **stack_env,
            "HUBSPOT_ACCESS_TOKEN": "pat-wrong",
            "PUBLIC_BASE_URL": "https://h.example.com",
        },
        "--rep",
        REP,
    )
    assert code == 1
    assert any(
        line.startswith("FAIL  hubspot token:") and "HUBSPOT_ACCESS_TOKEN" in line for line in lines
    )
    assert "pat-wrong" not in "\n".join(lines)


@pytest.mark.parametrize(
    "args, crm, written",
    [
        ((), "HubSpot", '"demo_calendar_event_id"'),  # the default
        (("--crm", "pipedrive"), "Pipedrive", '"Demo Calendar event id"'),
    ],
)
def test_demo_runs_to_completion(
    tmp_path: Path, make_env: Any, args: tuple[str, ...], crm: str, written: str
) -> None:
    # Outside the checkout: the demo needs only the installed package (its emulators ship in
    # middleware.testing), not the repository's tests/ or config/.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "middleware.cli", "demo", *args, "--timeout", "90"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f", {crm} at http://127.0.0.1:" in result.stdout
    assert "Meet link: https://meet.google.com/" in result.stdout
    assert f"The deal's written-back {crm} fields (deal 4242):" in result.stdout
    assert written in result.stdout
    assert "stopped the web process" in result.stdout


def test_demo_refuses_an_unknown_crm() -> None:
    result = CliRunner().invoke(cli, ["demo", "--crm", "salesforce"])
    assert result.exit_code == 2
    assert "'salesforce' is not one of 'hubspot', 'pipedrive'" in result.output
