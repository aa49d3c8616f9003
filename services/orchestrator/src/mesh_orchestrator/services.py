"""The long-lived objects of one orchestrator process, built and closed by the lifespan.

Routes reach runs only through ``runs`` (the ``RunService``, which owns the multiplexer
and the run store); ``discovery`` is the registry cache behind ``/v1/agents``.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mesh_orchestrator.caps import StreamCaps
from mesh_orchestrator.graph.preview import PlanPreview
from mesh_orchestrator.metrics import BREAKER_VALUES
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.push.notifier import Notifier
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.routing.registry import DiscoveryClient
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.runs.retention import Retention
from mesh_orchestrator.runs.service import RunService
from mesh_orchestrator.runs.store.messages import TaskMessages
from mesh_orchestrator.runs.threads import Threads
from mesh_orchestrator.settings import Settings
from mesh_orchestrator.workflows.store import WorkflowStore
from mesh_telemetry.metrics import Metrics


@dataclass
class Services:
    settings: Settings
    discovery: DiscoveryClient
    resolver: Resolver
    executor: Executor
    planning: Planning  # the planning facade (the graph and POST /v1/plans use it)
    runs: RunService
    plans: PlanPreview  # POST /v1/plans
    streams: StreamCaps  # SSE streams open here, per client and per run
    workflows: WorkflowStore  # saved workflows (api/workflows.py)
    retention: Retention  # removes old finished runs (one replica at a time)
    threads: Threads  # threads of runs (api/threads.py, and runs started on one)
    notifier: Notifier  # webhooks and A2A push notifications (push/)
    messages: TaskMessages  # A2A tasks' follow-up messages (their history)
    synthesis: str = "deterministic"  # which synthesis writes answers (llm | deterministic)
    synthesis_reason: str = ""


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
        "Runs, events, workers' artifacts, threads, webhook deliveries and push configs "
        "removed by retention here.",
        removed,
        ["kind"],
    )

    def left() -> Samples:
        svc = services()
        if svc is None:
            return []
        return [((k,), n) for k, n in sorted(svc.retention.artifacts.failures.items())]

    metrics.counter_of(
        "mesh_retention_artifact_failures",
        "Artifacts of removed runs a worker did not delete: retried (the run kept for the "
        "next pass) or given_up (the run went anyway).",
        left,
        ["outcome"],
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
