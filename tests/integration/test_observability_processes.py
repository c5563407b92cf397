"""Metrics and logs of the real processes, started as the Procfile says.

* the ``web`` line with two gunicorn workers: ``/metrics`` adds up both workers' counts
  (multiprocess mode), and the directory is emptied at the next start;
* ``web`` and ``worker`` against the emulators with known secrets: every line either process
  writes is JSON with the ids, the worker's own ``/metrics`` moves, and no secret, token,
  signature or private key appears in any line, any response or any admin view.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.testing.pipedrive import PipedriveEmulator
from tests.builders import ADMIN_TOKEN, SECRET, body_of, hubspot_headers, notification
from tests.integration.conftest import REP, emulator_env
from tests.procs import Proc, free_port
from tests.scrape import total, value

pytestmark = pytest.mark.timeout(170)
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PD_USER, PD_PASSWORD = "pd-hook", "pd-hook-password-77f1c0"


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line, parsed; a line that is not a JSON object fails the test, naming it."""
    parsed = []
    for line in output.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(item, dict) and {"time", "level", "logger", "message"} <= set(item)
        parsed.append(item)
    return parsed


def post_signed(url: str, deal: int) -> requests.Response:
    body = body_of([notification(deal)])
    return requests.post(url, data=body, headers=hubspot_headers(body, url), timeout=10)


@pytest.fixture
def web_env(make_env: Any, tmp_path: Path) -> dict[str, str]:
    return make_env(
        WEB_CONCURRENCY="2",
        WEB_THREADS="1",  # one request at a time per worker: both workers take some
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
    )


def start_web(env: dict[str, str], tmp_path: Path, name: str) -> Proc:
    web = Proc("web", env, cwd=tmp_path, log=tmp_path / f"{name}.log", port=free_port())
    web.wait_ready()
    return web


def test_metrics_add_up_across_two_gunicorn_workers(
    web_env: dict[str, str], tmp_path: Path
) -> None:
    web = start_web(web_env, tmp_path, "web1")
    url = web.url + "/webhooks/hubspot"
    sent = 0
    try:
        with ThreadPoolExecutor(6) as pool:
            for round_ in range(10):
                deals = range(9000 + round_ * 12, 9000 + (round_ + 1) * 12)
                assert all(
                    r.status_code == 200 for r in pool.map(lambda d: post_signed(url, d), deals)
                )
                sent += 12
                lines = json_lines(web.output())
                pids = {x["pid"] for x in lines if x["logger"] == "middleware.web.webhooks"}
                if len(pids) == 2:
                    break
        assert len(pids) == 2, "one gunicorn worker took every request"
        for _ in range(4):  # whichever worker answers the scrape, it counts both
            text = requests.get(web.url + "/metrics", timeout=5).text
            stored = value(
                text, "middleware_webhook_notifications_total", provider="hubspot", outcome="stored"
            )
            assert stored == sent
            assert value(text, "middleware_webhook_seconds_count", provider="hubspot") == sent
            assert value(text, "middleware_events", status="pending") == sent
            assert value(text, "middleware_backlog_due_events") == sent
            assert "pid=" not in text  # counters are summed, not listed per worker
    finally:
        web.stop()
    assert list((tmp_path / "prom").glob("*.db"))  # the workers wrote there
    again = start_web(web_env, tmp_path, "web2")
    try:
        text = requests.get(again.url + "/metrics", timeout=5).text
        # the directory was emptied at start: the earlier run's counts are gone
        assert (
            value(
                text, "middleware_webhook_notifications_total", provider="hubspot", outcome="stored"
            )
            == 0
        )
        assert value(text, "middleware_events", status="pending") == sent  # the store's, still
    finally:
        again.stop()
    for item in json_lines(web.output()):
        if item["logger"] == "middleware.http":
            assert len(item["request_id"]) == 32 and item["status"] in (200,)


@pytest.fixture
def pipedrive() -> Iterator[PipedriveEmulator]:
    with PipedriveEmulator() as emu:
        emu.add_user(7, REP)
        yield emu


