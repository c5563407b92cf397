"""gunicorn's own log lines in the service's format (``logger_class`` in ``gunicorn_conf``).

gunicorn logs through its ``gunicorn.error`` logger with a handler of its own; this subclass
keeps that handler but gives it the service's formatter (JSON or text, secrets scrubbed), and
configures the root logger the same way in the master, so the master's own lines (start-up,
migrations) and every worker's lines look alike. gunicorn's access log is off: the app logs one
line per request itself, with its request id (``web/request_log.py``).
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger

from middleware import logs
from middleware.settings import load_settings


class GunicornLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # gunicorn_conf has validated the settings already (a bad one stopped the master).
        formatter = logs.configure(load_settings(os.environ))
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter)
