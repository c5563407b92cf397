"""``gunicorn middleware.wsgi:app``: the web process's app, from the environment."""

import os

from middleware import logs
from middleware.app import create_app
from middleware.settings import load_settings

settings = load_settings(os.environ)
logs.configure(settings)
app = create_app(settings)
