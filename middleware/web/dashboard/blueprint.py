"""The dashboard's blueprint: every page under ``/dashboard/``, its templates and static files."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from middleware.services import Services, services

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

#: Seconds between two live refreshes of a page part (``app.config`` may override it).
DEFAULT_REFRESH_SECONDS = 5
CHART_REFRESH_SECONDS = 60


def svc() -> Services:
    return services(current_app)


def actor() -> str:
    """Who an audit row names for a change made here."""
    return f"dashboard:{request.remote_addr or '?'}"


def is_htmx() -> bool:
    """A live-refresh request from htmx (it wants the page part only)."""
    return request.headers.get("HX-Request") == "true"


def refresh_seconds() -> int:
    return int(current_app.config.get("DASHBOARD_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS))
