"""The ops dashboard: server-rendered pages under ``/dashboard/`` over the same operations and
queries as the admin API and the CLI.

``blueprint.py`` (the blueprint and small helpers), ``security.py`` (session, CSRF, headers),
``auth.py`` (sign in and out), ``events.py`` (the list, one event, replay one), ``bulk.py``
(bulk replay: preview, confirm), ``deals.py`` (a deal's page), ``reps.py`` (reps'
Google connections and links), ``api_keys.py`` (the meetings API's keys), ``audit.py``,
``filter_args.py`` (the filter form ↔ the API's filter), ``chart.py`` (the SVG of the last 24
hours), ``formatting.py`` (template filters). Templates and static files (htmx, vendored with
its licence; a stylesheet; one small script) ship with the package.
"""

from __future__ import annotations

from flask import Flask

from middleware.web.dashboard import (
    api_keys,
    audit,
    auth,
    bulk,
    deals,
    events,
    formatting,
    reps,
    security,
)
from middleware.web.dashboard.blueprint import bp

__all__ = ["api_keys", "audit", "auth", "bulk", "deals", "events", "init_app", "reps"]


def init_app(app: Flask) -> None:
    """Configure the session and CSRF, register the pages (after ``Services`` exist)."""
    security.configure(app)
    formatting.init_app(app)
    app.register_blueprint(bp)
