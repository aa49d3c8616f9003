"""A worker's Prometheus metrics (``GET /metrics``, beside the HTTP RED metrics of
``mesh_telemetry.metrics``), read from its ``WorkerRuntime`` when Prometheus scrapes
(the request path only bumps plain ints):

| metric | type | labels |
|---|---|---|
| ``mesh_worker_slots_in_use`` | gauge | |
| ``mesh_worker_slots`` | gauge (``max_concurrency``) | |
| ``mesh_worker_busy_refusals_total`` | counter (429 answers) | |
| ``mesh_worker_runs_total`` | counter | ``outcome`` (completed, failed, invalid_input, timeout, cancelled) |
| ``mesh_worker_gpu_memory_bytes`` | gauge (GPU workers on CUDA only) | ``device``, ``kind`` (allocated, reserved, free, total) |

Every sample is labelled by nothing else: the agent and instance are Prometheus' target
labels. The GPU gauge reads torch only when the worker has imported it already and runs on
a GPU: a text worker never imports torch for it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from mesh_telemetry.metrics import Metrics
from mesh_worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)

Samples = Iterable[tuple[Sequence[str], float]]


def gpu_memory(torch: Any) -> Samples:
    """(device, kind) -> bytes for every visible CUDA device, from ``torch.cuda``."""
    out: list[tuple[Sequence[str], float]] = []
    for i in range(int(torch.cuda.device_count())):
        free, total = torch.cuda.mem_get_info(i)
        device = f"cuda:{i}"
        out += [
            ((device, "allocated"), float(torch.cuda.memory_allocated(i))),
            ((device, "reserved"), float(torch.cuda.memory_reserved(i))),
            ((device, "free"), float(free)),
            ((device, "total"), float(total)),
        ]
    return out


def watch(metrics: Metrics, runtime: WorkerRuntime) -> None:
    """Register the worker's metrics on its app's ``metrics``."""

    def gpu() -> Samples:
        torch = sys.modules.get("torch")  # never imported here
        if torch is None or runtime.resources is None or not runtime.resources.gpu:
            return []
        try:
            return gpu_memory(torch)
        except Exception:  # a broken driver must not break the scrape
            log.exception("GPU memory could not be read")
            return []

    metrics.gauge_of(
        "mesh_worker_slots_in_use",
        "Slots taken by running work (a cancelled run's slot until it has ended).",
        lambda: [((), runtime.slots.in_flight)],
    )
    metrics.gauge_of(
        "mesh_worker_slots",
        "Slots of this instance (max_concurrency).",
        lambda: [((), runtime.slots.limit)],
    )
    metrics.counter_of(
        "mesh_worker_busy_refusals",
        "Requests refused with 429 because every slot was taken.",
        lambda: [((), runtime.refused)],
    )
    metrics.counter_of(
        "mesh_worker_runs",
        "Runs of the worker by how they ended.",
        lambda: [((o,), n) for o, n in sorted(runtime.runs.items())],
        ["outcome"],
    )
    metrics.gauge_of(
        "mesh_worker_gpu_memory_bytes",
        "CUDA memory per device: allocated and reserved by torch, free and total on the device.",
        gpu,
        ["device", "kind"],
    )
