"""The event list (filters, counts per status, the 24-hour chart), one event, replaying one.

Thin views over what the admin API and the CLI use: ``ListQuerySchema`` and the store's
queries to list and count, ``event_json`` for what is shown of a payload (secrets hidden),
``operations.replay_event`` to replay (with its audit row).
"""

from __future__ import annotations

import dataclasses

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from middleware import operations
from middleware.crm.registry import CRMS
from middleware.errors import Reason
from middleware.filters import InputError, ListQuerySchema, load
from middleware.json_shapes import event_json
from middleware.lifecycle import ACTIONS
from middleware.model import FINISHED, STATUSES, SUCCEEDED
from middleware.operations import EventNotFound, ReplayRefused
from middleware.store import EventFilter
from middleware.troubleshooting import fix_for
from middleware.web.dashboard.blueprint import (
    CHART_REFRESH_SECONDS,
    actor,
    bp,
    is_htmx,
    refresh_seconds,
    svc,
)
from middleware.web.dashboard.chart import render_svg
from middleware.web.dashboard.filter_args import SINCE, filter_input, form_args

PAGE_SIZE = 50


def choices() -> dict[str, object]:
    """What the filter form's lists offer."""
    return {
        "providers": sorted(CRMS),
        "reasons": sorted(str(r) for r in Reason),
        "actions": ACTIONS,
        "since_choices": [(key, label) for key, (label, _) in SINCE.items()],
    }


def _counts(flt: EventFilter) -> dict[str, int]:
    """Events per status under the filter's other fields (each links to that status)."""
    store = svc().store
    if flt == EventFilter(statuses=flt.statuses):
        return store.status_counts()
    return {s: store.count_events(dataclasses.replace(flt, statuses=(s,))) for s in STATUSES}


@bp.get("/")
def events() -> ResponseReturnValue:
    args = form_args(request.args)
    error = None
    try:
        data = filter_input(args, svc().clock())
        if request.args.get("cursor"):
            data["cursor"] = request.args["cursor"]
        query = load(ListQuerySchema(), {**data, "limit": PAGE_SIZE})
    except InputError as exc:
        error = str(exc)
        query = {"filter": EventFilter(), "limit": PAGE_SIZE, "before_id": None}
    flt: EventFilter = query["filter"]
    page, before = svc().store.list_events(flt, limit=PAGE_SIZE, before_id=query["before_id"])
    context = {
        "args": args,
        "error": error,
        "page": page,
        "next_cursor": before,
        "counts": _counts(flt),
        "statuses": STATUSES,
        "chosen_statuses": set(flt.statuses),
        "refresh": refresh_seconds(),
        "live_url": request.full_path.rstrip("?"),
    }
    if is_htmx():
        return render_template("dashboard/_events_live.html", **context)
    return render_template(
        "dashboard/events.html",
        chart=render_svg(svc().store.hourly_activity()),
        chart_refresh=CHART_REFRESH_SECONDS,
        **context,
        **choices(),
    ), (400 if error else 200)


@bp.get("/chart")
def chart() -> ResponseReturnValue:
    """The 24-hour chart alone (the list page refreshes it)."""
    return render_template(
        "dashboard/_chart.html",
        chart=render_svg(svc().store.hourly_activity()),
        chart_refresh=CHART_REFRESH_SECONDS,
    )


@bp.get("/events/<int:event_id>")
def event(event_id: int) -> ResponseReturnValue:
    detail = svc().store.get_event(event_id)
    if detail is None:
        return render_template(
            "dashboard/message.html",
            title="No such event",
            message=f"Event {event_id} not found (pruned, or never stored).",
        ), 404
    context = {
        "event": detail,
        "fix_for": fix_for,
        "live": detail.status not in FINISHED,
        "refresh": refresh_seconds(),
    }
    if is_htmx():
        return render_template("dashboard/_event_live.html", **context)
    return render_template(
        "dashboard/event.html",
        payload=event_json(detail)["payload"],
        can_force=detail.status == SUCCEEDED,
        **context,
    )


@bp.post("/events/<int:event_id>/replay")
def replay(event_id: int) -> ResponseReturnValue:
    force = request.form.get("force") == "on"
    try:
        operations.replay_event(svc().store, event_id, actor=actor(), force=force)
    except EventNotFound as exc:
        flash(exc.message, "error")
        return redirect(url_for("dashboard.events"), code=303)
    except ReplayRefused as exc:
        flash(exc.message, "error")
    else:
        flash(f"Event {event_id} is pending again: a worker will take it shortly.", "ok")
    return redirect(url_for("dashboard.event", event_id=event_id), code=303)
