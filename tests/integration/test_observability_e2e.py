"""Metrics, log ids and the trail of one deal as events flow through the real adapters (emulators
over real sockets), on SQLite and PostgreSQL: booked, retried, cancelled."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from middleware import logs
from middleware.cli import cli
from middleware.settings import load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import ADMIN_TOKEN, notification
from tests.integration.conftest import FAST_RULES, Stack, emulator_env
from tests.integration.crm_drivers import HubSpotDriver
from tests.scrape import label_values, total, value

pytestmark = pytest.mark.timeout(120)
RULES = FAST_RULES.replace("cancel_stages = []", 'cancel_stages = ["closedlost"]')
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def env(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    database_url: str,
) -> dict[str, str]:
    env = emulator_env(make_env, google, hubspot, tmp_path, DATABASE_URL=database_url)
    env["MIDDLEWARE_CONFIG"] = str(tmp_path / "rules.toml")
    Path(env["MIDDLEWARE_CONFIG"]).write_text(RULES)
    return env


@pytest.fixture
def life(
    env: dict[str, str], store: Store, google: GoogleEmulator, hubspot: HubSpotEmulator
) -> Stack:
    return Stack(load_settings(env), store, google, HubSpotDriver(hubspot))


@pytest.fixture
def json_log(life: Stack) -> Iterator[io.StringIO]:
    """What the process would write with LOG_FORMAT=json, during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter(logs.Redactor(logs.secrets_of(life.settings))))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def scrape(stack: Stack) -> str:
    return str(stack.client.get("/metrics").get_data(as_text=True))


def stage(deal: int, value_: str, at: int) -> dict[str, Any]:
    return notification(deal, value_, occurred_at=at)


def test_metrics_move_as_a_deal_is_booked_retried_and_cancelled(life: Stack) -> None:
    before = scrape(life)
    life.deal("7101")
    life.hubspot.inject_fault("PATCH", r"/crm/v3/objects/deals/7101$", 500)  # one retry
    life.deliver(stage(7101, "demoscheduled", 1_795_000_000_000))
    life.work()
    life.hubspot.set_deal_properties("7101", dealstage="closedlost")
    life.deliver(stage(7101, "closedlost", 1_795_000_100_000))
    life.work()
    after = scrape(life)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("middleware_events_processed_total", provider="hubspot", status="succeeded") == 2
    assert moved("middleware_events_processed_total", provider="hubspot", status="retrying") == 1
    assert (
        moved("middleware_event_retries_total", provider="hubspot", reason="crm_unavailable") == 1
    )
    # Booked in the first attempt (whose write-back failed); the retry found it made.
    assert moved("middleware_lifecycle_actions_total", provider="hubspot", action="booked") == 1
    assert moved("middleware_lifecycle_actions_total", provider="hubspot", action="unchanged") == 1
    assert moved("middleware_lifecycle_actions_total", provider="hubspot", action="cancelled") == 1
    assert moved("middleware_event_processing_seconds_count", provider="hubspot") == 3
    assert moved("middleware_event_processing_seconds_sum", provider="hubspot") > 0
    assert moved("middleware_google_calls_total", operation="insert", outcome="ok") == 1
    assert moved("middleware_google_calls_total", operation="delete", outcome="ok") == 1
    assert moved("middleware_google_call_seconds_count", operation="insert") == 1
    assert moved("middleware_google_token_fetches_total", outcome="ok") >= 1
    deal_read = "GET /crm/v3/objects/deals/{id}"
    assert moved("middleware_crm_calls_total", provider="hubspot", operation=deal_read) >= 3
    patch = "PATCH /crm/v3/objects/deals/{id}"
    assert moved("middleware_crm_calls_total", operation=patch, outcome="crm_unavailable") == 1
    assert moved("middleware_crm_call_seconds_count", provider="hubspot", operation=patch) >= 3
    assert value(after, "middleware_events", status="pending") == 0
    labels = label_values(after)
    assert "7101" not in labels and not [v for v in labels if "@" in v]  # no deal ids, emails


