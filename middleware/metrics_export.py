"""How each process exposes its metrics (``metrics.py`` declares them).

* **Web, several gunicorn workers.** prometheus-client's multiprocess mode: each worker writes
  its values to files under ``PROMETHEUS_MULTIPROC_DIR``, and ``/metrics`` (answered by any one
  worker) adds up every worker's files. The gunicorn master prepares the directory before it
  forks (:func:`prepare_multiprocess_dir`, emptied at every start), forgets a dead worker's
  live gauges (:func:`forget_worker`, from ``child_exit``) and removes a directory it made.
* **Worker.** One process: its own ``/metrics`` listener on ``METRICS_PORT``
  (:func:`serve_worker_metrics`), in plain single-process mode (:func:`use_single_process`),
  whatever the environment says. Not through the store: no write per event for the sake of
  metrics, and a dead worker shows as a scrape target that is down.

prometheus-client picks its value class from the environment at import; the functions here set
it again (``values.ValueClass``), which is read when a labelled metric's first child is made, so
the choice holds as long as it is made before any metric is used (every metric here has labels).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

from prometheus_client import start_http_server, values

from middleware.metrics import worker_gauges

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_single_process() -> None:
    """This process keeps its values in memory (the worker), even with
    ``PROMETHEUS_MULTIPROC_DIR`` in its environment. Call before the first value is made."""
    os.environ.pop(MULTIPROC_ENV, None)
    os.environ.pop(MULTIPROC_ENV.lower(), None)
    values.ValueClass = values.MutexValue


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, when this process is in it."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(configured: str | None) -> tuple[str, bool]:
    """The gunicorn master's part, before it forks: the directory the workers will write to,
    emptied (values of an earlier run would be added to this one's), exported in the
    environment the workers inherit. ``configured`` is ``PROMETHEUS_MULTIPROC_DIR``; None
    makes a fresh temporary directory. Returns it and whether it was made here."""
    if configured:
        os.makedirs(configured, exist_ok=True)
        for name in os.listdir(configured):
            if name.endswith(".db"):
                os.remove(os.path.join(configured, name))
        path, made = configured, False
    else:
        path, made = tempfile.mkdtemp(prefix="middleware-metrics-"), True
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.get_value_class()
    return path, made


def forget_worker(pid: int) -> None:
    """A gunicorn worker died: drop its live gauges (its counters still count)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove_multiprocess_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def serve_worker_metrics(port: int | None, concurrency: int) -> Any:
    """Serve this process's metrics on ``0.0.0.0:port`` (``METRICS_PORT``); None without a port.

    A port already taken is a warning, not a stop: processing matters more than its metrics.
    """
    running, slots = worker_gauges()
    slots.set(concurrency)
    running.set(0)
    if port is None:
        return None
    try:
        server, _thread = start_http_server(port)
    except OSError as exc:
        log.warning("cannot serve metrics on port %d (%s): this worker exports none", port, exc)
        return None
    log.info("worker metrics on http://0.0.0.0:%d/metrics", port)
    return server
