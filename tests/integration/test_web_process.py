"""The web process started as the Procfile says (gunicorn), driven over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from tests.builders import ADMIN_TOKEN, SECRET, SHIPPED_RULES
from tests.procs import Proc, free_port


def test_gunicorn_stores_a_signed_sample_webhook_once(tmp_path: Path, make_env: Any) -> None:
    env = make_env()
    web = Proc("web", env, cwd=tmp_path, log=tmp_path / "web.log", port=free_port())
    try:
        web.wait_ready()
        cli_env = {**env, "HUBSPOT_CLIENT_SECRET": SECRET}
        send = [
            sys.executable,
            "-m",
            "middleware.cli",
            "send-sample-webhook",
            "4242",
            "--url",
            web.url + "/webhooks/hubspot",
            "--event-id",
            "77",
            "--occurred-at",
            "1795000000000",
        ]
        first = subprocess.run(send, env=cli_env, capture_output=True, text=True, timeout=60)
        again = subprocess.run(send, env=cli_env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("200 ") and '"stored":1' in first.stdout
        assert again.returncode == 0 and '"duplicates":1' in again.stdout
    finally:
        assert web.stop() is not None
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT deal_id, status FROM events")).all()
    engine.dispose()
    assert rows == [("4242", "pending")]
    assert SECRET not in web.output()


def test_gunicorn_refuses_bad_settings_with_one_line(tmp_path: Path, make_env: Any) -> None:
    env = make_env(rules=SHIPPED_RULES.replace('send_updates = "all"', 'send_updates = "loud"'))
    web = Proc("web", env, cwd=tmp_path, log=tmp_path / "web.log", port=free_port())
    web.popen.wait(30)
    assert web.popen.returncode != 0
    output = web.output()
    assert "configuration error: rules file" in output and "meeting.send_updates" in output
    assert "Traceback" not in output
    web.stop()


def test_admin_bind_is_a_listener_of_its_own(tmp_path: Path, make_env: Any) -> None:
    admin_port = free_port()
    env = make_env(ADMIN_BIND=f"127.0.0.1:{admin_port}")
    web = Proc("web", env, cwd=tmp_path, log=tmp_path / "web.log", port=free_port())
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        web.wait_ready()
        admin_url = f"http://127.0.0.1:{admin_port}"
        on_public = requests.get(web.url + "/admin/events", headers=auth, timeout=5)
        on_admin = requests.get(admin_url + "/admin/events", headers=auth, timeout=5)
        assert (on_public.status_code, on_public.json()) == (404, {"error": "no such endpoint"})
        assert on_admin.status_code == 200 and on_admin.json()["events"] == []
        assert requests.get(web.url + "/healthz", timeout=5).status_code == 200
    finally:
        web.stop()
    output = web.output()
    assert f"127.0.0.1:{admin_port}" in output  # gunicorn says it listens there
    assert "neither PUBLIC_BASE_URL nor ALLOWED_HOSTS is set" in output
    assert ADMIN_TOKEN not in output
