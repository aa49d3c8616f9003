"""One circuit breaker per worker instance (aiobreaker), owned by the resolver.

Outlier detection as Envoy does it: ``fail_max`` consecutive failures of an instance
(connect errors, timeouts, 5xx answers, malformed or oversized frames, streams that broke
off or stalled; a 429 is not a failure) eject it for ``base_ejection`` seconds, times the
number of ejections in a row (capped at ``max_ejection``); then one call is let through
(half-open): its success closes the breaker, its failure ejects the instance again, for
longer. An ejected instance is skipped by the resolver before its lease lapses, so a dead
or broken replica costs a run at most ``fail_max`` calls, not one per run.

aiobreaker holds the state machine; this module adds what a router needs on top of it:
"may I route here now?" without making a call (``available``), one half-open trial at a
time (``begin``), and the outcome reported once the call has ended (``succeeded`` /
``failed``), since a worker call is a stream, not a coroutine that returns.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerListener
from aiobreaker.state import CircuitBreakerState


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class InstanceFault(Exception):
    """A call failed because of the instance (what a breaker counts)."""


def _ok() -> None:
    return None


class InstanceBreaker(CircuitBreakerListener):  # type: ignore[misc]
    """The breaker of one instance; ``snapshot()`` is what ``GET /v1/agents`` shows."""

    def __init__(
        self,
        instance_id: str,
        *,
        fail_max: int = 3,
        base_ejection: float = 5.0,
        max_ejection: float = 60.0,
    ) -> None:
        self.instance_id = instance_id
        self.base_ejection = base_ejection
        self.max_ejection = max_ejection
        self.ejections = 0  # in a row: reset when a trial call succeeds
        self.trial = False  # a half-open trial call is in flight
        self.last_failure: str | None = None
        self.failures = 0  # every failure counted, for metrics and the API
        self.opened_at: float | None = None
        self.breaker = CircuitBreaker(
            fail_max=fail_max,
            timeout_duration=timedelta(seconds=base_ejection),
            listeners=[self],
            name=instance_id,
        )

    # aiobreaker listener: the ejection time grows with each ejection in a row.
    def state_change(self, breaker: CircuitBreaker, old: Any, new: Any) -> None:
        if new.state is CircuitBreakerState.OPEN:
            self.ejections += 1
            self.opened_at = time.time()
            seconds = min(self.base_ejection * self.ejections, self.max_ejection)
            breaker.timeout_duration = timedelta(seconds=seconds)
        elif new.state is CircuitBreakerState.CLOSED:
            self.ejections = 0
            self.opened_at = None
            breaker.timeout_duration = timedelta(seconds=self.base_ejection)

    @property
    def state(self) -> BreakerState:
        current = self.breaker.current_state
        if current is CircuitBreakerState.OPEN:
            return BreakerState.OPEN
        if current is CircuitBreakerState.HALF_OPEN:
            return BreakerState.HALF_OPEN
        return BreakerState.CLOSED

    def _elapsed(self) -> bool:
        opened = self.breaker._state_storage.opened_at  # aiobreaker keeps it in UTC, naive
        if opened is None:
            return True
        now = datetime.now(UTC).replace(tzinfo=None)
        return bool(now >= opened + self.breaker.timeout_duration)

    def available(self) -> bool:
        """May a call be routed here now (without starting one)?"""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        return not self.trial and (state is BreakerState.HALF_OPEN or self._elapsed())

    def begin(self) -> None:
        """A call is about to go out: an ejected instance whose time is up becomes the one
        half-open trial."""
        if self.state is BreakerState.OPEN and self._elapsed():
            self.breaker.half_open()
        if self.state is BreakerState.HALF_OPEN:
            self.trial = True

    def succeeded(self) -> None:
        self.trial = False
        breaker = self.breaker
        if (
            breaker.current_state is CircuitBreakerState.CLOSED
            and breaker._state.state is CircuitBreakerState.CLOSED
            and breaker._listeners == [self]
        ):
            # Closed, as nearly always: what aiobreaker's ``call`` of a success does then
            # (``before_call`` and this listener's hooks do nothing; ``on_success`` of a
            # closed state neither), without its calls: the failures in a row start over.
            breaker._state_storage.reset_counter()
            return
        # Ejected meanwhile by another call's failure: that decision stands.
        with contextlib.suppress(CircuitBreakerError):
            self.breaker.call(_ok)

    def failed(self, reason: str) -> None:
        self.trial = False
        self.failures += 1
        self.last_failure = reason[:300]

        def fault() -> None:
            raise InstanceFault(reason)

        with contextlib.suppress(InstanceFault, CircuitBreakerError):
            self.breaker.call(fault)

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": self.state.value,
            "consecutive_failures": self.breaker.fail_counter,
            "ejections": self.ejections,
            "failures": self.failures,
        }
        if self.state is not BreakerState.CLOSED and self.opened_at is not None:
            seconds = self.breaker.timeout_duration.total_seconds()
            out["retry_at"] = self.opened_at + seconds
        if self.last_failure:
            out["last_failure"] = self.last_failure
        return out
