"""The meetings API's keys: the list, making one (shown once), revoking one (confirmed first).

Thin views over what the admin API and the CLI use: ``admin_keys.make_api_key`` (the same
``ApiKeyCreateSchema``, ``keys.create_api_key``) and the store's ``list_api_keys`` and
``revoke_api_key``; each change writes its audit row (``api_key_create``, ``api_key_revoke``)
naming ``dashboard:<address>``. A new key is in the answer to the form that made it and
nowhere else: not in a redirect, a flash message or the session cookie (which is signed, not
encrypted), and never on the list, which shows only a key's first characters.
"""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from middleware.filters import InputError
from middleware.meetings_api.keys import SCOPES
from middleware.store.api_keys import ApiKeyRecord
from middleware.web.admin_keys import make_api_key
from middleware.web.dashboard.blueprint import actor, bp, svc

_SEPARATORS = re.compile(r"[\s,;]+")


def _list_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "dashboard/api_keys.html",
        keys=list(reversed(svc().store.list_api_keys())),
        scopes=SCOPES,
        form=request.form if error else {},
        error=error,
    ), status


def _key(key_id: int) -> ApiKeyRecord | None:
    return next((k for k in svc().store.list_api_keys() if k.id == key_id), None)


@bp.get("/api-keys")
def api_keys() -> ResponseReturnValue:
    return _list_page()


@bp.post("/api-keys")
def create_api_key() -> ResponseReturnValue:
    body: dict[str, object] = {
        "name": request.form.get("name", ""),
        "scope": request.form.get("scope", ""),
    }
    organizers = [o for o in _SEPARATORS.split(request.form.get("organizers", "")) if o]
    if organizers:
        body["organizers"] = organizers
    try:
        made = make_api_key(svc().store, body, actor=actor())
    except InputError as exc:
        return _list_page(f"No key made: {exc}", 400)
    return render_template("dashboard/api_key_made.html", key=made.record, secret=made.key)


@bp.get("/api-keys/<int:key_id>/revoke")
def revoke_api_key_confirm(key_id: int) -> ResponseReturnValue:
    key = _key(key_id)
    if key is None:
        return _no_such_key(key_id)
    return render_template("dashboard/api_key_revoke.html", key=key)


@bp.post("/api-keys/<int:key_id>/revoke")
def revoke_api_key(key_id: int) -> ResponseReturnValue:
    before = _key(key_id)
    record = svc().store.revoke_api_key(key_id, actor=actor())
    if record is None:
        return _no_such_key(key_id)
    if before is not None and not before.active:
        flash(f"The key {record.name!r} was revoked already.", "info")
    else:
        flash(f"Revoked the key {record.name!r}: it answers 401 from now on.", "ok")
    return redirect(url_for("dashboard.api_keys"), code=303)


def _no_such_key(key_id: int) -> ResponseReturnValue:
    return render_template(
        "dashboard/message.html", title="No such key", message=f"API key {key_id} not found."
    ), 404
