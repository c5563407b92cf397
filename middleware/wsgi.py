"""``gunicorn middleware.wsgi:app``: the web process's app, from the environment."""

from middleware.app import create_app

app = create_app()
