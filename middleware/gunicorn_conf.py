"""gunicorn settings for the ``web`` process (``--config python:middleware.gunicorn_conf``).

The master validates the settings and brings the schema up to date once, before forking, so a
bad setting stops start-up with one line instead of a traceback per worker. Each worker then
builds its own app, and so its own connection pool, after the fork.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from middleware import metrics_export as metrics
from middleware.errors import ConfigError, one_line
from middleware.web.guard import guarded_worker_class


def _settings() -> Any:
    """The validated settings; a bad one stops start-up with one line (exit 2)."""
    from middleware.settings import load_settings

    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        print(f"middleware: configuration error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)


# gunicorn reads this module once, in the master, before it forks: the values must be here.
_web = _settings()
bind = f"0.0.0.0:{_web.port}"
workers = _web.web_concurrency
# WEB_THREADS unset: 16 on SQLite, 4 on PostgreSQL (settings.default_web_threads). On SQLite a
# webhook's thread mostly waits for its process's group commit, and every write transaction of
# every process on the host queues on one file lock (sqlite_lock.py), so more threads make
# larger groups at no cost in connections.
threads = _web.web_threads
loglevel = _web.log_level.lower()
# gthread whose main loop reads each request whole, within a deadline, before a thread sees
# it (middleware/web/guard.py): slow clients cost a buffer, never a thread.
worker_class = guarded_worker_class(read_deadline=_web.web_read_deadline_seconds)
# Connections one worker holds at once (reading, answering or kept alive); past it, new ones
# wait in the listen backlog. Requests still arriving hold at most 64 MiB per worker.
worker_connections = 1000
# gunicorn's own limits, which the front applies as the bytes arrive (431, 414 as JSON).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# HubSpot gives up after 5 s; a request that takes longer is already lost to it.
timeout = 30
graceful_timeout = 20
# gunicorn >= 23 opens a control socket at one fixed path per user; several web processes on
# one host would fight over it, and nothing here uses it.
control_socket_disable = True
# No access log: the app logs each request itself, with its request id and never the query
# string or a header (web/request_log.py). gunicorn's own lines take the service's format.
accesslog = None
errorlog = "-"
logger_class = "middleware.gunicorn_logging.GunicornLogger"
log = logging.getLogger("middleware.web")


def on_starting(server: Any) -> None:
    from middleware.database import make_engine, upgrade_schema
    from middleware.web.hosts import startup_warnings

    settings = _settings()
    # Multiprocess metrics: the directory every worker writes to, emptied before they fork.
    server._metrics_dir = metrics.prepare_multiprocess_dir(settings.prometheus_multiproc_dir)
    if settings.admin_bind and settings.admin_bind not in server.cfg.bind:
        # The Procfile's --bind names the public port; the admin API gets a listener of its own
        # (the listeners are made right after this hook).
        server.cfg.set("bind", [*server.cfg.bind, settings.admin_bind])
    for warning in startup_warnings(settings):
        log.warning("%s", warning)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        upgrade_schema(engine)
    except Exception as exc:  # noqa: BLE001 - one line, then stop
        log.error("cannot prepare the event store: %s", one_line(exc))
        os._exit(2)
    finally:
        engine.dispose()


def child_exit(server: Any, worker: Any) -> None:
    metrics.forget_worker(worker.pid)


def on_exit(server: Any) -> None:
    path, made_here = getattr(server, "_metrics_dir", (None, False))
    if made_here and path:
        metrics.remove_multiprocess_dir(path)
