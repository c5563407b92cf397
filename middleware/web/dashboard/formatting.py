"""Jinja filters of the dashboard's templates: times, code spans, safe links, JSON."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from middleware.json_shapes import iso_z

_CODE_SPAN = re.compile(r"`([^`]+)`")


def time_tag(moment: datetime | None) -> Markup:
    """``<time datetime="…Z">…UTC</time>``; ``dashboard.js`` rewrites it in the viewer's zone."""
    if moment is None:
        return Markup("—")
    iso = iso_z(moment) or ""
    shown = iso.replace("T", " ").replace("Z", " UTC")
    return Markup(f'<time datetime="{escape(iso)}">{escape(shown)}</time>')


def code_spans(text: str | None) -> Markup:
    """Markdown's `code` spans (the README's fix column) as ``<code>``; everything escaped."""
    if not text:
        return Markup("")
    return Markup(_CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def https_url(url: str | None) -> str | None:
    """``url`` if it is an https:// link (a Meet link), else None: never a ``javascript:`` href."""
    return url if url and url.startswith("https://") else None


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def with_query(args: MultiDict[str, str], **changes: str | int | None) -> str:
    """``?…`` of ``args`` with ``changes`` (None drops a field), or "" when nothing is left."""
    merged: MultiDict[str, str] = args.copy()
    for name, value in changes.items():
        merged.poplist(name)
        if value is not None:
            merged.add(name, str(value))
    query = urlencode(list(merged.items(multi=True)))
    return f"?{query}" if query else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        time_tag=time_tag, code_spans=code_spans, https_url=https_url, pretty_json=pretty_json
    )
    app.jinja_env.globals.update(with_query=with_query)
