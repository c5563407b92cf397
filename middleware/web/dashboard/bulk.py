"""Bulk replay of the list's filter: a dry-run preview first, then a confirmation.

The same input schema as ``POST /admin/events/replay`` (``BulkReplaySchema``: ``status``
defaults to ``failed``) and the same operation (``operations.replay_matching``, with its audit
row). The preview is a GET and changes nothing; the confirmation form carries the filter with
absolute times, so what is replayed is what was previewed (less what changed in between: the
count replayed is shown).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from middleware import operations
from middleware.filters import BulkReplaySchema, InputError, load
from middleware.store import EventFilter
from middleware.web.dashboard.blueprint import actor, bp, svc
from middleware.web.dashboard.filter_args import (
    describe,
    filter_fields,
    filter_input,
    form_args,
)
from middleware.web.dashboard.formatting import with_query


def _options(values: MultiDict[str, str], *, dry_run: bool) -> tuple[EventFilter, bool]:
    """The filter and ``force``, through the admin API's schema. Raises InputError."""
    data = filter_input(values, svc().clock())
    force = values.get("force") == "on"
    loaded = load(BulkReplaySchema(), {**data, "dry_run": dry_run, "force": force})
    return loaded["filter"], loaded["force"]


@bp.get("/replay")
def replay_preview() -> ResponseReturnValue:
    args = form_args(request.args)
    try:
        flt, force = _options(request.args, dry_run=True)
    except InputError as exc:
        flash(f"Cannot preview that replay: {exc}", "error")
        return redirect(url_for("dashboard.events") + with_query(args), code=303)
    result = operations.replay_matching(svc().store, flt, actor=actor(), force=force, dry_run=True)
    return render_template(
        "dashboard/replay_preview.html",
        result=result,
        force=force,
        described=describe(flt),
        fields=filter_fields(flt),
        args=args,
        back=with_query(args, status=None),
        defaulted="status" not in args,
    )


@bp.post("/replay")
def replay_confirmed() -> ResponseReturnValue:
    try:
        flt, force = _options(request.form, dry_run=False)
    except InputError as exc:
        flash(f"Nothing replayed: {exc}", "error")
        return redirect(url_for("dashboard.events"), code=303)
    result = operations.replay_matching(svc().store, flt, actor=actor(), force=force, dry_run=False)
    expected = request.form.get("expected", "")
    note = "" if expected == str(result.count) else f" (the preview showed {expected})"
    flash(f"Replayed {result.count} events{note}: they are pending again.", "ok")
    # back to the list's filter without its status, so the replayed events are in sight
    back = request.form.get("back", "")
    back = back if back.startswith("?") else ""
    return redirect(url_for("dashboard.events") + back, code=303)