def test_every_worker_line_of_an_event_carries_its_ids(life: Stack, json_log: io.StringIO) -> None:
    life.deal("7201")
    [event_id] = life.deliver(stage(7201, "demoscheduled", 1_795_000_000_000))["event_ids"]
    life.work()
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    webhook = [x for x in lines if x["logger"] == "middleware.web.webhooks"]
    assert webhook and webhook[0]["deal_id"] == "7201" and webhook[0]["event_ids"] == [event_id]
    assert webhook[0]["provider"] == "hubspot"
    outcome = [x for x in lines if x["logger"] == "middleware.pipeline"]
    assert outcome, lines
    for line in outcome:
        assert (line["event_id"], line["provider"], line["deal_id"], line["attempt"]) == (
            event_id,
            "hubspot",
            "7201",
            1,
        )
    assert outcome[-1]["status"] == "succeeded" and outcome[-1]["action"] == "booked"


def test_the_trail_of_one_deal_via_the_admin_api_and_the_cli(
    life: Stack, env: dict[str, str]
) -> None:
    life.deal("7301")
    life.deliver(stage(7301, "demoscheduled", 1_795_000_000_000))
    life.work()
    life.hubspot.set_deal_properties("7301", dealstage="closedlost")
    life.deliver(stage(7301, "closedlost", 1_795_000_100_000))
    life.work()
    [live_or_cancelled] = life.google.all_events()

    response = life.client.get("/admin/deals/hubspot/7301", headers=AUTH)
    assert response.status_code == 200
    trail = response.json
    assert (trail["provider"], trail["deal_id"], trail["more_events"]) == ("hubspot", "7301", False)
    [meeting] = trail["meetings"]
    assert meeting["account_id"] == "62515" and meeting["state"] == "cancelled"
    assert meeting["calendar_event_id"] == live_or_cancelled["id"]
    assert meeting["meet_url"].startswith("https://meet.google.com/")
    first, second = trail["events"]
    assert (first["status"], first["action"], second["action"]) == (
        "succeeded",
        "booked",
        "cancelled",
    )
    assert first["webhook"]["propertyName"] == "dealstage"
    assert first["webhook"]["propertyValue"] == "demoscheduled"
    assert second["webhook"]["propertyValue"] == "closedlost"
    assert [a["outcome"] for a in first["attempt_history"]] == ["succeeded"]
    assert "payload" not in first
    assert life.client.get("/admin/deals/hubspot/7301?limit=1", headers=AUTH).json["more_events"]

    missing = life.client.get("/admin/deals/hubspot/999999", headers=AUTH)
    assert missing.status_code == 404 and "999999" in missing.json["error"]
    assert life.client.get("/admin/deals/hubspot/7301").status_code == 401
    bad = life.client.get("/admin/deals/hubspot/7301?limit=many", headers=AUTH)
    assert bad.status_code == 400 and "limit" in bad.json["error"]

    runner = CliRunner()
    text = runner.invoke(cli, ["events", "trail", "7301"], env=env, catch_exceptions=False)
    assert text.exit_code == 0, text.output
    out = text.output
    assert out.startswith("hubspot deal 7301\n")
    assert f"cancelled  event {meeting['calendar_event_id']}" in out
    assert "deal.propertyChange dealstage=demoscheduled (CRM_UI)" in out
    assert "→ succeeded: booked" in out and "→ succeeded: cancelled" in out
    assert out.index("dealstage=demoscheduled") < out.index("dealstage=closedlost")
    as_json = runner.invoke(
        cli, ["events", "trail", "7301", "--provider", "hubspot", "--json"], env=env
    )
    assert json.loads(as_json.output) == trail
    none = runner.invoke(cli, ["events", "trail", "424242"], env=env)
    assert (
        none.exit_code == 1
        and none.output.strip() == "error: no event and no meeting for deal 424242"
    )


def test_the_trail_is_in_the_openapi_document(life: Stack) -> None:
    document = life.client.get("/openapi.json").json
    operation = document["paths"]["/admin/deals/{provider}/{deal_id}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DealTrail"
    }
    assert "webhook" in document["components"]["schemas"]["TrailEvent"]["properties"]
