"""Start the service's processes the way a Procfile runner (honcho, a PaaS) does."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.builders import REPO


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines."""
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """One process type started from the Procfile with ``bash -c``, in its own process group.

    ``command`` replaces the Procfile's line (a benchmark's baseline server, run the same way).
    """

    def __init__(
        self,
        kind: str,
        env: dict[str, str],
        *,
        cwd: Path,
        log: Path,
        port: int | None = None,
        command: str | None = None,
    ) -> None:
        self.kind = kind
        self.port = port
        self.log_path = log
        full_env = {**os.environ, **env}
        # The venv's console scripts (middleware, gunicorn) must be found as a PaaS would.
        full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env.get('PATH', '')}"
        if port is not None:
            full_env["PORT"] = str(port)
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            ["bash", "-c", "exec " + (command or procfile()[kind]).strip()],
            env=full_env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str = "/readyz", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} exited {self.popen.returncode}: {self.output()[-2000:]}"
                )
            try:
                if requests.get(self.url + path, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.kind} not ready after {timeout}s: {self.output()[-2000:]}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> int | None:
        if self.popen.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()
        return self.popen.returncode
