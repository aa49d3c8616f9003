"""The three measurements, each run against the worker directly and through the orchestrator.

* ``first_token``: time from sending the request to the first token frame, p50/p99, one
  stream at a time (unloaded) and in rounds of ``concurrency`` simultaneous streams.
* ``throughput``: token events per second read by the client, one stream and several at
  once, with the CPU seconds the orchestrator (and the worker) spent meanwhile.
* ``memory``: orchestrator RSS growth while ``streams`` relayed streams are held open by a
  worker that pauses after the first token, divided by the streams open.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

from bench.fast_worker import AGENT_ID
from bench.procs import Mesh, cpu_seconds, rss_bytes
from bench.sse_client import Streamer, StreamTiming


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a stream is asked for: the worker's ``/stream`` or ``/orchestrate/stream``."""

    name: str
    url: str
    relay: bool

    def body(self, tokens: int, hold_seconds: float = 0.0) -> dict[str, Any]:
        inp = {"tokens": tokens, "hold_seconds": hold_seconds}
        if not self.relay:
            return {"input": inp}
        task = {
            "task_id": "gen",
            "capability": "text_generation",
            "agent_id": AGENT_ID,
            "input": inp,
        }
        return {"plan": {"tasks": [task]}, "options": {"on_disconnect": "cancel"}}


def endpoints(mesh: Mesh) -> tuple[Endpoint, Endpoint]:
    assert mesh.worker is not None and mesh.orchestrator is not None
    return (
        Endpoint("direct", mesh.worker.url + "/stream", relay=False),
        Endpoint("relay", mesh.orchestrator.url + "/orchestrate/stream", relay=True),
    )


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_ms(values: list[float]) -> dict[str, float | int]:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
            "mean_ms": sum(ms) / len(ms), "max_ms": max(ms)}  # fmt: skip


def _check(t: StreamTiming, ep: Endpoint) -> float:
    if t.ttft is None or t.end not in ("completed", "done"):
        raise RuntimeError(f"{ep.name} stream ended badly: {t.end} after {t.tokens} tokens")
    return t.ttft


async def first_token(
    stream: Streamer, eps: tuple[Endpoint, ...], *, samples: int, rounds: int,
    concurrency: int, tokens: int, loaded_tokens: int,
) -> dict[str, Any]:  # fmt: skip
    """TTFT per endpoint. Unloaded samples alternate endpoints so drift hits both alike."""
    for ep in eps:  # warm-up: connections, caches, the orchestrator's first run
        for _ in range(3):
            _check(await stream(ep.url, ep.body(tokens)), ep)
    alone: dict[str, list[float]] = {ep.name: [] for ep in eps}
    for _ in range(samples):
        for ep in eps:
            alone[ep.name].append(_check(await stream(ep.url, ep.body(tokens)), ep))
    loaded: dict[str, list[float]] = {ep.name: [] for ep in eps}
    for _ in range(rounds):
        for ep in eps:
            batch = await asyncio.gather(
                *(stream(ep.url, ep.body(loaded_tokens)) for _ in range(concurrency))
            )
            loaded[ep.name].extend(_check(t, ep) for t in batch)
    return {
        "unloaded": {name: summary_ms(v) for name, v in alone.items()},
        "loaded": {name: summary_ms(v) for name, v in loaded.items()},
        "concurrency": concurrency,
        "tokens_per_stream": {"unloaded": tokens, "loaded": loaded_tokens},
    }