def test_processes_log_json_with_ids_and_no_secret_anywhere(
    make_env: Any,
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    pipedrive: PipedriveEmulator,
    tmp_path: Path,
) -> None:
    metrics_port = free_port()
    env = emulator_env(
        make_env,
        google,
        hubspot,
        tmp_path,
        PIPEDRIVE_WEBHOOK_USER=PD_USER,
        PIPEDRIVE_WEBHOOK_PASSWORD=PD_PASSWORD,
        PIPEDRIVE_API_TOKEN=pipedrive.api_token,
        PIPEDRIVE_API_BASE_URL=pipedrive.base_url,
        WEB_CONCURRENCY="2",
        METRICS_PORT=str(metrics_port),
        # Set for every process, as a shared environment would: the worker must ignore it.
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
        LOG_LEVEL="DEBUG",
    )
    hubspot.add_contact("81", "buyer@acme.example", "Bo", "Buyer")
    hubspot.add_deal(
        "8100",
        {
            "dealname": "Acme 8100",
            "dealstage": "demoscheduled",
            "pipeline": "default",
            "hubspot_owner_id": "101",
            "demo_start_time": "2030-01-07T15:00:00Z",
        },
        ["81"],
    )
    web = start_web(env, tmp_path, "web")
    worker = Proc("worker", env, cwd=tmp_path, log=tmp_path / "worker.log")
    responses: list[str] = []
    sent_credentials: list[str] = []

    def keep(response: requests.Response) -> requests.Response:
        responses.append(response.text)
        return response

    try:
        url = web.url + "/webhooks/hubspot"
        body = body_of([notification(8100)])
        headers = hubspot_headers(body, url)
        sent_credentials.append(headers["X-HubSpot-Signature-v3"])
        assert keep(requests.post(url, data=body, headers=headers, timeout=10)).status_code == 200
        forged = hubspot_headers(body, url, secret="not-the-secret")
        forged["X-HubSpot-Signature-v3"] = SECRET  # the secret itself, sent as a signature
        assert keep(requests.post(url, data=body, headers=forged, timeout=10)).status_code == 401

        pd_body = json.dumps(
            {
                "meta": {
                    "action": "change",
                    "entity": "deal",
                    "entity_id": "8200",
                    "company_id": "8087566",
                    "id": "evt-obs-1",
                    "timestamp": "2026-12-01T10:00:00.000Z",
                    "version": "2.0",
                },
                "data": {"id": 8200, "stage_id": 3},
                "previous": {"stage_id": 2},
            }
        )
        for password, status in ((PD_PASSWORD, 200), (PD_PASSWORD + "-wrong", 401)):
            basic = base64.b64encode(f"{PD_USER}:{password}".encode()).decode()
            sent_credentials.append(basic)
            response = requests.post(
                web.url + "/webhooks/pipedrive",
                data=pd_body,
                headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"},
                timeout=10,
            )
            assert keep(response).status_code == status
        wrong_admin = {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}X"}
        assert (
            keep(
                requests.get(web.url + "/admin/events", headers=wrong_admin, timeout=5)
            ).status_code
            == 401
        )

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = requests.get(web.url + "/admin/stats", headers=AUTH, timeout=5).json()
            if stats["succeeded"] + stats["skipped"] + stats["failed"] == 2:
                break
            time.sleep(0.2)
        assert (stats["succeeded"], stats["skipped"]) == (1, 1), stats

        views = [
            "/admin/events",
            "/admin/stats",
            "/admin/audit",
            "/admin/deals/hubspot/8100",
            "/admin/deals/pipedrive/8200",
            "/openapi.json",
            "/metrics",
        ]
        listed = keep(requests.get(web.url + views[0], headers=AUTH, timeout=5)).json()["events"]
        views += [f"/admin/events/{e['id']}" for e in listed]
        for view in views:
            assert keep(requests.get(web.url + view, headers=AUTH, timeout=5)).status_code == 200
        trail = json.loads(responses[-len(views) + 3])
        assert trail["events"][0]["action"] == "booked" and trail["meetings"][0]["state"] == "live"

        worker_metrics = keep(
            requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        ).text
    finally:
        worker.stop()
        web.stop()

    # The worker's own metrics, in single-process mode despite PROMETHEUS_MULTIPROC_DIR.
    def w(name: str, **labels: str) -> float:
        return total(worker_metrics, name, **labels)

    assert w("middleware_events_processed_total", provider="hubspot", status="succeeded") == 1
    assert w("middleware_event_skips_total", provider="pipedrive", reason="deal_deleted") == 1
    assert w("middleware_lifecycle_actions_total", provider="hubspot", action="booked") == 1
    assert w("middleware_event_processing_seconds_count") == 2
    assert w("middleware_google_calls_total", operation="insert", outcome="ok") == 1
    assert w("middleware_google_token_fetches_total", outcome="ok") == 1
    assert (
        w(
            "middleware_crm_calls_total",
            provider="pipedrive",
            operation="GET /api/v2/deals/{id}",
            outcome="404",
        )
        == 1
    )
    assert w("middleware_worker_concurrency") == 8
    assert "process_cpu_seconds_total" in worker_metrics
    assert not [p for p in (tmp_path / "prom").glob("*.db") if "worker" in p.name]

    web_lines = json_lines(web.output())
    worker_lines = json_lines(worker.output())
    stored = [
        x for x in web_lines if x["logger"] == "middleware.web.webhooks" and x.get("event_ids")
    ]
    assert {(x["provider"], x["deal_id"]) for x in stored} == {
        ("hubspot", "8100"),
        ("pipedrive", "8200"),
    }
    assert all(x.get("request_id") for x in stored)
    outcomes = [x for x in worker_lines if x["logger"] == "middleware.pipeline"]
    assert {(x["provider"], x["deal_id"], x["attempt"], x["status"]) for x in outcomes} == {
        ("hubspot", "8100", 1, "succeeded"),
        ("pipedrive", "8200", 1, "skipped"),
    }
    assert all(isinstance(x["event_id"], int) for x in outcomes)

    key = json.loads(Path(env["GOOGLE_SERVICE_ACCOUNT_FILE"]).read_text())
    secrets = [
        SECRET,
        ADMIN_TOKEN,
        hubspot.access_token,
        PD_PASSWORD,
        pipedrive.api_token,
        *key["private_key"].strip().splitlines()[1:-1],
        *google._tokens,  # the access tokens Google's emulator issued
        *sent_credentials,
    ]
    assert google._tokens and len(secrets) > 8
    everything = "\n".join([web.output(), worker.output(), *responses])
    for secret in secrets:
        assert secret not in everything, secret[:12]
