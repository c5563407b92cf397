"""The dashboard in a real headless Chromium (Debian's ``chromium`` driven by Playwright) against
the real app on a real socket, a real store and worker, and the Google and HubSpot emulators.
``REP`` books through domain-wide delegation; ``OAUTH_REP`` is named ``oauth`` in the rules (the
reps page).

Screenshots of the list, an event and a deal go to ``artifacts/screenshots/`` (README).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.serving import make_server

from middleware import operations
from middleware.app import create_app
from middleware.settings import Settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from middleware.token_cipher import TokenCipher
from middleware.web.dashboard.security import CONTENT_SECURITY_POLICY
from tests.builders import ADMIN_TOKEN, REPO, notification
from tests.integration.conftest import FAST_RULES, REP, Stack, service_env
from tests.integration.crm_drivers import HubSpotDriver
from tests.integration.crm_drivers.base import replace_once
from tests.oauth.support import link_for, oauth_env

CHROMIUM = "/usr/bin/chromium"  # Debian's package (.ci/run installs it); never `playwright install`
SCREENSHOTS = REPO / "artifacts" / "screenshots"
pytestmark = pytest.mark.timeout(120)
OAUTH_REP = "lee@seller.example"


@pytest.fixture
def stack_env(
    make_env: Any, google: GoogleEmulator, hubspot: HubSpotEmulator, tmp_path: Path
) -> dict[str, str]:
    """The integration stack's settings, with OAuth set up for ``OAUTH_REP`` only."""
    rules = replace_once(
        FAST_RULES, "[google.rep_auth]\n", f'[google.rep_auth]\n"{OAUTH_REP}" = "oauth"\n'
    )
    env = service_env(make_env, google, HubSpotDriver(hubspot), tmp_path, rules=rules)
    env.update(oauth_env(google, mode="delegation"))
    return env


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def served(
    stack_settings: Settings, sqlite_store: Store, google: GoogleEmulator, hubspot: HubSpotEmulator
) -> Iterator[tuple[Stack, str]]:
    """Three deals whose booking failed (delegation refused) and one booked, and the app on a
    real port of 127.0.0.1 (a thread of werkzeug's server)."""
    stack = Stack(stack_settings, sqlite_store, google, HubSpotDriver(hubspot))
    for deal in ("701", "702", "703", "704"):
        stack.deal(deal)
    stack.deliver(notification(704))
    stack.work()
    google.refuse_subject(REP)
    google.revoke_tokens()  # the worker's cached token for the rep is refused from now on
    stack.deliver(notification(701), notification(702), notification(703))
    stack.work()
    app = create_app(stack_settings, store=sqlite_store)
    app.config["DASHBOARD_REFRESH_SECONDS"] = 1
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stack, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # A phone-sized window in a time zone with a half-hour offset, so local times are unmistakable.
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, timezone_id="Asia/Kolkata", locale="en-US"
    )
    yield context
    context.close()