async def throughput(
    mesh: Mesh,
    stream: Streamer,
    ep: Endpoint,
    *,
    streams: int,
    tokens: int,
    orchestrator_pid: int | None = None,
) -> dict[str, Any]:
    """Token events per second over ``streams`` simultaneous streams of ``tokens`` each
    (the orchestrator's CPU read from ``orchestrator_pid``, by default the main one's)."""
    mesh.settle()
    opid = orchestrator_pid or mesh.orchestrator_pid
    orch0, work0 = cpu_seconds(opid), cpu_seconds(mesh.worker_pid)
    client0 = time.process_time()
    t0 = time.perf_counter()
    batch = await asyncio.gather(*(stream(ep.url, ep.body(tokens)) for _ in range(streams)))
    wall = time.perf_counter() - t0
    for t in batch:
        _check(t, ep)
    # Count from each stream's request to the last token anywhere: includes start-up, as a
    # client experiences it; for long streams that cost is small.
    span = max(t.last_token or t.started for t in batch) - min(t.started for t in batch)
    events = sum(t.tokens for t in batch)
    orch_cpu = cpu_seconds(opid) - orch0
    work_cpu = cpu_seconds(mesh.worker_pid) - work0
    return {
        "streams": streams,
        "tokens_per_stream": tokens,
        "events": events,
        "seconds": span,
        "wall_seconds": wall,
        "events_per_s": events / span,
        "orchestrator_cpu_s": orch_cpu,
        "client_cpu_s": time.process_time() - client0,
        "worker_cpu_s": work_cpu,
        # What one fully busy core of the orchestrator could relay, CPU-bound.
        "orchestrator_events_per_cpu_s": events / orch_cpu if ep.relay and orch_cpu > 0 else None,
        "worker_events_per_cpu_s": events / work_cpu if work_cpu > 0 else None,
    }


async def memory(
    mesh: Mesh, stream: Streamer, ep: Endpoint, *, streams: int, open_at_once: int,
    deadline_s: float,
) -> dict[str, Any]:  # fmt: skip
    """Orchestrator (and worker) RSS growth per open stream, ``streams`` held open at once.

    Streams are opened ``open_at_once`` at a time; each is held after its first token until
    every stream is open (or ``deadline_s`` passed), then all are closed by the client,
    which cancels their runs.
    """
    mesh.settle()
    base_orch, base_work = rss_bytes(mesh.orchestrator_pid), rss_bytes(mesh.worker_pid)
    gate = asyncio.Semaphore(open_at_once)
    release = asyncio.Event()
    opened = 0
    all_open = asyncio.Event()

    async def one() -> StreamTiming:
        await gate.acquire()
        acquired = True

        def first() -> None:
            nonlocal opened, acquired
            opened += 1
            gate.release()
            acquired = False
            if opened == streams:
                all_open.set()

        try:
            return await stream(ep.url, ep.body(2, hold_seconds=deadline_s + 60), on_first_token=first,
                release=release,
            )  # fmt: skip
        finally:
            if acquired:
                gate.release()

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one()) for _ in range(streams)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_open.wait(), deadline_s)
    open_s = time.perf_counter() - t0
    held = opened
    await asyncio.sleep(0.5)  # let both servers finish setting the last streams up
    peak_orch, peak_work = rss_bytes(mesh.orchestrator_pid), rss_bytes(mesh.worker_pid)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    mesh.settle(timeout=15)
    after_orch = rss_bytes(mesh.orchestrator_pid)
    return {
        "streams_requested": streams,
        "streams_open": held,
        "seconds_to_open": open_s,
        "failures": len(failures),
        "first_failure": repr(failures[0])[:300] if failures else None,
        "orchestrator_rss_base_mb": base_orch / 2**20,
        "orchestrator_rss_open_mb": peak_orch / 2**20,
        "orchestrator_rss_after_close_mb": after_orch / 2**20,
        "orchestrator_kb_per_stream": (peak_orch - base_orch) / 1024 / held if held else None,
        "worker_kb_per_stream": (peak_work - base_work) / 1024 / held if held else None,
    }


