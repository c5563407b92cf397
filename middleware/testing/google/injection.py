"""Fault, delay, wire-fault, random-fault and hold injection, and the request pipeline every
endpoint runs through: delay -> fault (scheduled, else random) -> (wire fault before) -> (hold)
-> compute under the lock -> log -> (hold) -> (random fault after) -> (wire fault after)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from middleware.testing.delivery import Delivery

from .hold import Hold
from .random_faults import RandomFault, RandomFaults
from .responses import Response
from .state import OPS, EmulatorState

#: What a proxy in front of Google answers when Google is away (not Google's JSON).
GARBAGE_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"


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

    def inject_trickle(
        self, op: str, byte_seconds: float, *, body_only: bool = False, times: int = 1
    ) -> None:
        """Carry out the next ``times`` ``op`` requests, then send each answer one byte at a
        time, ``byte_seconds`` before each (only the body with ``body_only``): no read of a
        client ever waits long, so only a total deadline ends the call."""
        self._add_wire(op, times, delivery=Delivery(byte_seconds=byte_seconds, body_only=body_only))

    def inject_reset(self, op: str, *, after_processing: bool = False, times: int = 1) -> None:
        """Reset the connection (TCP RST) of the next ``times`` ``op`` requests instead of
        answering: before carrying them out, or ``after_processing`` (the answer is lost)."""
        self._add_wire(op, times, delivery=Delivery(reset=True), after=after_processing)

    def inject_garbage(
        self,
        op: str,
        *,
        status: int = 200,
        body: bytes = GARBAGE_PAGE,
        content_type: str = "text/html; charset=UTF-8",
        after_processing: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` ``op`` requests with ``status`` and a body that is not
        Google's JSON (a proxy's page), before carrying them out or ``after_processing``."""
        garbage = Response(status, body, {"Content-Type": content_type})
        self._add_wire(op, times, garbage=garbage, after=after_processing)

    def _add_wire(
        self,
        op: str,
        times: int,
        *,
        delivery: Delivery | None = None,
        garbage: Response | None = None,
        after: bool = True,
    ) -> None:
        self._check_op(op)
        if times < 1:
            raise ValueError("times must be >= 1")
        entry = {"delivery": delivery, "garbage": garbage, "after": after, "remaining": times}
        with self._lock:
            self._wire[op].append(entry)

    def fail_randomly(
        self,
        rate: float,
        *,
        statuses: Iterable[int] = (500, 503, 429),
        seed: int | str | None = 0,
        ops: Iterable[str] = OPS,
        after_processing: float = 0.0,
    ) -> None:
        """From now on each request of ``ops`` (default: every op, the token endpoint
        included) fails with probability ``rate``, answering a status drawn from ``statuses``
        with Google's error body for it; of the 5xx ones, a share ``after_processing`` is
        carried out first and only its answer is the error (see ``random_faults``). Scheduled faults
        (``inject_fault``) go first. Draws come from ``random.Random(seed)``.
        ``fail_randomly(0)`` or ``clear_faults()`` stops it; :attr:`random_faults_injected`
        counts what was drawn. Raises ValueError for a rate outside 0–1 or an unknown op."""
        names = tuple(ops)
        for op in names:
            self._check_op(op)
        armed = RandomFaults.armed(rate, statuses, names, after_processing, seed)
        with self._lock:
            self._random = armed if rate else None

    @property
    def random_faults_injected(self) -> Counter[int]:
        """The random faults answered since ``fail_randomly`` was last called, by status."""
        with self._lock:
            return Counter(self._random.injected) if self._random else Counter()

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
                self._wire[op].clear()
            self._random = None

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

    def _draw_random(self, op: str) -> RandomFault | None:
        with self._lock:
            return self._random.draw(op) if self._random else None

    def _take_wire(self, op: str) -> dict | None:
        with self._lock:
            queue = self._wire[op]
            if not queue:
                return None
            entry = queue[0]
            entry["remaining"] -= 1
            if entry["remaining"] <= 0:
                queue.pop(0)
            return entry

    @staticmethod
    def _on_wire(entry: dict, response: Response) -> Response:
        """``response`` as the wire fault ``entry`` sends it."""
        garbage: Response | None = entry["garbage"]
        if garbage is not None:
            return Response(garbage.status, garbage.body, dict(garbage.headers))
        return Response(response.status, response.body, response.headers, entry["delivery"])

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
        """Shared pipeline: delay -> fault (scheduled, else random) -> (wire fault before) ->
        (hold) -> compute under lock -> (random fault after) -> log -> (hold) -> (wire fault
        after)."""
        wire: dict | None = None
        drawn: RandomFault | None = None
        if op is not None:
            delay = self._take_delay(op)
            if delay:
                self._stopping.wait(delay)
            fault = self._take_fault(op)
            if fault is None:
                drawn = self._draw_random(op)
                if drawn is not None:
                    entry["random_fault"] = "after" if drawn.after_processing else "before"
                    if not drawn.after_processing:
                        fault = drawn.as_fault()
            if fault is not None:
                response = fault_response(fault)
                entry["status"] = response.status
                entry["fault"] = True
                with self._lock:
                    log.append(entry)
                return response
            wire = self._take_wire(op)
            if wire is not None and not wire["after"]:
                response = self._on_wire(wire, Response(502))
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
        if drawn is not None:  # carried out, and its answer lost (after_processing)
            entry["fault"] = True
            entry["applied_status"] = response.status
            response = fault_response(drawn.as_fault())
            entry["status"] = response.status
        with self._lock:
            log.append(entry)
        if hold is not None and hold.commit_first:
            hold.started.set()
            hold.released.wait()
        if wire is not None:
            entry["wire_fault"] = True
            response = self._on_wire(wire, response)
        return response
