"""``gunicorn middleware.wsgi:app``: the web process's app, from the environment."""

import logging
import os

from middleware.app import create_app

logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
app = create_app()