async def client_alternatives(
    mesh: Mesh, streamers: list[Streamer], eps: tuple[Endpoint, ...], *, rounds: int,
    concurrency: int, loaded_tokens: int, tp_tokens: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """The loaded first-token and one-stream throughput figures again, once per client, to
    tell whether the bench's HTTP client (httpx's pool under concurrency) bounds them."""
    out: list[dict[str, Any]] = []
    for stream in streamers:
        row: dict[str, Any] = {"client": stream.name}
        for ep in eps:
            ttfts: list[float] = []
            for _ in range(rounds):
                batch = await asyncio.gather(
                    *(stream(ep.url, ep.body(loaded_tokens)) for _ in range(concurrency))
                )
                ttfts.extend(_check(t, ep) for t in batch)
            row[f"{ep.name}_loaded"] = summary_ms(ttfts)
            tp = await throughput(mesh, stream, ep, streams=1, tokens=tp_tokens)
            row[f"{ep.name}_events_per_s"] = tp["events_per_s"]
            row[f"{ep.name}_client_cpu_s"] = tp["client_cpu_s"]
        out.append(row)
    return out


async def _alternating(
    stream: Streamer, eps: tuple[Endpoint, ...], *, samples: int, tokens: int
) -> dict[str, list[float]]:
    """Unloaded first token of each endpoint, ``samples`` each, alternating so drift hits
    all alike, after 3 warm-up streams each."""
    for ep in eps:
        for _ in range(3):
            _check(await stream(ep.url, ep.body(tokens)), ep)
    alone: dict[str, list[float]] = {ep.name: [] for ep in eps}
    for _ in range(samples):
        for ep in eps:
            alone[ep.name].append(_check(await stream(ep.url, ep.body(tokens)), ep))
    return alone


async def stream_clients(
    mesh: Mesh, stream: Streamer, *, samples: int, tokens: int, tp_tokens: int
) -> dict[str, Any]:
    """The relay read worker streams with the httptools client and with httpx (two
    orchestrators, one each), side by side: unloaded first token and 1-stream events/s."""
    assert mesh.orchestrator is not None and mesh.orchestrator_httpx is not None
    eps = (
        Endpoint("httptools", mesh.orchestrator.url + "/orchestrate/stream", relay=True),
        Endpoint("httpx", mesh.orchestrator_httpx.url + "/orchestrate/stream", relay=True),
    )
    alone = await _alternating(stream, eps, samples=samples, tokens=tokens)
    pids = {"httptools": mesh.orchestrator_pid, "httpx": mesh.orchestrator_httpx_pid}
    tp = {
        ep.name: await throughput(
            mesh, stream, ep, streams=1, tokens=tp_tokens, orchestrator_pid=pids[ep.name]
        )
        for ep in eps
    }
    return {"first_token": {k: summary_ms(v) for k, v in alone.items()}, "throughput": tp}


async def registry_read(
    mesh: Mesh, stream: Streamer, *, samples: int, tokens: int, runs: int
) -> dict[str, Any]:
    """A run's own read of discovery (a conditional GET, answered 304 here: the registry is
    quiet) made by every run (``ORCH_REGISTRY_READ=always``) against the default, which
    makes none while its cache can place the run's tasks, side by side: unloaded first
    token (alternating), then the CPU seconds the orchestrator and discovery spend per run
    over ``runs`` runs of each, one after the other."""
    assert mesh.orchestrator is not None and mesh.orchestrator_reads is not None
    eps = (
        Endpoint("always", mesh.orchestrator_reads.url + "/orchestrate/stream", relay=True),
        Endpoint("auto", mesh.orchestrator.url + "/orchestrate/stream", relay=True),
    )
    alone = await _alternating(stream, eps, samples=samples, tokens=tokens)
    pids = {"always": mesh.orchestrator_reads_pid, "auto": mesh.orchestrator_pid}
    cpu: dict[str, dict[str, float]] = {}
    for ep in eps:
        before = cpu_seconds(pids[ep.name]), cpu_seconds(mesh.discovery_pid)
        for _ in range(runs):
            _check(await stream(ep.url, ep.body(tokens)), ep)
        after = cpu_seconds(pids[ep.name]), cpu_seconds(mesh.discovery_pid)
        cpu[ep.name] = {
            "orchestrator_ms_per_run": (after[0] - before[0]) * 1000 / runs,
            "discovery_ms_per_run": (after[1] - before[1]) * 1000 / runs,
        }
    return {"first_token": {k: summary_ms(v) for k, v in alone.items()}, "cpu": cpu, "runs": runs}
