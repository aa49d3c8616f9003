"""The registry's Prometheus metrics (``GET /metrics``, beside the HTTP RED metrics of
``mesh_telemetry.metrics``), all read from the store when Prometheus scrapes:

| metric | type | labels |
|---|---|---|
| ``mesh_registry_instances`` | gauge | ``status`` (passing, critical) |
| ``mesh_registry_registrations_total`` | counter | |
| ``mesh_registry_heartbeats_total`` | counter | |
| ``mesh_registry_lease_lapses_total`` | counter (embedded store; Consul lapses on its own) | |
| ``mesh_registry_reaps_total`` | counter (embedded store) | |
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from mesh_contracts import HealthStatus
from mesh_discovery.registry import Store, StoreCounts
from mesh_telemetry.metrics import Metrics

Samples = Iterable[tuple[Sequence[str], float]]


def watch(metrics: Metrics, store: Callable[[], Store | None]) -> None:
    """Register the registry's metrics; ``store()`` is None until the lifespan opened it."""
    by_status: Counter[str] = Counter()

    async def count_instances() -> None:
        s = store()
        by_status.clear()
        if s is not None:
            by_status.update(r.status.value for r in await s.list())

    def instances() -> Samples:
        return [((status.value,), by_status[status.value]) for status in HealthStatus]

    def counted(field: str, lapses: bool = False) -> Callable[[], Samples]:
        def read() -> Samples:
            counts: StoreCounts | None = getattr(store(), "counts", None)
            if counts is None or (lapses and not counts.counts_lapses):
                return []
            return [((), getattr(counts, field))]

        return read

    metrics.before_scrape(count_instances)
    metrics.gauge_of(
        "mesh_registry_instances", "Registered instances by health status.", instances, ["status"]
    )
    metrics.counter_of(
        "mesh_registry_registrations",
        "Registrations (upserts) since start.",
        counted("registrations"),
    )
    metrics.counter_of(
        "mesh_registry_heartbeats", "Heartbeats accepted since start.", counted("heartbeats")
    )
    metrics.counter_of(
        "mesh_registry_lease_lapses",
        "Leases that ran out (the instance went critical).",
        counted("lapses", lapses=True),
    )
    metrics.counter_of(
        "mesh_registry_reaps",
        "Instances removed after staying critical past DISCOVERY_REAP_AFTER_SECONDS.",
        counted("reaps", lapses=True),
    )
