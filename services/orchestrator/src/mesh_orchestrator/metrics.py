"""The orchestrator's Prometheus metrics (``GET /metrics``, beside the HTTP RED metrics of
``mesh_telemetry.metrics``).

Two kinds. What happens once per sub-task or per worker call is recorded as it ends, by
``CallMetrics`` (the executor holds one): a sub-task's latency, the events a call relayed
(one increment per call, with the call's count: never a metric operation per token).
Everything the orchestrator already keeps (runs by final status, live runs, breaker
states, the registry cache) is read when Prometheus scrapes, by ``watch``: nothing is
copied on the hot path.

| metric | type | labels |
|---|---|---|
| ``mesh_runs_total`` | counter | ``status`` (completed, partial, failed, cancelled) |
| ``mesh_live_runs`` | gauge | |
| ``mesh_subtask_duration_seconds`` | histogram | ``capability``, ``agent``, ``status`` |
| ``mesh_relayed_events_total`` | counter | ``agent`` |
| ``mesh_breaker_state`` | gauge (0 closed, 1 half-open, 2 open) | ``instance_id`` |
| ``mesh_registry_instances`` | gauge | ``agent``, ``healthy`` |
| ``mesh_registry_reads_total`` | counter | ``outcome`` (current, changed, unreachable, skipped) |
| ``mesh_retention_removed_total`` | counter | ``kind`` (runs, events) |
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram

if TYPE_CHECKING:
    from mesh_orchestrator.services import Services
    from mesh_telemetry.metrics import Metrics

# A sub-task runs from milliseconds (a lookup) to minutes (image generation, training).
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
NO_AGENT = "none"  # a sub-task no instance took (unresolvable)


class CallMetrics:
    """Recorded by the executor as each sub-task and each worker call ends."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._tasks = Histogram(
            "mesh_subtask_duration_seconds",
            "Sub-task latency from its start to its outcome (retries included).",
            ["capability", "agent", "status"],
            buckets=TASK_BUCKETS,
            registry=registry,
        )
        self._relayed = Counter(
            "mesh_relayed_events",
            "Worker events relayed to run streams, counted at the end of each call.",
            ["agent"],
            registry=registry,
        )

    def task_ended(self, capability: str, agent: str | None, status: str, seconds: float) -> None:
        self._tasks.labels(capability, agent or NO_AGENT, status).observe(seconds)

    def relayed(self, agent: str, events: int) -> None:
        self._relayed.labels(agent).inc(events)


Samples = Iterable[tuple[Sequence[str], float]]


def watch(metrics: Metrics, services: Callable[[], Services | None]) -> None:
    """Register the scrape-time metrics; ``services()`` is None until the lifespan has
    built them (a scrape then shows the families with no samples)."""

    def runs() -> Samples:
        svc = services()
        return [] if svc is None else [((s,), n) for s, n in sorted(svc.runs.ended.items())]

    def live() -> Samples:
        svc = services()
        return [] if svc is None else [((), svc.runs.live_count)]

    def breakers() -> Samples:
        svc = services()
        if svc is None:
            return []
        return [
            ((iid,), BREAKER_VALUES[b.state.value])
            for iid, b in sorted(svc.resolver.breakers.items())
        ]

    def registry() -> Samples:
        svc = services()
        if svc is None:
            return []
        counts = Tally(
            (r.descriptor.agent_id, "true" if r.healthy else "false") for r in svc.discovery.records
        )
        return [(key, n) for key, n in sorted(counts.items())]

    def reads() -> Samples:
        svc = services()
        if svc is None:
            return []
        return [((str(k),), n) for k, n in sorted(svc.discovery.reads.items())]

    metrics.counter_of(
        "mesh_registry_reads",
        "The runs' own reads of discovery, by outcome (current: a 304).",
        reads,
        ["outcome"],
    )
    metrics.counter_of(
        "mesh_runs", "Runs ended in this process, by final status.", runs, ["status"]
    )

    def removed() -> Samples:
        svc = services()
        if svc is None:
            return []
        return [((kind,), n) for kind, n in sorted(svc.retention.removed.items())]

    metrics.counter_of(
        "mesh_retention_removed",
        "Finished runs and their events removed by retention on this replica.",
        removed,
        ["kind"],
    )
    metrics.gauge_of("mesh_live_runs", "Runs being driven by this process now.", live)
    metrics.gauge_of(
        "mesh_breaker_state",
        "Circuit breaker of each worker instance: 0 closed, 1 half-open, 2 open.",
        breakers,
        ["instance_id"],
    )
    metrics.gauge_of(
        "mesh_registry_instances",
        "Instances in the orchestrator's registry cache, by agent and health.",
        registry,
        ["agent", "healthy"],
    )
