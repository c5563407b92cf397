"""The dashboard over the real app and store (Flask's test client): sign-in and its session,
CSRF, what each page shows, and that its changes go through ``operations`` with an audit row.
The same flows in a real browser: ``tests/integration/test_dashboard_browser.py``."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from middleware.app import create_app
from middleware.model import NewEvent
from middleware.store import Store
from middleware.web.dashboard.security import SESSION_COOKIE, session_key
from tests.builders import ADMIN_TOKEN
from tests.web.test_admin import seed


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(app: Any) -> Store:
    return app.extensions["middleware"].store


@pytest.fixture
def clock(app: Any) -> Clock:
    c = Clock()
    app.extensions["middleware"].clock = c
    return c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: Any, token: str = ADMIN_TOKEN, next_url: str = "/dashboard/") -> Any:
    page = client.get("/dashboard/sign-in")
    return client.post(
        "/dashboard/sign-in",
        data={"token": token, "csrf_token": csrf_of(page.text), "next": next_url},
    )


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def post(client: Any, path: str, page: str, **form: str) -> Any:
    """Post a form of the page at ``page`` with that page's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **form})


def test_pages_need_signing_in(client: Any) -> None:
    response = client.get("/dashboard/events/1?x=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/sign-in?next=/dashboard/events/1?x%3D1"
    live = client.get("/dashboard/", headers={"HX-Request": "true"})
    assert live.status_code == 401 and live.headers["HX-Redirect"] == "/dashboard/sign-in"
    assert client.get("/dashboard/static/dashboard.css").status_code == 200


def test_unset_token_disables_the_dashboard(make_settings: Any, sqlite_store: Store) -> None:
    client = create_app(make_settings(ADMIN_TOKEN=None), store=sqlite_store).test_client()
    response = client.get("/dashboard/sign-in")
    assert response.status_code == 403 and "ADMIN_TOKEN is not set" in response.text


def test_sign_in_sets_a_strict_session_cookie_and_goes_where_asked(client: Any) -> None:
    assert sign_in(client, token="wrong" * 8).status_code == 401
    assert sign_in(client, token="").status_code == 401
    response = sign_in(client, next_url="/dashboard/audit")
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/audit"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(SESSION_COOKIE))
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/dashboard", "Expires="):
        assert attribute in cookie
    assert ADMIN_TOKEN not in cookie
    assert client.get("/dashboard/audit").status_code == 200


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/dashboard/", "/admin/events", "/\\evil"]
)
def test_sign_in_never_sends_elsewhere(client: Any, next_url: str) -> None:
    assert sign_in(client, next_url=next_url).headers["Location"] == "/dashboard/"


def test_the_session_ends_8_hours_after_sign_in(client: Any, clock: Clock) -> None:
    sign_in(client)
    clock.now += timedelta(hours=7, minutes=59)
    assert client.get("/dashboard/").status_code == 200
    clock.now += timedelta(minutes=2)
    assert client.get("/dashboard/").status_code == 303


def test_sign_out(client: Any) -> None:
    sign_in(client)
    response = post(client, "/dashboard/sign-out", "/dashboard/")
    assert response.status_code == 303
    assert client.get("/dashboard/").status_code == 303


def test_processes_with_the_same_token_share_sessions_and_a_new_token_ends_them(
    client: Any, make_settings: Any, sqlite_store: Store
) -> None:
    sign_in(client)
    cookie = client.get_cookie(SESSION_COOKIE, path="/dashboard").value
    other = create_app(make_settings(), store=sqlite_store).test_client()  # another process
    other.set_cookie(SESSION_COOKIE, cookie, path="/dashboard")
    assert other.get("/dashboard/").status_code == 200
    rotated = create_app(make_settings(ADMIN_TOKEN="n" * 40), store=sqlite_store).test_client()
    rotated.set_cookie(SESSION_COOKIE, cookie, path="/dashboard")
    assert rotated.get("/dashboard/").status_code == 303
    assert session_key(ADMIN_TOKEN) != session_key("n" * 40)
    assert ADMIN_TOKEN not in session_key(ADMIN_TOKEN)


