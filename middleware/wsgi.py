"""``gunicorn middleware.wsgi:app``: the web process's app, from the environment."""

import logging
import os

from middleware.app import create_app
from middleware.settings import load_settings

settings = load_settings(os.environ)
logging.basicConfig(
    level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
)
app = create_app(settings)
