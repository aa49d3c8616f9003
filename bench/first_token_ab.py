"""``python -m bench.first_token_ab``: ``make bench``'s first-token lines, a commit's tree and
this one, each in fresh processes, taking turns.

``python -m bench`` reads "first token" (unloaded: ``--samples`` streams of 16 tokens, one at
a time; loaded: ``--rounds`` rounds of 20 concurrent streams x 200 tokens, the httpx client
with a pool of 64) with ``bench.measure.first_token`` on a fresh orchestrator beside the fast
worker. This calls the same function with the same arguments, on one fast worker and one
orchestrator started for each reading, **before** (``--before``, default ``main``, extracted
with ``git archive``) and **after** (this working tree), before/after/before/after...
(``--pairs``): the figure ``make bench`` prints, side by side, without the rest of its
phases. Read the relay/direct ratios of each reading (the machine's load moves both).

Each reading then also reads the orchestrator's **CPU a stream** (``--cpu-rounds`` more rounds
of 20 concurrent x 200 tokens through the relay alone, the same client, the orchestrator's
user + system CPU from ``/proc`` over them divided by the streams: 10 ms ticks, so +-0.05 ms
a stream at 10 rounds). Unlike the first token, that figure hardly moves with the machine's
load, so it is the one to read on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import measure
from bench.procs import SideBySide, cpu_seconds, extract
from bench.sse_client import HttpxStreamer
from mesh_auth.dialing import KEEPALIVE_EXPIRY

RESULTS = Path(tempfile.gettempdir()) / "first_token_ab.json"


async def _read(
    worker: str, relay: str, samples: int, rounds: int, pid: int, cpu_rounds: int
) -> dict[str, Any]:
    eps = (
        measure.Endpoint("direct", worker + "/stream", relay=False),
        measure.Endpoint("relay", relay + "/orchestrate/stream", relay=True),
    )
    limits = httpx.Limits(
        max_connections=64, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    timeout = httpx.Timeout(30.0, read=60.0, pool=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        stream = HttpxStreamer(client, "httpx, pool 64")
        got = await measure.first_token(
            stream,
            eps,
            samples=samples,
            rounds=rounds,
            concurrency=20,
            tokens=16,
            loaded_tokens=200,
        )
        got["cpu_ms_a_stream"] = await _cpu_a_stream(stream, eps[1], pid, cpu_rounds)
        return got


async def _cpu_a_stream(
    stream: HttpxStreamer, relay: measure.Endpoint, pid: int, rounds: int
) -> float | None:
    """The orchestrator's CPU (ms) a relayed stream over ``rounds`` rounds of 20 x 200."""
    if rounds <= 0:
        return None
    await asyncio.sleep(0.5)  # what the rounds before left to flush
    before = cpu_seconds(pid)
    for _ in range(rounds):
        await asyncio.gather(*(stream(relay.url, relay.body(200)) for _ in range(20)))
    await asyncio.sleep(0.5)  # this rounds' last flushes
    return 1000 * (cpu_seconds(pid) - before) / (20 * rounds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.first_token_ab", description=__doc__)
    p.add_argument("--before", default="main")
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--samples", type=int, default=200, help="unloaded samples (make bench's)")
    p.add_argument("--rounds", type=int, default=10, help="loaded rounds (make bench's)")
    p.add_argument(
        "--cpu-rounds", type=int, default=10, help="rounds of 20 x 200 for CPU a stream (0: none)"
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    readings: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mesh-bench-ftab-") as folder:
        tmp = Path(folder)
        sha = extract(args.before, tmp / "before")
        for i in range(args.pairs):
            for name, tree in (("before", tmp / "before"), ("after", None)):
                run = tmp / f"{name}-{i}"
                run.mkdir()
                with SideBySide(
                    run, {name: tree}, instance_id=f"ftab-{name}-{i}", slots=256, ready_timeout=120
                ) as m:
                    assert m.worker is not None
                    side = m.sides[name]
                    got = asyncio.run(
                        _read(
                            m.worker.url, side.url, args.samples, args.rounds, side.pid,
                            args.cpu_rounds,
                        )
                    )  # fmt: skip
                d, r = got["loaded"]["direct"], got["loaded"]["relay"]
                u, ur = got["unloaded"]["direct"], got["unloaded"]["relay"]
                row = {
                    "side": name,
                    "at": time.strftime("%H:%M:%S"),
                    "loadavg": os.getloadavg()[0],
                    "loaded_direct_p50_ms": d["p50_ms"],
                    "loaded_relay_p50_ms": r["p50_ms"],
                    "loaded_ratio_p50": r["p50_ms"] / d["p50_ms"],
                    "unloaded_added_p50_ms": ur["p50_ms"] - u["p50_ms"],
                    "unloaded_added_p99_ms": ur["p99_ms"] - u["p99_ms"],
                    "cpu_ms_a_stream": got["cpu_ms_a_stream"],
                    "first_token": got,
                }
                readings.append(row)
                print(
                    f"{name:6s} {row['at']} load {row['loadavg']:.1f}: 20 concurrent p50 direct"
                    f" {d['p50_ms']:.1f} relay {r['p50_ms']:.1f} ms = x{row['loaded_ratio_p50']:.2f};"
                    f" unloaded added p50 {row['unloaded_added_p50_ms']:+.2f}"
                    f" p99 {row['unloaded_added_p99_ms']:+.2f} ms"
                    + (
                        f"; CPU a stream {row['cpu_ms_a_stream']:.3f} ms"
                        if row["cpu_ms_a_stream"] is not None
                        else ""
                    ),
                    flush=True,
                )
    for name in ("before", "after"):
        rows = [r for r in readings if r["side"] == name]
        cpu = [r["cpu_ms_a_stream"] for r in rows if r["cpu_ms_a_stream"] is not None]
        print(
            f"{name:6s} mean of {len(rows)}: 20 concurrent x"
            f"{sum(r['loaded_ratio_p50'] for r in rows) / len(rows):.2f};"
            f" unloaded added p50 {sum(r['unloaded_added_p50_ms'] for r in rows) / len(rows):+.2f}"
            f" p99 {sum(r['unloaded_added_p99_ms'] for r in rows) / len(rows):+.2f} ms"
            + (f"; CPU a stream {sum(cpu) / len(cpu):.3f} ms" if cpu else ""),
            flush=True,
        )
    args.out.write_text(json.dumps({"before": sha, "readings": readings}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
