"""A burst of bookings for one rep runs at the pace of Google's quota and is never refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from middleware.settings import load_settings
from middleware.store import Store
from middleware.testing.google import GoogleEmulator
from middleware.testing.hubspot import HubSpotEmulator
from tests.builders import notification
from tests.integration.conftest import Stack, emulator_env
from tests.integration.crm_drivers import HubSpotDriver

DEALS = [str(9100 + n) for n in range(8)]


def burst(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    sqlite_store: Store,
    rep_per_minute: str,
) -> Stack:
    env = emulator_env(
        make_env, google, hubspot, tmp_path, GOOGLE_REP_REQUESTS_PER_MINUTE=rep_per_minute
    )
    stack = Stack(load_settings(env), sqlite_store, google, HubSpotDriver(hubspot))
    for deal in DEALS:
        stack.deal(deal)
    stack.deliver(*(notification(int(d)) for d in DEALS))
    # Google allows this rep 300 requests a minute, counted over one second here: 5 a second.
    google.limit_rate(300, window_seconds=1.0)
    return stack


def test_paced_at_ninety_percent_the_burst_is_never_refused(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    sqlite_store: Store,
) -> None:
    stack = burst(make_env, google, hubspot, tmp_path, sqlite_store, "270")
    stack.work(timeout=60)
    assert {e["status"] for e in stack.events()} == {"succeeded"}
    assert google.rate_refusals == 0
    assert len(google.live_events()) == len(DEALS)


def test_unpaced_the_same_burst_meets_googles_refusals(
    make_env: Callable[..., dict[str, str]],
    google: GoogleEmulator,
    hubspot: HubSpotEmulator,
    tmp_path: Path,
    sqlite_store: Store,
) -> None:
    """The control: without the pace (0 turns it off) eight threads go faster than 5 a second."""
    stack = burst(make_env, google, hubspot, tmp_path, sqlite_store, "0")
    stack.work(timeout=60)
    assert google.rate_refusals > 0
    assert len(google.all_events()) <= len(DEALS)  # refused and retried, never made twice
