"""The audit log: every change made through the admin API, the CLI or the dashboard."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from middleware.web.dashboard.blueprint import bp, svc

PAGE_SIZE = 50


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    cursor = request.args.get("cursor", "")
    before = int(cursor) if cursor.isdigit() else None
    items, next_before = svc().store.list_audit(limit=PAGE_SIZE, before_id=before)
    return render_template("dashboard/audit.html", items=items, next_cursor=next_before)
