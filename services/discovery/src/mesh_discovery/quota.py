"""What one agent may take of the registry: its instances and its write rate.

An agent token may keep at most ``max_instances`` passing instances registered (a new one
past that is answered 429 until one deregisters or its lease lapses) and may write
(register, heartbeat) at most ``writes_per_second`` times a second across its instances
(a token bucket holding one second's worth; past it, 429 with ``Retry-After``). Admin
tokens, and a discovery running open, are not bounded. The counts are this process's: a
registry behind several discovery replicas bounds each replica's share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from mesh_discovery.registry import AgentFilter, Store

MAX_TRACKED = 10_000  # agents whose buckets are kept; idle ones are dropped past it


class QuotaExceeded(Exception):
    """Answered 429; ``retry_after`` seconds before trying again is worth it."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AgentQuota:
    """Per-agent bounds on instances and writes (see the module docstring)."""

    def __init__(
        self,
        max_instances: int,
        writes_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_instances = max_instances
        self.rate = writes_per_second
        self.burst = max(1.0, writes_per_second)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # agent -> (tokens, last refill)

    def write(self, agent_id: str) -> None:
        """Take one write for ``agent_id``; ``QuotaExceeded`` when its bucket is empty."""
        now = self.clock()
        tokens, last = self._buckets.get(agent_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            wait = (1.0 - tokens) / self.rate
            self._buckets[agent_id] = (tokens, now)
            raise QuotaExceeded(
                f"agent {agent_id!r} writes more than {self.rate:g} times a second"
                " (registrations and heartbeats together); slow down",
                wait,
            )
        if agent_id not in self._buckets and len(self._buckets) >= MAX_TRACKED:
            self._forget_idle(now)
        self._buckets[agent_id] = (tokens - 1.0, now)

    async def admit_instance(self, store: Store, agent_id: str, instance_id: str) -> None:
        """``QuotaExceeded`` when ``instance_id`` would be one instance too many."""
        live = await store.list(AgentFilter(agent_id=agent_id, healthy=True))
        ids = {r.descriptor.instance_id for r in live}
        if instance_id not in ids and len(ids) >= self.max_instances:
            raise QuotaExceeded(
                f"agent {agent_id!r} already has {len(ids)} instances registered, the most"
                " one agent may have; deregister one or wait for a lease to lapse",
                30.0,
            )

    def _forget_idle(self, now: float) -> None:
        full = [a for a, (t, last) in self._buckets.items() if now - last >= self.burst / self.rate]
        for agent in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[agent]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


__all__ = ["AgentQuota", "QuotaExceeded", "retry_after_header"]
