"""Fault, delay and hold injection, and the request pipeline every endpoint runs through:
delay -> fault -> (hold) -> compute under the lock -> log -> (hold)."""

from __future__ import annotations

from collections.abc import Callable

from .hold import Hold
from .responses import Response
from .state import OPS, EmulatorState


class FaultInjection(EmulatorState):
    """Test hooks that make the next requests of one op fail, wait, or park."""

    def inject_fault(
        self,
        op: str,
        status: int,
        *,
        reason: str | None = None,
        message: str | None = None,
        domain: str = "global",
        headers: dict | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` ``op`` requests answer ``status`` with a Google-shaped error body,
        without touching state.  Calendar ops: {"error":{"errors":[{domain,reason,message}],
        "code","message"}}; "token": {"error": reason or "temporarily_unavailable",
        "error_description": message}."""
        self._check_op(op)
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults[op].append(
                {
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "domain": domain,
                    "headers": dict(headers or {}),
                    "remaining": times,
                }
            )

    def inject_delay(self, op: str, seconds: float, *, times: int = 1) -> None:
        """Sleep ``seconds`` before handling the next ``times`` ``op`` requests.  The request is
        handled normally afterwards (like Google finishing work the client gave up on)."""
        self._check_op(op)
        with self._lock:
            self._delays[op].append([seconds, times])

    def hold(self, op: str, *, commit_first: bool = True) -> Hold:
        """Park the next ``op`` request.  With ``commit_first`` its effect is applied to the state
        before it blocks; otherwise it is applied after ``release()``.  See ``Hold``."""
        self._check_op(op)
        hold = Hold(op, commit_first)
        with self._lock:
            self._holds[op].append(hold)
            self._all_holds.append(hold)
        return hold

    def clear_faults(self) -> None:
        """Drop pending faults and delays (armed holds stay)."""
        with self._lock:
            for op in OPS:
                self._faults[op].clear()
                self._delays[op].clear()

    @staticmethod
    def _check_op(op: str) -> None:
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; expected one of {OPS}")

    def _take_delay(self, op: str) -> float:
        with self._lock:
            queue = self._delays[op]
            if not queue:
                return 0.0
            queue[0][1] -= 1
            seconds = queue[0][0]
            if queue[0][1] <= 0:
                queue.pop(0)
            return seconds

    def _take_fault(self, op: str) -> dict | None:
        with self._lock:
            queue = self._faults[op]
            if not queue:
                return None
            fault = queue[0]
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                queue.pop(0)
            return fault

    def _take_hold(self, op: str) -> Hold | None:
        with self._lock:
            queue = self._holds[op]
            return queue.pop(0) if queue else None

    def _run(
        self,
        op: str | None,
        entry: dict,
        log: list[dict],
        fault_response: Callable[[dict], Response],
        compute: Callable[[], Response],
    ) -> Response:
        """Shared pipeline: delay -> fault -> (hold) -> compute under lock -> log -> (hold)."""
        if op is not None:
            delay = self._take_delay(op)
            if delay:
                self._stopping.wait(delay)
            fault = self._take_fault(op)
            if fault is not None:
                response = fault_response(fault)
                entry["status"] = response.status
                entry["fault"] = True
                with self._lock:
                    log.append(entry)
                return response
        hold = self._take_hold(op) if op is not None else None
        if hold is not None:
            hold.request = entry
            if not hold.commit_first:
                hold.started.set()
                hold.released.wait()
        response = compute()
        entry["status"] = response.status
        with self._lock:
            log.append(entry)
        if hold is not None and hold.commit_first:
            hold.started.set()
            hold.released.wait()
        return response
