"""Google's rate quotas paced through the store (store/pacing.py), shared by every process."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from middleware.database import make_engine
from middleware.store import Store
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


def test_a_store_that_does_not_answer_leaves_the_request_unpaced(tmp_path: object) -> None:
    broken = Store(make_engine(f"sqlite:///{tmp_path}/missing/dir/x.db"))  # no schema, no file
    slept: list[float] = []
    pacer = Pacer(broken, rep_per_minute=1, project_per_minute=1, sleep=slept.append)
    pacer("rep@seller.example")  # logged, not raised
    assert slept == []
    with pytest.raises(OperationalError):
        broken.take_slots([("x", 1.0)])
