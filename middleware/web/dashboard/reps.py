"""The reps and their Google connections: each rep's auth mode (delegation or OAuth), an OAuth
rep's connection state (connected, broken, never connected) since when, and the link to send
them.

The same list as ``GET /admin/google/reps`` (``admin_google.listed_reps``, over
``google_connections.rep_connections``): the page and the API cannot disagree. No token is ever
shown; the admin API has no action that changes a connection, so neither has this page (a rep
reconnects by opening their link).
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from middleware.filters import InputError
from middleware.google_connections import RepConnection
from middleware.web.admin_google import listed_reps
from middleware.web.dashboard.blueprint import bp, svc


@bp.get("/reps")
def reps() -> ResponseReturnValue:
    asked = request.args.getlist("rep")
    error = None
    try:
        listed = listed_reps(svc(), asked)
    except InputError as exc:
        error = str(exc)
        listed = listed_reps(svc(), [])
    return render_template(
        "dashboard/reps.html",
        reps=listed,
        default_mode=svc().settings.google_auth_mode,
        asked=", ".join(a for a in asked if a.strip()),
        error=error,
        counts=_counts(listed),
    ), (400 if error else 200)


def _counts(listed: list[RepConnection]) -> dict[str, int]:
    """OAuth reps per connection state, for the page's summary."""
    counts = {"connected": 0, "broken": 0, "not_connected": 0}
    for rep in listed:
        if rep.state in counts:
            counts[rep.state] += 1
    return counts
