"""``Hold``: a request parked by ``GoogleEmulator.hold()`` until the test releases it."""

from __future__ import annotations

import threading


class Hold:
    """A request parked by ``GoogleEmulator.hold()``.

    ``started`` is set once a matching request has arrived (and, with ``commit_first``, once its
    effect is already in the emulator's state).  The handler then blocks until ``release()`` is
    called or the emulator stops, and answers normally (if the client is still there).
    ``request`` is the log entry of the held request (None until started).
    """

    def __init__(self, op: str, commit_first: bool) -> None:
        self.op = op
        self.commit_first = commit_first
        self.started = threading.Event()
        self.released = threading.Event()
        self.request: dict | None = None

    def release(self) -> None:
        self.released.set()

    def wait_started(self, timeout: float = 5.0) -> bool:
        return self.started.wait(timeout)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        state = (
            "released"
            if self.released.is_set()
            else "started"
            if self.started.is_set()
            else "armed"
        )
        return f"<Hold op={self.op} commit_first={self.commit_first} {state}>"
