"""A deal's page: its live meeting (the deal ledger) and its trail of events and attempts."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from middleware.troubleshooting import fix_for
from middleware.web.dashboard.blueprint import bp, svc
from middleware.web.dashboard.trail import deal_trail


@bp.get("/deals/<provider>/<account_id>/<deal_id>")
def deal(provider: str, account_id: str, deal_id: str) -> ResponseReturnValue:
    trail = deal_trail(svc().store, provider, account_id, deal_id)
    status = 200 if trail.events or trail.meeting.calendar_event_id else 404
    return render_template("dashboard/deal.html", trail=trail, fix_for=fix_for), status
