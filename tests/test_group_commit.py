"""Group commit: concurrent webhooks' events stored together, each answered with its own result."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from middleware.errors import Reason, StoreUnavailable
from middleware.model import NewEvent
from middleware.store import AddResult, Store
from middleware.store.faults import unavailable
from middleware.store.group_commit import GroupCommit
from tests.builders import shown


def event(key: str, deal: str = "1") -> NewEvent:
    return NewEvent("hubspot", "62515", deal, key, "demoscheduled", None, {"k": key})


def test_groups_in_one_transaction_keep_each_requests_own_result(store: Store) -> None:
    [first, second, third] = store.add_event_groups(
        [[event("a"), event("b")], [event("b"), event("c", deal="2")], [event("a")]]
    )
    assert (first.stored, first.duplicates, len(first.ids)) == (2, 0, 2)
    assert (second.stored, second.duplicates) == (1, 1)  # "b" went to the first request
    assert (third.stored, third.duplicates, third.ids) == (0, 1, ())
    assert shown(store, second.ids[0])["deal_id"] == "2"
    again = store.add_events([event("c"), event("d")])
    assert (again.stored, again.duplicates) == (1, 1)


def test_each_stored_id_is_its_own_events_with_duplicates_anywhere(store: Store) -> None:
    store.add_events([event("b"), event("d")])
    keys = ["a", "b", "c", "d", "e"]  # duplicates in the middle and at the end of the insert
    result = store.add_events([event(k, deal=str(n)) for n, k in enumerate(keys)])
    assert (result.stored, result.duplicates) == (3, 2)
    assert [shown(store, i)["payload"] for i in result.ids] == [{"k": k} for k in "ace"]
    assert [shown(store, i)["deal_id"] for i in result.ids] == ["0", "2", "4"]
    later = store.add_events([event("f")])
    assert later.ids[0] > max(result.ids)


def test_a_batch_larger_than_one_insert_is_stored_whole(store: Store) -> None:
    result = store.add_events([event(f"k{n}", deal=str(n % 7)) for n in range(1203)])
    assert result.stored == 1203 and len(set(result.ids)) == 1203
    assert shown(store, result.ids[-1])["payload"] == {"k": "k1202"}
    assert store.add_events([event("k0"), event("k1202")]).duplicates == 2


def test_concurrent_requests_are_all_stored_once(store: Store) -> None:
    commit = GroupCommit(store)
    results: dict[int, AddResult] = {}

    def send(n: int) -> None:
        # every request repeats a key another request also sends: exactly one may store it
        results[n] = commit.add_events([event(f"own-{n}"), event(f"shared-{n // 2}")])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 40
    assert sum(r.stored for r in results.values()) == 40 + 20
    assert sum(r.duplicates for r in results.values()) == 20
    ids = [i for r in results.values() for i in r.ids]
    assert len(ids) == len(set(ids)) == 60


class _FlakyStore:
    """A store whose groups fail with ``error`` when one of them carries the poisoned key
    (or always, with ``always``). Its first call waits for ``gate``: meanwhile the requests
    under test queue up behind it and form one group."""

    def __init__(self, error: BaseException, *, always: bool = False) -> None:
        self.error = error
        self.always = always
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.groups: list[int] = []

    def add_event_groups(self, groups: Sequence[Sequence[NewEvent]]) -> list[AddResult]:
        if not self.entered.is_set():
            self.entered.set()
            self.gate.wait(5)
            return [AddResult(len(g), 0) for g in groups]
        self.groups.append(len(groups))
        if self.always or any(e.dedupe_key == "poison" for g in groups for e in g):
            raise self.error
        return [AddResult(len(g), 0, tuple(range(len(g)))) for g in groups]


def _send_all(commit: GroupCommit, store: _FlakyStore, keys: list[str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}

    def send(key: str) -> None:
        try:
            answers[key] = commit.add_events([event(key)])
        except Exception as exc:  # noqa: BLE001 - the answer under test
            answers[key] = exc

    warmup = threading.Thread(target=send, args=("warm-up",))
    warmup.start()
    assert store.entered.wait(5)  # the writer is busy with the warm-up's group
    threads = [threading.Thread(target=send, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while commit._queue.qsize() < len(keys) and time.monotonic() < deadline:
        time.sleep(0.01)
    store.gate.set()
    for t in [warmup, *threads]:
        t.join(10)
    answers.pop("warm-up")
    return answers


def test_one_requests_failure_is_not_anothers() -> None:
    store = _FlakyStore(ValueError("bad row"))
    commit = GroupCommit(store)  # type: ignore[arg-type]
    answers = _send_all(commit, store, ["poison", "x", "y", "z"])
    assert store.groups[0] == 4  # they were one group, which failed, then one by one
    assert isinstance(answers["poison"], ValueError)
    assert all(isinstance(answers[k], AddResult) and answers[k].stored == 1 for k in "xyz")


def test_a_store_fault_is_every_requests_503() -> None:
    store = _FlakyStore(unavailable(Reason.STORE_FULL), always=True)
    commit = GroupCommit(store)  # type: ignore[arg-type]
    answers = _send_all(commit, store, ["a", "b", "c"])
    assert store.groups == [3]
    assert all(isinstance(a, StoreUnavailable) for a in answers.values())
    assert {a.reason for a in answers.values()} == {Reason.STORE_FULL}
    assert len({id(a) for a in answers.values()}) == 3  # each thread raises its own


def test_nothing_to_store_is_answered_without_the_writer() -> None:
    commit = GroupCommit(_FlakyStore(RuntimeError()))  # type: ignore[arg-type]
    assert commit.add_events([]) == AddResult(0, 0)


def test_the_writer_restarts_in_a_forked_child(sqlite_store: Store) -> None:
    commit = GroupCommit(sqlite_store)
    commit.add_events([event("before")])
    commit._pid = -1  # as the child of a fork sees it: the writer thread is the parent's
    assert commit.add_events([event("after")]).stored == 1