def test_every_post_needs_the_csrf_token(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed"})
    assert client.post("/dashboard/sign-in", data={"token": ADMIN_TOKEN}).status_code == 400
    sign_in(client)
    for path, form in (
        (f"/dashboard/events/{ids['1']}/replay", {}),
        ("/dashboard/replay", {"status": "failed"}),
        ("/dashboard/sign-out", {}),
    ):
        response = client.post(path, data=form)
        assert response.status_code == 400 and "CSRF" in response.text, path
    assert store.status_counts()["failed"] == 1 and store.list_audit()[0] == []


def test_the_list_filters_and_counts_like_the_admin_api(client: Any, store: Store) -> None:
    seed(store, {"1": "failed", "2": "succeeded", "3": "skipped", "4": "pending"})
    seed(store, {"9": "failed"}, provider="pipedrive")
    sign_in(client)

    def ids_shown(query: str) -> list[str]:
        response = client.get(f"/dashboard/?{query}")
        assert response.status_code == 200, response.text
        return re.findall(r'/dashboard/deals/\w+/62515/(\d+)"', response.text)

    assert ids_shown("status=failed") == ["9", "1"]
    assert ids_shown("status=failed&status=skipped") == ["9", "3", "1"]
    assert ids_shown("provider=pipedrive") == ["9"]
    assert ids_shown("reason=google_delegation_denied&provider=hubspot") == ["1"]
    assert ids_shown("action=booked") == ["2"]
    assert ids_shown("deal_id=3") == ["3"]
    assert ids_shown("since=1h") == ["9", "4", "3", "2", "1"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids_shown(f"created_after={tomorrow}&tz=Europe/Berlin") == []
    assert len(ids_shown(f"created_before={tomorrow}&tz=Asia/Kolkata")) == 5
    # counts per status under the filter's other fields
    page = client.get("/dashboard/?provider=hubspot&status=failed").text
    counts = dict(re.findall(r'class="count status-(\w+)[^"]*"[^>]*>\w+ <b>(\d+)</b>', page))
    assert counts == {  # seed's "pending" event was claimed and released: retrying
        "pending": "0",
        "processing": "0",
        "retrying": "1",
        "succeeded": "1",
        "skipped": "1",
        "failed": "1",
    }
    live = client.get("/dashboard/?status=failed", headers={"HX-Request": "true"})
    assert live.text.lstrip().startswith("{") is False and 'id="live"' in live.text
    assert "<html" not in live.text


@pytest.mark.parametrize(
    "query,word",
    [("status=done", "status"), ("tz=Mars/Olympus", "tz"), ("created_after=soon", "created_after")],
)
def test_a_bad_filter_is_said_on_the_page(client: Any, query: str, word: str) -> None:
    sign_in(client)
    response = client.get(f"/dashboard/?{query}")
    assert (
        response.status_code == 400 and word in response.text and "Traceback" not in response.text
    )


def test_an_event_page_shows_the_fix_and_hides_secrets(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed"})
    [secret_id] = store.add_events(
        [NewEvent("hubspot", "62515", "5", "k-5", "demoscheduled", None, {"api_key": "s3cr3t"})]
    ).ids
    sign_in(client)
    page = client.get(f"/dashboard/events/{ids['1']}").text
    assert "google_delegation_denied" in page and "failed because" in page
    assert (
        "Domain-wide delegation: add the client id named in the message with scope "
        "<code>https://www.googleapis.com/auth/calendar.events</code>; then replay" in page
    )
    shown = client.get(f"/dashboard/events/{secret_id}").text
    assert "s3cr3t" not in shown and "[hidden]" in shown
    assert client.get("/dashboard/events/999").status_code == 404


def test_replay_one_goes_through_operations(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed", "2": "succeeded"})
    sign_in(client)
    page = f"/dashboard/events/{ids['1']}"
    response = post(client, f"{page}/replay", page)
    assert response.status_code == 303 and response.headers["Location"] == page
    assert "is pending again" in client.get(page).text
    done = f"/dashboard/events/{ids['2']}"
    post(client, f"{done}/replay", done)
    assert "already succeeded" in client.get(done).text  # refused without force
    post(client, f"{done}/replay", done, force="on")
    assert store.status_counts()["pending"] == 2
    actions, _ = store.list_audit()
    assert [(a.action, a.actor, a.target) for a in actions] == [
        ("replay", "dashboard:127.0.0.1", {"event_id": ids["2"], "force": True}),
        ("replay", "dashboard:127.0.0.1", {"event_id": ids["1"], "force": False}),
    ]


def test_bulk_replay_previews_then_replays_what_was_previewed(client: Any, store: Store) -> None:
    seed(store, {"1": "failed", "2": "failed", "3": "succeeded"})
    seed(store, {"9": "failed"}, provider="pipedrive")
    sign_in(client)
    preview = client.get("/dashboard/replay?provider=hubspot&since=24h")
    assert preview.status_code == 200
    assert "2 events would be replayed" in text_of(preview.text)
    assert "(the default)" in preview.text
    assert store.status_counts()["failed"] == 3 and store.list_audit()[0] == []
    forced = client.get(
        "/dashboard/replay?provider=hubspot&status=failed&status=succeeded&force=on"
    )
    assert "3 events would be replayed" in text_of(forced.text)
    # the confirmation carries the filter with absolute times, and where to go back
    form = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)"', preview.text
        )
    }
    assert form["status"] == "failed" and form["provider"] == "hubspot"
    assert form["created_after"].endswith("Z") and form["expected"] == "2"
    done = client.post("/dashboard/replay", data=form)
    assert done.status_code == 303
    assert done.headers["Location"] == "/dashboard/?provider=hubspot&since=24h"
    assert "Replayed 2 events" in client.get(done.headers["Location"]).text
    assert store.status_counts() == {**store.status_counts(), "failed": 1, "pending": 2}
    [audit], _ = store.list_audit()
    assert (audit.action, audit.count, audit.actor) == ("bulk_replay", 2, "dashboard:127.0.0.1")
    assert audit.target is not None and audit.target["provider"] == "hubspot"
    assert "bulk_replay" in client.get("/dashboard/audit").text


def test_a_deal_page_shows_its_meeting_and_trail(client: Any, store: Store) -> None:
    seed(store, {"1": "failed"})
    seed(store, {"1": "failed"}, provider="pipedrive")
    sign_in(client)
    page = client.get("/dashboard/deals/hubspot/62515/1")
    assert page.status_code == 200
    assert page.text.count('class="badge status-failed"') == 2  # the event and its attempt
    assert "Nothing booked for this deal" in page.text
    assert client.get("/dashboard/deals/hubspot/62515/404").status_code == 404
    assert client.get("/dashboard/deals/hubspot/other-account/1").status_code == 404


def test_pages_carry_the_security_headers(client: Any, store: Store) -> None:
    ids = seed(store, {"1": "failed"})
    assert (
        "default-src 'none'" in client.get("/dashboard/sign-in").headers["Content-Security-Policy"]
    )
    sign_in(client)
    for path in ("/dashboard/", f"/dashboard/events/{ids['1']}", "/dashboard/chart"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
    # the admin API and the webhooks are not the dashboard's business
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def test_with_admin_bind_the_dashboard_answers_only_on_the_admin_listener(
    make_settings: Any, sqlite_store: Store
) -> None:
    app = create_app(make_settings(ADMIN_BIND="127.0.0.1:9001"), store=sqlite_store)
    client = app.test_client()
    for path in ("/dashboard/sign-in", "/dashboard/static/htmx.min.js"):
        public = client.get(path, environ_overrides={"SERVER_PORT": "8000"})
        assert public.status_code == 404, path
        assert client.get(path, environ_overrides={"SERVER_PORT": "9001"}).status_code == 200
