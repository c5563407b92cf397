"""gunicorn settings for the ``web`` process (``--config python:middleware.gunicorn_conf``).

The master validates the settings and brings the schema up to date once, before forking, so a
bad setting stops start-up with one line instead of a traceback per worker. Each worker then
builds its own app, and so its own connection pool, after the fork.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from middleware.errors import ConfigError, one_line
from middleware.settings import web_capacity

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
try:
    workers, threads = web_capacity(os.environ)
except ConfigError as exc:
    print(f"middleware: configuration error: {exc}", file=sys.stderr, flush=True)
    sys.exit(2)
worker_class = "gthread"
# HubSpot gives up after 5 s; a request that takes longer is already lost to it.
timeout = 30
graceful_timeout = 20
# gunicorn >= 23 opens a control socket at one fixed path per user; several web processes on
# one host would fight over it, and nothing here uses it.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# Never log query strings or headers (they may carry secrets): method, path, status, time.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def on_starting(server: Any) -> None:
    from middleware.database import make_engine, upgrade_schema
    from middleware.settings import load_settings

    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"middleware: configuration error: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        upgrade_schema(engine)
    except Exception as exc:  # noqa: BLE001 - one line, then stop
        print(
            f"middleware: cannot prepare the event store: {one_line(exc)}",
            file=sys.stderr,
            flush=True,
        )
        os._exit(2)
    finally:
        engine.dispose()
