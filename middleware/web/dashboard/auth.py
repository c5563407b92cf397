"""Signing in with ``ADMIN_TOKEN`` and out again (the session itself: ``security.py``)."""

from __future__ import annotations

import hmac
import logging

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from middleware.web.dashboard.blueprint import bp, svc

log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path of this site, never another site."""
    if (
        target
        and target.startswith("/dashboard/")
        and not target.startswith("//")
        and "\\" not in target
        and not target.startswith(url_for("dashboard.sign_in"))
    ):
        return target
    return url_for("dashboard.events")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("dashboard/sign_in.html", next_url=next_url)
    token = svc().settings.admin_token or ""
    given = request.form.get("token", "").strip()
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        log.warning("dashboard: refused a sign-in from %s (wrong token)", request.remote_addr)
        return render_template(
            "dashboard/sign_in.html", next_url=next_url, error="Wrong token."
        ), 401
    session.clear()  # nothing from before signing in survives (session fixation)
    session.permanent = True
    session["signed_in_at"] = svc().clock().timestamp()
    log.info("dashboard: signed in from %s", request.remote_addr)
    return redirect(next_url, code=303)


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    session.clear()
    flash("Signed out.", "ok")
    return redirect(url_for("dashboard.sign_in"), code=303)