def watch_console(page: Page) -> list[str]:
    """Console errors (a CSP refusal shows here) and uncaught page errors."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def sign_in(page: Page, base: str, token: str = ADMIN_TOKEN) -> Any:
    page.goto(f"{base}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in\?next=/dashboard/$"))
    page.fill("#token", token)
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    return navigation.value


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_sign_in_is_refused_with_a_wrong_token(
    served: tuple[Stack, str], context: BrowserContext
) -> None:
    _, base = served
    page = context.new_page()
    response = sign_in(page, base, token="not-the-admin-token")
    assert response.status == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong token.")
    page.goto(f"{base}/dashboard/events/1")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in\?next=/dashboard/events/1$"))
    cookies = {c["name"]: c for c in context.cookies()}
    assert "signed_in_at" not in page.content()
    session = cookies["mw_dashboard"]
    assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Strict")


def test_an_operator_finds_fixes_and_replays_failed_events(
    served: tuple[Stack, str], context: BrowserContext
) -> None:
    stack, base = served
    page = context.new_page()
    problems = watch_console(page)
    assert sign_in(page, base).status == 200
    expect(page.locator("h1")).to_have_text("Events")
    expect(page.locator(".count.status-failed b")).to_have_text("3")
    expect(page.locator(".count.status-succeeded b")).to_have_text("1")
    expect(page.locator("svg.chart")).to_be_visible()

    # Filter to failed events.
    page.check("input[name=status][value=failed]")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"status=failed"))
    rows = page.locator("#live table.events tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("google_delegation_denied")
    received = rows.first.locator("time")
    expect(received).to_contain_text("GMT+5:30")  # the viewer's zone, not the server's UTC
    shoot(page, "events-list")
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "events-list-desktop")
    page.set_viewport_size({"width": 390, "height": 844})

    # Open one: its attempt, its error and the fix from the troubleshooting table.
    rows.last.locator("a").first.click()
    expect(page.locator("h1")).to_have_text(re.compile(r"Event \d+"))
    event_url = page.url
    expect(page.locator("#event-live .badge").first).to_have_text("failed")
    attempt = page.locator("table.attempts tbody tr")
    expect(attempt).to_have_count(1)
    expect(attempt.locator("td.fix")).to_contain_text("Domain-wide delegation")
    expect(page.locator("td.fix code")).to_have_text(
        "https://www.googleapis.com/auth/calendar.events"
    )
    expect(page.locator("pre.payload")).to_contain_text('"objectId"')
    shoot(page, "event")

    # Delegation is fixed; replay this one and watch it change, live, as the worker books it.
    stack.google.allow_subject(REP)
    page.click("form.replay button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("pending again")
    expect(page.locator("#event-live .badge").first).to_have_text("pending")
    stack.work()
    expect(page.locator("#event-live .badge").first).to_have_text("succeeded", timeout=10_000)
    expect(page.locator("#event-live")).to_contain_text("https://meet.google.com/")
    assert page.url == event_url  # no reload: htmx refreshed the part

    # Bulk replay of the failed filter: the dry run first, nothing changes until confirmed.
    page.goto(f"{base}/dashboard/?status=failed")
    page.click("form.bulk button")
    expect(page.locator("h1")).to_have_text("Replay preview")
    expect(page.locator("#replay-count")).to_contain_text("2 events would be replayed")
    expect(page.locator("table.events tbody tr")).to_have_count(2)
    assert stack.store.status_counts()["failed"] == 2  # the preview changed nothing
    page.click("form.confirm button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("Replayed 2 events")
    expect(page.locator(".count.status-pending b")).to_have_text("2")
    stack.work()
    expect(page.locator(".count.status-succeeded b")).to_have_text("4", timeout=10_000)
    assert len(stack.google.events(REP)) == 4  # one meeting per deal, none twice

    # The audit log has both changes, made by the dashboard.
    page.click("nav >> text=Audit log")
    audit = page.locator("table.audit tbody tr")
    expect(audit).to_have_count(2)
    expect(audit.first).to_contain_text("bulk_replay")
    expect(audit.first).to_contain_text("dashboard:127.0.0.1")
    expect(audit.last).to_contain_text("replay")

    # A deal's page: its live meeting and its trail of events and attempts.
    page.goto(f"{base}/dashboard/?deal_id=701")
    page.locator("#live table.events tbody tr td:nth-child(5) a").first.click()
    expect(page.locator("h1")).to_have_text("Deal 701")
    expect(page.locator("section.card").first.locator(".badge")).to_have_text("live")
    expect(page.locator("ol.trail > li")).to_have_count(1)
    expect(page.locator("ol.trail table.attempts tbody tr")).to_have_count(2)
    shoot(page, "deal")

    page.click("nav >> text=Sign out")
    expect(page.locator(".flash-ok")).to_have_text("Signed out.")
    page.goto(f"{base}/dashboard/audit")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in"))
    assert problems == []  # no CSP refusal, no script error on any page


def test_a_form_post_without_the_csrf_token_is_refused(
    served: tuple[Stack, str], context: BrowserContext
) -> None:
    stack, base = served
    page = context.new_page()
    sign_in(page, base)
    event_id = next(e["id"] for e in stack.events() if e["status"] == "failed")
    # The browser's own cookie goes along (same context), but no token: refused.
    refused = page.request.post(
        f"{base}/dashboard/events/{event_id}/replay", form={"force": "on"}, max_redirects=0
    )
    assert refused.status == 400 and "CSRF" in refused.text()
    refused = page.request.post(f"{base}/dashboard/replay", form={"status": "failed"})
    assert refused.status == 400
    assert stack.store.status_counts()["failed"] == 3  # nothing was replayed
    assert stack.store.list_audit()[0] == []
    # A made-up token is refused too; the page's real one is accepted.
    page.goto(f"{base}/dashboard/events/{event_id}")
    forged = page.request.post(
        f"{base}/dashboard/events/{event_id}/replay", form={"csrf_token": "forged"}
    )
    assert forged.status == 400
    page.click("form.replay button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("pending again")


def test_every_page_carries_the_content_security_policy(
    served: tuple[Stack, str], context: BrowserContext
) -> None:
    stack, base = served
    page = context.new_page()
    sign_in_page = page.goto(f"{base}/dashboard/sign-in")
    assert sign_in_page is not None
    assert sign_in_page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    sign_in(page, base)
    event = stack.events()[0]
    paths = [
        "/dashboard/",
        "/dashboard/?status=failed&since=24h",
        f"/dashboard/events/{event['id']}",
        f"/dashboard/deals/hubspot/{event['account_id']}/{event['deal_id']}",
        "/dashboard/replay?status=failed",
        "/dashboard/audit",
        "/dashboard/reps",
        "/dashboard/api-keys",
        "/dashboard/chart",
        "/dashboard/static/dashboard.css",
    ]
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert (
            headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        )
        if "/static/" not in path:
            assert headers["cache-control"] == "no-store", path
    # no inline script or style anywhere: every script is a file of the dashboard's own
    page.goto(f"{base}/dashboard/")
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("style, [style]").count() == 0


@pytest.fixture
def operator(
    served: tuple[Stack, str], context: BrowserContext
) -> tuple[Stack, str, Page, list[str]]:
    """The stack, its address, a signed-in page and that page's console problems."""
    stack, base = served
    page = context.new_page()
    problems = watch_console(page)
    sign_in(page, base)
    return stack, base, page, problems


