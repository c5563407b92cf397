"""``middleware demo``: the whole flow on this machine, with no Google or CRM account.

Starts the local emulators of Google (token endpoint + Calendar, from ``middleware.testing``)
and HubSpot, the ``web`` process (gunicorn) and the ``worker`` on a throwaway SQLite database,
sends a signed HubSpot webhook for a sample deal, prints what came out, and stops everything.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from middleware.crm import hubspot
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator

REP = "alex.rep@demo-seller.example"
DEAL_ID = "4242"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rules_file(workdir: Path) -> str:
    shipped = Path("config/middleware.toml")
    if shipped.is_file():
        return str(shipped.resolve())
    path = workdir / "middleware.toml"
    path.write_text('[meeting]\ntitle = "Demo: {deal_name}"\n')
    return str(path)


def run_demo(*, timeout: float = 60.0, echo: Callable[[str], None] = print) -> bool:
    """Run the demo; True when the meeting was made and written back."""
    google_cls, hubspot_cls = GoogleEmulator, HubSpotEmulator
    with (
        tempfile.TemporaryDirectory(prefix="middleware-demo-") as tmp,
        google_cls() as google,
        hubspot_cls() as crm,
    ):
        workdir = Path(tmp)
        start = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=15, minute=0, second=0, microsecond=0
        )
        crm.add_owner("101", REP, "Alex", "Rep")
        crm.add_contact(
            "901", "jordan.buyer@prospect.example", "Jordan", "Buyer", company="Prospect Inc."
        )
        crm.add_deal(
            DEAL_ID,
            {
                "dealname": "Prospect Inc. platform rollout",
                "dealstage": "demoscheduled",
                "hubspot_owner_id": "101",
                "demo_start_time": start.isoformat().replace("+00:00", "Z"),
            },
            ["901"],
        )
        port = _free_port()
        secret = secrets.token_hex(16)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir}/demo.db",
            "MIDDLEWARE_CONFIG": _rules_file(workdir),
            "GOOGLE_SERVICE_ACCOUNT_FILE": google.write_key_file(workdir / "service-account.json"),
            "GOOGLE_API_BASE_URL": google.base_url,
            "HUBSPOT_CLIENT_SECRET": secret,
            "HUBSPOT_ACCESS_TOKEN": crm.access_token,
            "HUBSPOT_API_BASE_URL": crm.base_url,
            "WORKER_POLL_SECONDS": "0.1",
            "WEB_CONCURRENCY": "1",
            "PORT": str(port),
        }
        env.pop("PUBLIC_BASE_URL", None)
        echo(f"emulators: Google at {google.base_url}, HubSpot at {crm.base_url}")
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:middleware.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "middleware.wsgi:app",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "web.log", "wb"),  # noqa: SIM115
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "middleware.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "worker.log", "wb"),  # noqa: SIM115
        )
        try:
            return _drive(port, secret, google, crm, workdir, timeout, echo)
        finally:
            for proc in (worker, web):
                proc.send_signal(signal.SIGTERM)
            for proc in (worker, web):
                try:
                    proc.wait(25)
                except subprocess.TimeoutExpired:
                    proc.kill()
            echo("stopped the web process, the worker and the emulators")


def _drive(
    port: int,
    secret: str,
    google: Any,
    crm: Any,
    workdir: Path,
    timeout: float,
    echo: Callable[[str], None],
) -> bool:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            echo("the web process did not start:\n" + (workdir / "web.log").read_text()[-2000:])
            return False
        time.sleep(0.1)
    echo(f"service: web at {base}, worker running, SQLite at {workdir}/demo.db")
    now = datetime.now(UTC)
    body = json.dumps(
        [
            {
                "eventId": 1,
                "subscriptionId": 1,
                "portalId": crm.portal_id,
                "appId": 1,
                "occurredAt": int(now.timestamp() * 1000),
                "subscriptionType": "deal.propertyChange",
                "attemptNumber": 0,
                "objectId": int(DEAL_ID),
                "propertyName": "dealstage",
                "propertyValue": "demoscheduled",
                "changeSource": "CRM_UI",
            }
        ]
    ).encode()
    uri = base + "/webhooks/hubspot"
    answer = requests.post(
        uri, data=body, headers=hubspot.signed_headers(secret, "POST", uri, body, now), timeout=10
    )
    echo(
        f"sent a signed HubSpot webhook for deal {DEAL_ID}: {answer.status_code} {answer.text.strip()}"
    )
    while time.monotonic() < deadline:
        props = crm.deal_properties(DEAL_ID)
        if props.get("demo_meet_url"):
            break
        time.sleep(0.2)
    else:
        echo(
            "no meeting within the timeout; worker log:\n"
            + (workdir / "worker.log").read_text()[-3000:]
        )
        return False
    [event] = google.events(REP)
    echo("")
    echo(f"Meet link: {props['demo_meet_url']}")
    echo("")
    echo("The event as Google's emulator holds it:")
    shown = {
        k: event.get(k)
        for k in (
            "id",
            "status",
            "summary",
            "description",
            "start",
            "end",
            "organizer",
            "attendees",
            "hangoutLink",
        )
    }
    shown["conferenceData.entryPoints"] = event.get("conferenceData", {}).get("entryPoints")
    echo(json.dumps(shown, indent=2))
    echo("")
    echo(f"The deal's written-back properties (deal {DEAL_ID}):")
    echo(
        json.dumps({k: props.get(k) for k in ("demo_meet_url", "demo_calendar_event_id")}, indent=2)
    )
    return True
