"""The operator CLI: output and exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from middleware.cli import cli
from middleware.database import make_engine
from middleware.model import NewEvent
from middleware.store import Store


@pytest.fixture
def env(make_env: Any) -> dict[str, str]:
    return make_env()


@pytest.fixture
def cli_store(env: dict[str, str]) -> Store:
    from middleware.database import upgrade_schema

    engine = make_engine(env["DATABASE_URL"])
    upgrade_schema(engine)
    store = Store(engine)
    ids = store.add_events(
        [NewEvent("hubspot", "1", str(i), f"k{i}", "s", None, {}) for i in range(4)]
    ).ids
    for claim in store.claim("w", 4, 60):
        if claim.deal_id in ("0", "1"):
            store.finish(
                claim, "failed", reason="google_delegation_denied", message="Google refused rep@x"
            )
        else:
            store.finish(claim, "succeeded", action="booked" if claim.deal_id == "2" else None)
    assert len(ids) == 4
    return store


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_list_table_and_json(env: dict[str, str], cli_store: Store) -> None:
    result = run(env, "events", "list", "--status", "failed")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:4] == ["ID", "STATUS", "ACTION", "PROVIDER"]
    assert len(lines) == 3 and "[google_delegation_denied] Google refused rep@x" in lines[1]
    data = json.loads(run(env, "events", "list", "--json", "--limit", "3").output)
    assert len(data["events"]) == 3 and data["next_cursor"] is not None
    rest = json.loads(run(env, "events", "list", "--json", "--cursor", data["next_cursor"]).output)
    assert len(rest["events"]) == 1 and rest["next_cursor"] is None
    booked = json.loads(run(env, "events", "list", "--json", "--action", "booked").output)
    assert [e["deal_id"] for e in booked["events"]] == ["2"]


def test_show(env: dict[str, str], cli_store: Store) -> None:
    result = run(env, "events", "show", "1")
    assert (
        result.exit_code == 0
        and json.loads(result.output)["attempt_history"][0]["outcome"] == "failed"
    )
    missing = run(env, "events", "show", "99")
    assert missing.exit_code == 1 and missing.output.strip() == "error: event 99 not found"


@pytest.mark.parametrize("given", ["٣", "9223372036854775808", "0", "1.0", "x" * 500])
def test_an_odd_event_id_is_one_line_and_exit_2(
    env: dict[str, str], cli_store: Store, given: str
) -> None:
    for command in ("show", "replay"):
        result = CliRunner().invoke(cli, ["events", command, given], env=env)
        assert result.exit_code == 2, result.output
        assert "is not an event id (1 to 2^63 - 1)" in result.output
        assert isinstance(result.exception, SystemExit)  # a usage error, not a crash


def test_replay_dry_run_then_for_real(env: dict[str, str], cli_store: Store) -> None:
    dry = run(env, "events", "replay", "--status", "failed", "--dry-run")
    assert dry.exit_code == 0 and dry.output.startswith("would replay 2 events")
    assert cli_store.status_counts()["failed"] == 2
    done = run(env, "events", "replay", "--reason", "google_delegation_denied")
    assert done.exit_code == 0 and done.output.strip() == "replayed 2 events"
    assert cli_store.status_counts()["pending"] == 2
    assert run(env, "events", "replay", "3").exit_code == 1  # succeeded needs --force
    assert run(env, "events", "replay", "3", "--force").output.strip() == "event 3 is pending again"
    audit = run(env, "events", "audit").output
    assert "bulk_replay" in audit and "replay" in audit


def test_bad_input_is_one_line(env: dict[str, str], cli_store: Store) -> None:
    result = run(env, "events", "list", "--status", "broken")
    assert result.exit_code == 2 and "status: Must be one of" in result.output
    assert "Traceback" not in result.output


def test_prune(env: dict[str, str], cli_store: Store) -> None:
    assert (
        run(env, "prune", "--older-than-days", "0", "--dry-run").output.strip()
        == "would delete 2 events older than 0 days"
    )
    assert (
        run(env, "prune", "--older-than-days", "0").output.strip()
        == "deleted 2 events older than 0 days"
    )
    assert cli_store.status_counts()["failed"] == 2
    assert (
        run(env, "prune", "--older-than-days", "0", "--include-failed").output.strip()
        == "deleted 2 events older than 0 days"
    )
    assert run(env, "prune").output.strip() == "deleted 0 events older than 30 days"