def test_an_operator_makes_a_key_sees_it_once_and_revokes_it(
    operator: tuple[Stack, str, Page, list[str]],
) -> None:
    stack, base, page, problems = operator
    page.click("nav >> text=API keys")
    expect(page.locator("h1")).to_have_text("API keys")
    page.fill("input[name=name]", "booking page")
    page.check("input[name=scope][value=write]")
    page.click("form.key-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Key made: booking page")
    expect(page.locator(".secret")).to_contain_text("shown this once")
    secret = page.input_value("#new-key")
    assert secret.startswith("mk_")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert page.request.get(f"{base}/api/meetings", headers=bearer).status == 200

    page.click("text=Done: back to the keys")
    row = page.locator("table.api-keys tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("booking page")
    expect(row.locator(".badge")).to_have_text("active")
    assert secret not in page.content()
    row.locator("a.revoke").click()
    expect(page.locator("h1")).to_have_text("Revoke the key booking page?")
    page.click("form.confirm button.danger")
    expect(page.locator(".flash-ok")).to_contain_text("Revoked the key 'booking page'")
    expect(row.locator(".badge")).to_have_text("revoked")
    assert page.request.get(f"{base}/api/meetings", headers=bearer).status == 401
    assert [a.action for a in stack.store.list_audit()[0]] == ["api_key_revoke", "api_key_create"]
    assert problems == []


def test_the_reps_page_shows_each_reps_connection_and_copies_the_link(
    operator: tuple[Stack, str, Page, list[str]], context: BrowserContext
) -> None:
    stack, base, page, problems = operator
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.click("nav >> text=Reps")
    expect(page.locator("h1")).to_have_text("Reps")
    delegated = page.locator(f'tr[data-rep="{REP}"]')
    expect(delegated).to_contain_text("delegation")
    oauth = page.locator(f'tr[data-rep="{OAUTH_REP}"]')
    expect(oauth.locator(".badge")).to_have_text("never connected")
    link = link_for(stack.settings, OAUTH_REP)
    oauth.locator("button[data-copy]").click()
    expect(oauth.locator("button[data-copy]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link

    # The rep connects (what the callback stores), then Google revokes the token.
    operations.replay_after_connect(
        stack.store,
        email=OAUTH_REP,
        sealed_refresh_token=TokenCipher(stack.settings.google_token_keys).seal("1//0token"),
        scopes=["https://www.googleapis.com/auth/calendar.events"],
        actor=f"connect:{OAUTH_REP}",
    )
    page.reload()
    expect(oauth.locator(".badge")).to_have_text("connected")
    connection = stack.store.google_connection(OAUTH_REP)
    assert connection is not None
    stack.store.mark_google_connection_broken(OAUTH_REP, connection.generation, "invalid_grant")
    page.reload()
    expect(oauth.locator(".badge")).to_have_text("broken: must reconnect")
    expect(oauth.locator("time")).to_contain_text("GMT+5:30")  # broken since, in local time
    assert "1//0token" not in page.content()
    shoot(page, "reps")
    assert problems == []
