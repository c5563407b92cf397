"""How the dashboard is kept to operators: the session, CSRF, and the headers every page carries.

* **Sign-in** with ``ADMIN_TOKEN`` (constant-time compare, ``auth.py``) gives a Flask session:
  a cookie signed with a key derived from the token by HMAC-SHA256, so every ``web`` process
  (and host) with the same token accepts it, and changing the token signs everyone out. The
  cookie is ``Secure``, ``HttpOnly``, ``SameSite=Strict``, scoped to ``/dashboard``, and a
  session ends :data:`SESSION_HOURS` after sign-in whatever is done with it (checked here
  against the sign-in time it holds, and by the cookie's own signed timestamp).
* **CSRF**: every ``POST`` under ``/dashboard/`` must carry the session's token
  (Flask-WTF's ``CSRFProtect``, applied to this blueprint only: the webhooks and the admin API
  are machine-to-machine and authenticate every request themselves).
* **Headers**: a strict Content-Security-Policy (scripts and styles only from the dashboard's
  own static files: no inline script or style, no ``eval``), no framing, no sniffing, no caching
  of pages.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Flask, Response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect

from middleware.services import services
from middleware.web.dashboard.blueprint import bp, is_htmx, svc

SESSION_HOURS = 8
SESSION_COOKIE = "mw_dashboard"
#: Derives the session-signing key from ``ADMIN_TOKEN``; bump the version to void every session.
KEY_PURPOSE = b"middleware dashboard session key v1"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: CSRFProtect checks the Referer of a form posted over HTTPS.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Pages anyone may ask for: signing in, and the static files (nothing secret in them).
PUBLIC_ENDPOINTS = ("dashboard.sign_in", "dashboard.static")

csrf = CSRFProtect()


def session_key(admin_token: str) -> str:
    """The key Flask signs sessions with: HMAC-SHA256 of a fixed purpose under the token."""
    return hmac.new(admin_token.encode(), KEY_PURPOSE, hashlib.sha256).hexdigest()


def configure(app: Flask) -> None:
    """Session cookie, signing key and CSRF for the dashboard (nothing else uses sessions)."""
    token = services(app).settings.admin_token
    if token:
        app.secret_key = session_key(token)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        SESSION_REFRESH_EACH_REQUEST=False,  # the session ends 8 h after sign-in, not idle
        # Only the dashboard's blueprint is checked (``_guard``), not every POST of the app.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A form's token lives as long as the session (which ends after 8 h anyway).
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)


def signed_in() -> bool:
    """A session made by signing in, less than :data:`SESSION_HOURS` ago."""
    at = session.get("signed_in_at")
    if not isinstance(at, int | float):
        return False
    age = svc().clock().timestamp() - at
    return 0 <= age < SESSION_HOURS * 3600


@bp.context_processor
def _signed_in() -> dict[str, bool]:
    return {"signed_in": signed_in()}


@bp.before_request
def _guard() -> ResponseReturnValue | None:
    if request.endpoint == "dashboard.static":
        return None
    if not svc().settings.admin_token:
        return render_template(
            "dashboard/message.html",
            title="Dashboard disabled",
            message="The dashboard is disabled: ADMIN_TOKEN is not set.",
        ), 403
    csrf.protect()  # a POST without the session's token is refused (400, below)
    if request.endpoint in PUBLIC_ENDPOINTS or signed_in():
        return None
    session.pop("signed_in_at", None)
    target = url_for("dashboard.sign_in", next=request.full_path.rstrip("?"))
    if is_htmx():  # a live refresh after the session ended: the whole page goes to sign-in
        response = Response("", status=401)
        response.headers["HX-Redirect"] = url_for("dashboard.sign_in")
        return response
    return redirect(target, code=303)


@bp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError) -> ResponseReturnValue:
    return render_template(
        "dashboard/message.html",
        title="Form refused",
        message=(
            "This form was refused: it did not carry this session's CSRF token "
            f"({exc.description}). Reload the page and send it again."
        ),
    ), 400


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response
