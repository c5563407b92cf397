"""`middleware check` for Pipedrive against the Pipedrive and Google emulators, over real
sockets: the ok lines, and each failure with the line that says what to fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.testing.pipedrive import PipedriveEmulator
from tests.integration.conftest import FAST_RULES, REP, emulator_env
from tests.integration.test_check_and_demo import check, failures

MEET, EVENT, DAY, TIME, ISO = ("a" * 40, "e" * 40, "b" * 40, "c" * 40, "f" * 40)
URL = "https://hooks.example.com"


def rules(**keys: str) -> str:
    """The shipped rules with the [pipedrive] keys set (defaults: the date + time start)."""
    text = FAST_RULES.replace("cancel_stage_ids = []", "cancel_stage_ids = [5]")
    values = {
        "start_field": DAY,
        "start_time_field": TIME,
        "meet_url_field": MEET,
        "event_id_field": EVENT,
        **keys,
    }
    for key, value in values.items():
        text = text.replace(f'{key} = ""', f'{key} = "{value}"')
    return text


@pytest.fixture
def pipedrive() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator() as emu:
        for key, kind, name in (
            (MEET, "varchar", "Demo Meet URL"),
            (EVENT, "varchar", "Demo event id"),
            (DAY, "date", "Demo day"),
            (TIME, "time", "Demo time"),
            (ISO, "varchar", "Demo start (ISO)"),
        ):
            emu.define_field(key, kind, name)
        emu.add_user(7, REP)
        yield emu


@pytest.fixture
def env_for(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    pipedrive: PipedriveEmulator,
    tmp_path: Path,
) -> Callable[..., dict[str, str]]:
    """A Pipedrive-only set-up (no HubSpot setting) on the emulators; ``**env`` overrides
    (None unsets), ``text`` the rules file."""

    def make(text: str | None = None, **env: str | None) -> dict[str, str]:
        return make_env(
            rules=text or rules(),
            HUBSPOT_CLIENT_SECRET=None,
            GOOGLE_SERVICE_ACCOUNT_FILE=google.write_key_file(tmp_path / "sa-key.json"),
            GOOGLE_API_BASE_URL=google.base_url,
            **{
                "PIPEDRIVE_API_TOKEN": pipedrive.api_token,
                "PIPEDRIVE_API_BASE_URL": pipedrive.base_url,
                "PIPEDRIVE_WEBHOOK_USER": "pd-hook",
                "PIPEDRIVE_WEBHOOK_PASSWORD": "a-long-random-password",
                "PUBLIC_BASE_URL": URL,
                **env,
            },
        )

    return make


def the_failure(env: dict[str, str], *args: str) -> str:
    code, lines = check(env, *args)
    assert code == 1, lines
    [line] = failures(lines)
    return line


def test_a_pipedrive_only_setup_passes_without_any_hubspot_setting(
    env_for: Callable[..., dict[str, str]],
) -> None:
    code, lines = check(env_for())
    assert failures(lines) == [] and code == 0, lines
    assert not any("hubspot" in line.lower() for line in lines), lines
    for expected in (
        "ok    pipedrive webhook auth: PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD are set",
        f"ok    pipedrive webhook url: set the Pipedrive webhook's endpoint URL to {URL}"
        "/webhooks/pipedrive (event object deal, version 2.0, with that HTTP auth)",
        f"ok    pipedrive token: accepted ({REP}, company Demo Company)",
        "ok    pipedrive field start_field: 'Demo day' exists (date)",
        "ok    pipedrive field start_time_field: 'Demo time' exists (time)",
        "ok    pipedrive field meet_url_field: 'Demo Meet URL' exists (varchar)",
        "ok    pipedrive field event_id_field: 'Demo event id' exists (varchar)",
        "ok    pipedrive trigger stages: 3 = Demo Scheduled in pipeline 1",
        "ok    pipedrive cancel stages: 5 = Lost in pipeline 1",
        f"ok    google rep {REP}: token minted, calendar 'primary' reachable, Meet allowed",
    ):
        assert expected in lines, lines
    assert lines[-1].endswith("0 failing")


def test_each_active_pipedrive_user_is_checked_with_google(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator, google: GoogleEmulator
) -> None:
    pipedrive.add_user(8, "Other@Seller.example")
    pipedrive.add_user(9, "left@seller.example", active=False)
    google.refuse_subject("other@seller.example")
    line = the_failure(env_for())
    assert line.startswith("FAIL  google rep other@seller.example:")
    assert google.client_id in line
    code, lines = check(env_for())
    assert not any("left@seller.example" in x for x in lines)
    assert any(x.startswith(f"ok    google rep {REP}:") for x in lines)


def test_with_no_active_user_the_reps_line_says_why(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator
) -> None:
    pipedrive.users[7]["active_flag"] = False
    line = the_failure(env_for())
    assert line == (
        "FAIL  google reps: no rep to check: pass --rep EMAIL "
        "(Pipedrive has no active user with an email)"
    )


def test_a_refused_token_names_the_setting_and_never_prints_the_token(
    env_for: Callable[..., dict[str, str]],
) -> None:
    code, lines = check(env_for(PIPEDRIVE_API_TOKEN="pd-wrong-token"))
    assert code == 1
    assert (
        "FAIL  pipedrive token: Pipedrive refused the API token (401) for the token check "
        "(the token's user): check PIPEDRIVE_API_TOKEN"
    ) in lines
    assert (
        "FAIL  google reps: no rep to check: pass --rep EMAIL (Pipedrive users could not be listed)"
    ) in lines
    assert "pd-wrong-token" not in "\n".join(lines)
    assert len(failures(lines)) == 2


def test_missing_api_settings_each_say_what_to_set(
    env_for: Callable[..., dict[str, str]],
) -> None:
    code, lines = check(env_for(PIPEDRIVE_API_TOKEN=None, PIPEDRIVE_API_BASE_URL=None))
    fails = failures(lines)
    assert code == 1 and len(fails) == 3, lines  # the token, the base URL, no rep
    assert fails[0].startswith("FAIL  pipedrive token: PIPEDRIVE_API_TOKEN is not set: copy")
    assert fails[1].startswith("FAIL  pipedrive token: PIPEDRIVE_API_BASE_URL is not set")
    assert "https://acme.pipedrive.com" in fails[1]


def test_missing_webhook_credentials(env_for: Callable[..., dict[str, str]]) -> None:
    line = the_failure(env_for(PIPEDRIVE_WEBHOOK_USER=None, PIPEDRIVE_WEBHOOK_PASSWORD=None))
    assert line.startswith(
        "FAIL  pipedrive webhook auth: PIPEDRIVE_WEBHOOK_USER and PIPEDRIVE_WEBHOOK_PASSWORD "
        "are not set (/webhooks/pipedrive answers 503)"
    )


def test_webhook_url_plain_http_fails_and_unset_is_fine(
    env_for: Callable[..., dict[str, str]],
) -> None:
    line = the_failure(env_for(PUBLIC_BASE_URL="http://hooks.example.com"))
    assert line.startswith("FAIL  pipedrive webhook url: http://hooks.example.com is not https:")
    assert "in clear text" in line
    code, lines = check(env_for(PUBLIC_BASE_URL=None))
    assert code == 0, failures(lines)
    assert any(
        x.startswith("ok    pipedrive webhook url: PUBLIC_BASE_URL is not set") for x in lines
    )


def test_a_missing_field_lists_the_fields_of_that_type(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator
) -> None:
    pipedrive.remove_field(MEET)
    line = the_failure(env_for())
    assert line.startswith(
        f"FAIL  pipedrive field meet_url_field: no deal field has the key '{MEET}': create it "
        "under Settings → Data fields → Deal and put its key in pipedrive.meet_url_field"
    )
    assert f"'Demo event id' = {EVENT}" in line and DAY not in line


def test_a_write_back_field_of_another_type(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator
) -> None:
    pipedrive.define_field(EVENT, "double", "Demo event id")
    line = the_failure(env_for())
    assert line == (
        "FAIL  pipedrive field event_id_field: 'Demo event id' has type 'double'; it must be a "
        "text field (Text, Large text or Autocomplete) (pipedrive.event_id_field)"
    )


def test_long_text_and_autocomplete_fields_take_the_write_back(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator
) -> None:
    pipedrive.define_field(MEET, "text", "Demo Meet URL")
    pipedrive.define_field(EVENT, "varchar_auto", "Demo event id")
    code, lines = check(env_for())
    assert code == 0, failures(lines)
    assert "ok    pipedrive field event_id_field: 'Demo event id' exists (varchar_auto)" in lines


def test_a_system_field_is_refused(env_for: Callable[..., dict[str, str]]) -> None:
    line = the_failure(env_for(rules(event_id_field="title")))
    assert line.startswith(
        "FAIL  pipedrive field event_id_field: 'Title' is one of Pipedrive's own deal fields, "
        "not a custom field"
    )


def test_a_date_start_without_a_time_field_is_refused_with_the_fix(
    env_for: Callable[..., dict[str, str]],
) -> None:
    line = the_failure(env_for(rules(start_time_field="")))
    assert line.startswith("FAIL  pipedrive field start_field: 'Demo day' has type 'date'")
    assert "every invitation would be at 00:00" in line
    assert "pipedrive.start_time_field" in line and "ISO 8601" in line


def test_one_iso_text_start_field_is_accepted(env_for: Callable[..., dict[str, str]]) -> None:
    code, lines = check(env_for(rules(start_field=ISO, start_time_field="")))
    assert code == 0, failures(lines)
    assert "ok    pipedrive field start_field: 'Demo start (ISO)' exists (varchar)" in lines
    assert not any("start_time_field" in x for x in lines)


def test_a_time_field_that_is_not_a_time(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator
) -> None:
    pipedrive.define_field(TIME, "varchar", "Demo time")
    line = the_failure(env_for())
    assert line.startswith(
        "FAIL  pipedrive field start_time_field: 'Demo time' has type 'varchar'; it must be a "
        "time field (pipedrive.start_time_field)"
    )


def test_an_unset_field_key_and_one_field_for_two_roles(
    env_for: Callable[..., dict[str, str]],
) -> None:
    line = the_failure(env_for(rules(meet_url_field="")))
    assert line.startswith(
        "FAIL  pipedrive field meet_url_field: not set: a text field (Text, Large text or "
        "Autocomplete) holds it; create it under Settings → Data fields → Deal and put its key "
        "in pipedrive.meet_url_field; custom text fields: 'Demo Meet URL' = "
    )
    line = the_failure(env_for(rules(event_id_field=MEET)))
    assert line == (
        "FAIL  pipedrive field event_id_field: is the same field as pipedrive.meet_url_field: "
        "each needs its own field"
    )


def test_an_unknown_stage_id_lists_the_stages(env_for: Callable[..., dict[str, str]]) -> None:
    line = the_failure(
        env_for(rules().replace("trigger_stage_ids = [3]", "trigger_stage_ids = [33]"))
    )
    assert line.startswith(
        "FAIL  pipedrive trigger stages: pipedrive.trigger_stage_ids: no deal stage has the id "
        "'33'; stages: 1 ('Qualified' in pipeline 1), 2 ('Contact Made' in pipeline 1)"
    )


def test_no_trigger_stage_is_a_failure(env_for: Callable[..., dict[str, str]]) -> None:
    line = the_failure(
        env_for(rules().replace("trigger_stage_ids = [3]", "trigger_stage_ids = []"))
    )
    assert line == (
        "FAIL  pipedrive trigger stages: pipedrive.trigger_stage_ids is empty: no deal would "
        "ever be booked"
    )


def test_a_rate_limited_field_list_is_one_line(
    env_for: Callable[..., dict[str, str]], pipedrive: PipedriveEmulator
) -> None:
    pipedrive.fail_next(429, headers={"Retry-After": "2"}, path="/dealFields")
    line = the_failure(env_for())
    assert line.startswith("FAIL  pipedrive fields: Pipedrive rate-limited the list of deal fields")


def test_both_crms_are_checked_and_every_owner_is_a_rep(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    pipedrive: PipedriveEmulator,
    tmp_path: Path,
) -> None:
    pipedrive.add_user(8, "pd-only@seller.example")
    env = emulator_env(
        make_env,
        google,
        hubspot,
        tmp_path,
        PIPEDRIVE_API_TOKEN=pipedrive.api_token,
        PIPEDRIVE_API_BASE_URL=pipedrive.base_url,
        PIPEDRIVE_WEBHOOK_USER="pd-hook",
        PIPEDRIVE_WEBHOOK_PASSWORD="a-long-random-password",
        PUBLIC_BASE_URL=URL,
    )
    env["MIDDLEWARE_CONFIG"] = str(tmp_path / "both.toml")
    (tmp_path / "both.toml").write_text(rules())
    code, lines = check(env)
    assert code == 0, failures(lines)
    assert "ok    hubspot token: accepted" in lines
    assert f"ok    pipedrive token: accepted ({REP}, company Demo Company)" in lines
    reps = [x.split(":")[0] for x in lines if x.startswith("ok    google rep ")]
    assert reps == ["ok    google rep pd-only@seller.example", f"ok    google rep {REP}"]


def test_with_no_crm_configured_one_line_says_what_to_set(
    make_env: Callable[..., dict[str, str]],
) -> None:
    code, lines = check(make_env(HUBSPOT_CLIENT_SECRET=None), "--rep", REP)
    assert code == 1
    assert any(
        x.startswith("FAIL  crm: no CRM is configured: set HUBSPOT_ACCESS_TOKEN and ")
        and "PIPEDRIVE_API_TOKEN" in x
        for x in lines
    ), lines
    assert not any(
        x.startswith(("FAIL  hubspot", "FAIL  pipedrive", "FAIL  webhook")) for x in lines
    )
