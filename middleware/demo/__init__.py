"""``middleware demo``: the whole flow on this machine, with no Google or CRM account.

Starts the local emulators of Google (token endpoint + Calendar, from ``middleware.testing``)
and of one CRM (``hubspot.py`` or ``pipedrive.py``: its emulator, a sample deal, the webhook
it sends), the ``web`` process (gunicorn) and the ``worker`` on a throwaway SQLite database,
sends the CRM's webhook for the sample deal, prints what came out, and stops everything.
"""

from __future__ import annotations

import json
import os
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

from middleware.demo.hubspot import HubSpotDemo
from middleware.demo.pipedrive import PipedriveDemo
from middleware.testing.google import GoogleEmulator

REP = "alex.rep@demo-seller.example"
#: ``--crm`` name → the demo's CRM side
CRMS: dict[str, Callable[[], Any]] = {"hubspot": HubSpotDemo, "pipedrive": PipedriveDemo}
#: settings of the caller's environment the demo must not inherit (it sets its own)
_NOT_INHERITED = ("HUBSPOT_", "PIPEDRIVE_", "GOOGLE_", "PUBLIC_BASE_URL", "MIDDLEWARE_CONFIG")
_SHOWN_EVENT_KEYS = (
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(
    *, crm: str = "hubspot", timeout: float = 60.0, echo: Callable[[str], None] = print
) -> bool:
    """Run the demo on ``crm``'s emulator; True when the meeting was made and written back.
    Raises ``KeyError`` for a ``crm`` not in :data:`CRMS`."""
    side = CRMS[crm]()
    with (
        tempfile.TemporaryDirectory(prefix="middleware-demo-") as tmp,
        GoogleEmulator() as google,
        side,
    ):
        workdir = Path(tmp)
        start = (datetime.now(UTC) + timedelta(days=1)).replace(
            hour=15, minute=0, second=0, microsecond=0
        )
        side.seed(REP, start)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{workdir}/demo.db",
                "GOOGLE_SERVICE_ACCOUNT_FILE": google.write_key_file(
                    workdir / "service-account.json"
                ),
                "GOOGLE_API_BASE_URL": google.base_url,
                "WORKER_POLL_SECONDS": "0.1",
                "WEB_CONCURRENCY": "1",
                "LOG_FORMAT": "text",  # the logs are shown to a person if something fails
                "PORT": str(port),
                **side.env(workdir),
            }
        )
        echo(f"emulators: Google at {google.base_url}, {side.name} at {side.base_url}")
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
            return _drive(port, side, google, workdir, timeout, echo)
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
    side: Any,
    google: Any,
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
    sent, answer = side.send_webhook(base, datetime.now(UTC))
    echo(f"sent {sent} for deal {side.deal_id}: {answer.status_code} {answer.text.strip()}")
    while time.monotonic() < deadline:
        written = side.written_back()
        meet_url = next(iter(written.values()))
        if meet_url:
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
    echo(f"Meet link: {meet_url}")
    echo("")
    echo("The event as Google's emulator holds it:")
    shown = {k: event.get(k) for k in _SHOWN_EVENT_KEYS}
    shown["conferenceData.entryPoints"] = event.get("conferenceData", {}).get("entryPoints")
    echo(json.dumps(shown, indent=2))
    echo("")
    echo(f"The deal's written-back {side.name} fields (deal {side.deal_id}):")
    echo(json.dumps(written, indent=2))
    return True
