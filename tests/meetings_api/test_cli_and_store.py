"""``middleware api-keys`` on the box, and the store's meeting writes on SQLite and PostgreSQL
(concurrent creates with one Idempotency-Key make one meeting)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from click.testing import CliRunner

from middleware.cli import cli
from middleware.meetings_api import changes
from middleware.meetings_api.keys import authenticate, create_api_key
from middleware.store import Store
from middleware.store.meetings import IdempotencyConflict
from tests.meetings_api.support import meeting_body


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_api_keys_cli_create_list_revoke(make_env: Any) -> None:
    env = make_env()
    made = run(
        env,
        "api-keys",
        "create",
        "booking page",
        "--scope",
        "write",
        "--organizer",
        "@acme.example",
    )
    assert made.exit_code == 0
    key = made.stdout.strip().splitlines()[0]
    assert key.startswith("mk_")
    listed = run(env, "api-keys", "list")
    assert "booking page" in listed.output and "@acme.example" in listed.output
    assert key not in listed.output
    data = json.loads(run(env, "api-keys", "list", "--json").output)
    [entry] = data["api_keys"]
    assert entry["active"] is True and entry["scope"] == "write"
    assert run(env, "api-keys", "revoke", str(entry["id"])).output.strip().endswith("revoked")
    assert (
        json.loads(run(env, "api-keys", "list", "--json").output)["api_keys"][0]["active"] is False
    )
    missing = run(env, "api-keys", "revoke", "42")
    assert missing.exit_code == 1 and missing.output.strip() == "error: API key 42 not found"
    bad = run(env, "api-keys", "create", "x", "--scope", "write", "--organizer", "nobody")
    assert bad.exit_code == 2 and "neither an email nor @domain" in bad.output


def test_one_meeting_for_concurrent_creates_with_one_key(store: Store) -> None:
    key = create_api_key(store, name="t", scope="write", actor="test").record
    body = meeting_body()

    def make(_: int) -> str:
        meeting, _created = changes.create(store, key, "same-key", body, changes.Defaults())
        return meeting.id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(make, range(16)))
    assert len(ids) == 1
    assert store.count_unfinished() == 1  # one event
    with pytest.raises(IdempotencyConflict):
        changes.create(store, key, "same-key", {**body, "title": "other"}, changes.Defaults())
    other = create_api_key(store, name="u", scope="write", actor="test").record
    mine, created = changes.create(store, other, "same-key", body, changes.Defaults())
    assert created and mine.id not in ids  # a key's Idempotency-Keys are its own


def test_a_revoked_key_no_longer_authenticates(store: Store) -> None:
    made = create_api_key(store, name="t", scope="read", actor="test")
    assert authenticate(store, f"Bearer {made.key}").id == made.record.id
    store.revoke_api_key(made.record.id, actor="test")
    with pytest.raises(Exception, match="unknown or revoked"):
        authenticate(store, f"Bearer {made.key}")


def test_moving_a_series_drops_changes_of_occurrences_it_no_longer_has(store: Store) -> None:
    key = create_api_key(store, name="t", scope="write", actor="test").record
    body = meeting_body(recurrence="FREQ=WEEKLY;COUNT=4")
    meeting, _ = changes.create(store, key, "k", body, changes.Defaults())
    moved = changes.change_occurrence(
        store, key, meeting.id, "20300114T090000Z", {"start": "2030-01-15T10:00:00+01:00"}
    )
    assert len(moved.occurrences) == 1 and moved.version == 2
    same = changes.change_occurrence(
        store, key, meeting.id, "20300114T090000Z", {"start": "2030-01-15T10:00:00+01:00"}
    )
    assert same.version == 2  # nothing changed: no new version, no event
    later = changes.change(store, key, meeting.id, {"start": "2030-01-07T11:00:00+01:00"})
    assert later.occurrences == () and later.version == 3
    retitled = changes.change(store, key, meeting.id, {"title": "Weekly"})
    assert retitled.start == later.start and retitled.version == 4
