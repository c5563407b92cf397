"""Google's rate quotas paced through the store (store/pacing.py), shared by every process: rows
of the store on PostgreSQL, a file beside an SQLite store (store/host_paces.py)."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from middleware.database import make_engine
from middleware.store import Store
from middleware.store.host_paces import HostPaces
from middleware.store.pace_rule import Pace, take_slot
from middleware.store.pacing import Pacer
from tests.test_store import Clock, clock  # noqa: F401 - the clock fixture

__all__ = ["clock"]


def test_slots_are_spaced_by_the_rate_across_processes(store: Store, clock: Clock) -> None:
    other = Store(make_engine(store.engine.url.render_as_string(hide_password=False)))
    other.clock = clock
    try:
        waits = [
            (store if n % 2 else other).take_slots([("google:rep:a@x", 600.0)]) for n in range(5)
        ]
    finally:
        other.engine.dispose()
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])  # 600 a minute: one each 0.1 s


def test_a_free_pace_waits_nothing_and_the_slower_of_two_rates_wins(
    store: Store, clock: Clock
) -> None:
    assert store.take_slots([("google:rep:a@x", 60.0), ("google:project", 6000.0)]) == 0.0
    second = store.take_slots([("google:rep:a@x", 60.0), ("google:project", 6000.0)])
    assert second == pytest.approx(1.0)  # the rep's 1 s, not the project's 0.01 s
    clock.advance(5)  # the pace is free again: no debt from the past
    assert store.take_slots([("google:rep:a@x", 60.0)]) == 0.0
    assert store.take_slots([("google:rep:b@x", 60.0)]) == 0.0  # another rep: its own pace


def test_a_rate_of_zero_is_no_pace(store: Store, clock: Clock) -> None:
    assert [store.take_slots([("google:rep:a@x", 0.0)]) for _ in range(3)] == [0.0] * 3


def test_the_pacer_sleeps_for_its_slot(store: Store, clock: Clock) -> None:
    slept: list[float] = []
    pacer = Pacer(store, rep_per_minute=120, project_per_minute=0, sleep=slept.append)
    for _ in range(3):
        pacer("Rep@Seller.example")
    assert slept == pytest.approx([0.5, 1.0])  # the first went at once


def test_a_store_that_does_not_answer_leaves_the_request_unpaced() -> None:
    broken = Store(create_engine("sqlite://"))  # in memory, no schema: the store's own rows
    slept: list[float] = []
    pacer = Pacer(broken, rep_per_minute=1, project_per_minute=1, sleep=slept.append)
    pacer("rep@seller.example")  # logged, not raised
    assert slept == []
    with pytest.raises(OperationalError):
        broken.take_slots([("x", 1.0)])


def test_a_paces_file_that_cannot_be_opened_leaves_the_request_unpaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "x.db.paces").mkdir()  # a folder where the file should be
    store = Store(make_engine(f"sqlite:///{tmp_path}/x.db"))
    slept: list[float] = []
    pacer = Pacer(store, rep_per_minute=1, project_per_minute=1, sleep=slept.append)
    with caplog.at_level(logging.WARNING, logger="middleware.store.pacing"):
        pacer("rep@seller.example")
        pacer("rep@seller.example")
    assert slept == []
    assert [r.getMessage() for r in caplog.records] == [
        "pacing: the store did not answer (OperationalError): unpaced"
    ] * 2
    store.engine.dispose()


# ---- an SQLite store's paces: a file beside it, shared by the host's processes -------------


def test_an_sqlite_stores_paces_are_in_a_file_beside_it(tmp_path: Path) -> None:
    store = Store(make_engine(f"sqlite:///{tmp_path}/events.db"))  # no schema needed
    assert store.take_slots([("google:rep:a@x", 60.0)]) == 0.0
    assert store.take_slots([("google:rep:a@x", 60.0)]) == pytest.approx(1.0, abs=0.05)
    assert (tmp_path / "events.db.paces").is_file()
    store.engine.dispose()


def test_host_paces_are_shared_by_separate_connections(tmp_path: Path) -> None:
    path = str(tmp_path / "events.db.paces")
    first, second = HostPaces(path), HostPaces(path)  # as two processes: a connection each
    now = datetime(2030, 1, 1, tzinfo=UTC)
    rates = [("google:rep:a@x", 600.0), ("google:project", 6000.0)]
    waits = [(first if n % 2 else second).take_slots(rates, now) for n in range(4)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3])
    later = now + timedelta(seconds=5)  # the pace is free again: no debt from the past
    assert first.take_slots(rates, later) == 0.0


_OTHER_PROCESS = """
import sys
from datetime import datetime
from middleware.store.host_paces import HostPaces
print(HostPaces(sys.argv[1]).take_slots([("google:rep:a@x", 6.0)], datetime.fromisoformat(sys.argv[2])))
"""


def test_host_paces_hold_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "events.db.paces")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert HostPaces(path).take_slots([("google:rep:a@x", 6.0)], now) == 0.0
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, path, now.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(done.stdout) == pytest.approx(10.0)  # 6 a minute: the next slot is 10 s on


# ---- bursts: the generic cell rate algorithm's tolerance (store/pace_rule.py) ---------------


def test_a_burst_goes_at_once_then_the_pace_spaces_the_rest(store: Store, clock: Clock) -> None:
    pace = Pace("google:project", 600.0, burst=3)  # one each 0.1 s, three at once
    waits = [store.take_slots([pace]) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.2], abs=1e-5)
    clock.advance(0.15)  # a little time earns a little burst back, never more than the rate
    assert store.take_slots([pace]) == pytest.approx(0.15, abs=1e-5)
    clock.advance(10)  # quiet: the whole burst again, no more
    assert [store.take_slots([pace]) for _ in range(4)] == pytest.approx(
        [0.0, 0.0, 0.0, 0.1], abs=1e-5
    )


def test_a_burst_never_lets_a_window_hold_more_than_the_rate_and_the_burst() -> None:
    pace = Pace("google:rep:a@x", 60.0, burst=5)  # one a second, five at once
    next_at: float | None = None
    sent: list[float] = []
    now = 0.0
    for _ in range(200):  # as many requests as can go, each sent as soon as its slot comes
        wait, next_at = take_slot(pace, next_at, now)
        now += wait
        sent.append(now)
    for start in sent:  # every 60 s window starting at a request
        assert sum(start <= t < start + 60 for t in sent) <= 60 + 5


def test_the_pacer_passes_its_bursts(store: Store, clock: Clock) -> None:
    slept: list[float] = []
    pacer = Pacer(store, rep_per_minute=120, project_per_minute=0, rep_burst=2, sleep=slept.append)
    for _ in range(4):
        pacer("rep@seller.example")
    assert slept == pytest.approx([0.5, 1.0], abs=1e-5)  # two at once, then every 0.5 s


def test_host_paces_keep_bursts_too(tmp_path: Path) -> None:
    paces = HostPaces(str(tmp_path / "events.db.paces"))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    rates = [Pace("google:rep:a@x", 600.0), Pace("google:project", 6000.0, burst=100)]
    # the rep's burst of 1 spaces them; the project's burst does not loosen the rep's pace
    assert [paces.take_slots(rates, now) for _ in range(3)] == pytest.approx(
        [0.0, 0.1, 0.2], abs=1e-5
    )
