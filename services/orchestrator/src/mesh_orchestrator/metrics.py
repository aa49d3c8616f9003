"""The orchestrator's Prometheus metrics (``GET /metrics``, beside the HTTP RED metrics of
``mesh_telemetry.metrics``).

Two kinds. What happens once per sub-task or per worker call is recorded as it ends, by
``CallMetrics`` (the executor holds one): a sub-task's latency, the events a call relayed
(one increment per call, with the call's count: never a metric operation per token).
Everything the orchestrator already keeps (runs by final status, live runs, breaker
states, the registry cache) is read when Prometheus scrapes, by ``services.watch``: nothing
is copied on the hot path (it lives beside ``Services``, which it reads, so that this module
depends on nothing of the orchestrator's).

| metric | type | labels |
|---|---|---|
| ``mesh_runs_total`` | counter | ``status`` (completed, partial, failed, cancelled) |
| ``mesh_live_runs`` | gauge | |
| ``mesh_subtask_duration_seconds`` | histogram | ``capability``, ``agent``, ``status`` |
| ``mesh_relayed_events_total`` | counter | ``agent`` |
| ``mesh_call_usage_total`` | counter | ``agent``, ``kind`` (a worker's reported ``usage``: prompt_tokens, completion_tokens, gpu_s, wall_s) |
| ``mesh_run_budget_used_total`` | counter | ``kind`` (max_tasks, wall_s, tokens, gpu_s: every run, with a budget or without) |
| ``mesh_runs_budget_exhausted_total`` | counter | ``bound`` |
| ``mesh_breaker_state`` | gauge (0 closed, 1 half-open, 2 open) | ``instance_id`` |
| ``mesh_registry_instances`` | gauge | ``agent``, ``healthy`` |
| ``mesh_registry_reads_total`` | counter | ``outcome`` (current, changed, unreachable, skipped) |
| ``mesh_retention_removed_total`` | counter | ``kind`` (runs, events, threads, deliveries, push_configs) |
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

# A sub-task runs from milliseconds (a lookup) to minutes (image generation, training).
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
USAGE_KINDS = ("prompt_tokens", "completion_tokens", "gpu_s", "wall_s")  # mesh_contracts.Usage
NO_AGENT = "none"  # a sub-task no instance took (unresolvable)


class _Children:
    """A labelled metric's children by label values, each looked up in the metric once
    (``labels`` takes a lock and checks and converts every value: a few us a call, five
    calls a run)."""

    __slots__ = ("_known", "_metric")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._known: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._known.get(values)
        if child is None:
            child = self._known[values] = self._metric.labels(*values)
        return child


class _Sums:
    """A labelled counter's increments by label value, summed in plain floats until a
    scrape reads the counter: registered in the registry before it, its ``collect`` adds
    each sum to its child (one ``inc`` a label a scrape) and yields nothing. A run's end
    then costs a few dict updates under one lock, where an ``inc`` a kind cost a run four
    of prometheus_client's calls and locks (bench/README.md, "Round 13: CPU per run")."""

    def __init__(self, children: _Children) -> None:
        self._children = children
        self._sums: dict[str, float] = {}
        self._lock = threading.Lock()  # a scrape may read in another thread

    def add(self, amounts: dict[str, float]) -> None:
        with self._lock:
            sums = self._sums
            for kind, amount in amounts.items():
                if amount < 0:  # what ``inc`` refuses, refused here
                    raise ValueError("Counters can only be incremented by non-negative amounts.")
                sums[kind] = sums.get(kind, 0.0) + amount

    def collect(self) -> list[Any]:
        with self._lock:
            sums, self._sums = self._sums, {}
        for kind, amount in sums.items():
            self._children(kind).inc(amount)
        return []


class CallMetrics:
    """Recorded by the executor as each sub-task and each worker call ends."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # Read first at every scrape: the summed budget use goes into its counter before
        # the counter is read (a registry collects in the order of registration).
        self._used_sums = _Sums(_Children(None))
        registry.register(self._used_sums)
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
        self._usage = Counter(
            "mesh_call_usage",
            "What workers reported their calls cost (their final event's usage), by field.",
            ["agent", "kind"],
            registry=registry,
        )
        self._budget_used = Counter(
            "mesh_run_budget_used",
            "What runs used (sub-tasks, wall seconds, tokens, GPU-seconds), with a budget or without.",
            ["kind"],
            registry=registry,
        )
        self._exhausted = Counter(
            "mesh_runs_budget_exhausted",
            "Runs stopped because a bound of their budget ran out, by bound.",
            ["bound"],
            registry=registry,
        )
        self._task_of = _Children(self._tasks)
        self._relayed_by = _Children(self._relayed)
        self._usage_of = _Children(self._usage)
        self._used_of = _Children(self._budget_used)
        self._used_sums._children = self._used_of

    def budget_ended(self, used: dict[str, float], exhausted: str | None) -> None:
        """A run ended its execution: what it used (summed until the next scrape, see
        ``_Sums``; a negative amount raises here, as ``inc`` does), and which bound of its
        budget ran out."""
        self._used_sums.add(used)
        if exhausted is not None:
            self._exhausted.labels(exhausted).inc()

    def reported(self, agent: str, usage: object) -> None:
        """A call ended with the worker's ``usage`` (as sent; anything but a ``Usage``
        shape is ignored)."""
        if not isinstance(usage, dict):
            return
        for kind in USAGE_KINDS:
            amount = usage.get(kind)
            if isinstance(amount, int | float) and not isinstance(amount, bool) and amount >= 0:
                self._usage_of(agent, kind).inc(amount)

    def task_ended(self, capability: str, agent: str | None, status: str, seconds: float) -> None:
        self._task_of(capability, agent or NO_AGENT, status).observe(seconds)

    def relayed(self, agent: str, events: int) -> None:
        self._relayed_by(agent).inc(events)
