"""The owner id → email cache the CRM clients share between threads."""

from __future__ import annotations

import pytest

from middleware.crm.owners import OwnerCache


def test_an_answer_is_kept_for_its_ttl_then_asked_again() -> None:
    now = [0.0]
    cache = OwnerCache(300, clock=lambda: now[0])
    answers = iter(["old@seller.example", "new@seller.example"])
    asked = []

    def load() -> str:
        asked.append(1)
        return next(answers)

    assert cache.get(("62515", "101"), load) == "old@seller.example"
    now[0] = 299.0
    assert cache.get(("62515", "101"), load) == "old@seller.example"
    assert len(asked) == 1
    now[0] = 301.0
    assert cache.get(("62515", "101"), load) == "new@seller.example"
    assert len(asked) == 2


def test_an_error_is_never_cached() -> None:
    cache = OwnerCache()

    def missing() -> str:
        raise LookupError("owner not found")

    with pytest.raises(LookupError):
        cache.get("101", missing)
    assert cache.get("101", lambda: "rep@seller.example") == "rep@seller.example"


def test_keys_are_separate_and_none_is_an_answer() -> None:
    cache = OwnerCache()
    assert cache.get(("a", "1"), lambda: None) is None
    assert cache.get(("a", "1"), lambda: "never asked") is None
    assert cache.get(("b", "1"), lambda: "other@seller.example") == "other@seller.example"


def test_one_thread_loads_a_key_while_the_others_wait_for_it() -> None:
    import threading
    import time

    cache = OwnerCache()
    loads: list[int] = []

    def slow() -> str:
        loads.append(1)
        time.sleep(0.2)
        return "rep@seller.example"

    got: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get("101", slow))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["rep@seller.example"] * 8
    assert len(loads) == 1
