"""``python -m bench [--quick] [--streams N]``: run every measurement once, print, save JSON.

Exit status 0 when every measurement ran (missed targets are reported, not failures),
1 when a measurement could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench import durable, faults, measure
from bench import runs as run_throughput
from bench.procs import Mesh
from bench.report import print_report
from bench.sse_client import HttpxStreamer, RawStreamer, Streamer
from mesh_auth.dialing import KEEPALIVE_EXPIRY

RESULTS = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes (the smoke test's run)")
    p.add_argument(
        "--streams",
        type=int,
        default=None,
        help="open streams for the memory figure (default 1000; 50 with --quick)",
    )
    p.add_argument(
        "--samples", type=int, default=None, help="unloaded first-token samples per endpoint"
    )
    # The counts of the slow sections (each repetition starts or kills processes); the smoke
    # test runs each section once, on the smallest counts that still give every figure.
    p.add_argument(
        "--failovers",
        type=int,
        default=None,
        help="kill -9 repetitions (default 20; 3 with --quick)",
    )
    p.add_argument(
        "--stalls", type=int, default=None, help="SIGSTOP repetitions (default 10; 2 with --quick)"
    )
    p.add_argument(
        "--handovers",
        type=int,
        default=None,
        help="replica handovers on Postgres (default 5; 2 with --quick)",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=None,
        help="runs per run-throughput load, at most 16 at a time (default 400; 16 with --quick)",
    )
    p.add_argument(
        "--out", type=Path, default=RESULTS, help="where to write the JSON (default %(default)s)"
    )
    p.add_argument(
        "--time-limit", type=float, default=900.0, help="give up after this many seconds"
    )
    args = p.parse_args(argv)
    q = args.quick
    args.streams = args.streams or (50 if q else 1000)
    args.samples = args.samples or (10 if q else 200)
    args.rounds = 1 if q else 10
    args.concurrency = 20
    args.tokens = 16
    args.loaded_tokens = 50 if q else 200
    args.tp_tokens = 2_000 if q else 20_000
    args.tp_streams = [1, 2] if q else [1, 4]
    args.failovers = args.failovers or (3 if q else 20)
    args.stalls = args.stalls or (2 if q else 10)
    args.handovers = args.handovers or (2 if q else 5)
    args.durable_tokens = 60 if q else durable.TOKENS
    args.runs = args.runs or (16 if q else 400)
    args.run_concurrency = min(16, args.runs)
    return args  # fmt: skip


def _raise_fd_limit(need: int) -> None:
    # Each held stream costs the client, the orchestrator (twice) and the worker one socket;
    # children inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def _client(max_connections: int, read: float | None) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=64,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0, read=read, pool=None))


async def run(args: argparse.Namespace, mesh: Mesh, log: Console) -> dict[str, Any]:
    direct, relay = measure.endpoints(mesh)
    eps = (direct, relay)
    results: dict[str, Any] = {"notes": []}
    # Memory first, on an orchestrator of its own that nothing else used (three warm-up
    # streams): RSS growth late in the main one, after the phases below freed heap, read
    # 29-34 KB a stream for unchanged code (that heap is filled before RSS grows). The late
    # reading is kept beside it (``memory_late``, as before) for one round.
    log.print(f"[dim]memory with {args.streams} open streams, a fresh orchestrator …[/]")
    url = mesh.orchestrator_fresh.url  # type: ignore[union-attr]
    fresh = measure.Endpoint("relay", url + "/orchestrate/stream", relay=True)
    for _ in range(3):
        await RawStreamer()(fresh.url, fresh.body(16))
    results["memory"] = await measure.memory(
        mesh.fresh(),  # type: ignore[arg-type]
        RawStreamer(), fresh, streams=args.streams, open_at_once=64, deadline_s=180.0,
    )  # fmt: skip
    async with _client(64, 60.0) as client:
        stream = HttpxStreamer(client, "httpx, pool 64")
        log.print("[dim]first token …[/]")
        results["first_token"] = await measure.first_token(
            stream,
            eps,
            samples=args.samples,
            rounds=args.rounds,
            concurrency=args.concurrency,
            tokens=args.tokens,
            loaded_tokens=args.loaded_tokens,
        )
        log.print("[dim]events per second …[/]")
        tp: dict[str, list[dict[str, Any]]] = {"direct": [], "relay": []}
        for n in args.tp_streams:
            for ep in eps:
                tp[ep.name].append(
                    await measure.throughput(mesh, stream, ep, streams=n, tokens=args.tp_tokens)
                )
        results["throughput"] = tp
        log.print("[dim]the relay's stream client: httptools vs httpx …[/]")
        results["stream_clients"] = await measure.stream_clients(
            mesh, stream, samples=args.samples, tokens=args.tokens, tp_tokens=args.tp_tokens
        )
        log.print("[dim]a run's own read of discovery: always vs auto …[/]")
        results["registry_read"] = await measure.registry_read(
            mesh, stream, samples=args.samples, tokens=args.tokens, runs=2 * args.samples
        )
    log.print("[dim]the same through other HTTP clients …[/]")
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=60.0, pool=None)) as default,
        _client(args.streams + 16, 60.0) as big,
    ):
        others: list[Streamer] = [
            HttpxStreamer(default, "httpx, default pool (100)"),
            HttpxStreamer(big, f"httpx, pool {args.streams + 16}"),
            RawStreamer(),
        ]
        results["clients"] = await measure.client_alternatives(
            mesh,
            others,
            eps,
            rounds=max(1, args.rounds // 2),
            concurrency=args.concurrency,
            loaded_tokens=args.loaded_tokens,
            tp_tokens=args.tp_tokens,
        )
    log.print(f"[dim]memory with {args.streams} open streams, late in the process …[/]")
    # The bare client: at 1,000 connections httpx's pool would slow the opening, not the
    # orchestrator's memory, which is what this measures.
    results["memory_late"] = await measure.memory(
        mesh, RawStreamer(), relay, streams=args.streams, open_at_once=64, deadline_s=180.0
    )
    for key in ("memory", "memory_late"):
        mem = results[key]
        if mem["streams_open"] < args.streams:
            results["notes"].append(
                f"{key}: only {mem['streams_open']} of {args.streams} streams opened in time"
            )
    return results  # fmt: skip


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True)
    _raise_fd_limit(4 * args.streams + 1024)
    started = time.time()
    log.print("[dim]starting discovery, the fast worker and the orchestrator …[/]")
    with Mesh(max_streams=args.streams) as mesh:
        try:
            results = asyncio.run(asyncio.wait_for(run(args, mesh, log), args.time_limit))
        except Exception as exc:
            log.print(f"bench failed: {type(exc).__name__}: {exc}", markup=False)
            log.print(
                f"orchestrator log: {mesh.orchestrator.log_path if mesh.orchestrator else '-'}",
                markup=False,
            )
            return 1
    log.print(
        f"[dim]failover and stall detection ({args.failovers} kills, {args.stalls} stops) …[/]"
    )
    try:
        left = max(60.0, args.time_limit - (time.time() - started))
        results["faults"] = faults.run(
            failovers=args.failovers, stalls=args.stalls, time_limit=left
        )
    except Exception as exc:
        log.print(f"bench failed (faults): {type(exc).__name__}: {exc}", markup=False)
        return 1
    log.print(f"[dim]runs across replicas on Postgres ({args.handovers} handovers) …[/]")
    try:
        left = max(60.0, args.time_limit - (time.time() - started))
        results["durable"] = durable.run(
            handovers=args.handovers, tokens=args.durable_tokens, time_limit=left
        )
    except Exception as exc:
        log.print(f"bench failed (durable): {type(exc).__name__}: {exc}", markup=False)
        return 1
    log.print(
        f"[dim]run throughput: {args.runs} runs, {args.run_concurrency} at a time,"
        " SQLite and Postgres …[/]"
    )
    try:
        results["run_throughput"] = run_throughput.run(
            runs=args.runs, concurrency=args.run_concurrency
        )
    except Exception as exc:
        log.print(f"bench failed (run throughput): {type(exc).__name__}: {exc}", markup=False)
        return 1
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
    results["seconds"] = time.time() - started
    results["machine"] = machine()
    results["options"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    items = print_report(results, Console(width=140))
    results["targets"] = [v.as_dict() for v in items]
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    log.print(f"[dim]wrote {args.out} ({results['seconds']:.0f} s)[/]")
    return 0  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
