"""``python -m bench.fair_ab``: the first token under concurrency, this tree beside a commit's.

The ``make bench`` line "first token, 20 concurrent x 200 tokens" (``bench.measure``'s
loaded rounds: ``--concurrency`` streams of ``--tokens`` tokens started at once, the httpx
client with a pool of 64), for the fast worker called directly and through two
orchestrators on it, **before** (``--before``, default ``main``, extracted with ``git
archive``) and **after** (this working tree), in the same minutes: the three alternate
round by round (``--rounds``); ``--client raw``: a bare socket a stream (``RawStreamer``),
whose CPU a round is ~1/5 of httpx's, so what the relay itself adds shows more (bench/README.md,
"Round 11: first token under concurrency"). Each stream's first token is also kept by its
rank in its round (first to last), which tells a round's spread (every stream delayed alike, or the
later ones behind the earlier ones' floods). Read the relay/direct ratios: the machine's
load touches the three alike. ``--floor``: a fourth endpoint, ``floor``, the fast worker
through ``bench.floor_proxy`` (a raw asyncio TCP proxy, bytes passed both ways, no parse):
what a trivial relay in Python on this machine adds, the floor of what the orchestrator
could read (bench/README.md, "Round 12: first token under concurrency").
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

from bench.measure import Endpoint, summary_ms
from bench.procs import ROOT, SideBySide, cpu_seconds, extract, pid_of
from bench.sse_client import HttpxStreamer, RawStreamer, Streamer
from mesh_auth.dialing import KEEPALIVE_EXPIRY
from mesh_testkit import ServiceProcess, free_port

RESULTS = Path(__file__).resolve().parent / "fair_ab_results.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.fair_ab", description=__doc__)
    p.add_argument("--before", default="main", help="the commit to compare with")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="the bench's httpx client (make bench's), or a bare socket a stream (RawStreamer)",
    )
    p.add_argument("--floor", action="store_true", help="also the worker through bench.floor_proxy")
    p.add_argument("--pause", type=float, default=0.0, help="seconds between two rounds")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


async def measure(
    args: argparse.Namespace, eps: list[Endpoint], pids: dict[str, int] | None = None
) -> dict[str, Any]:
    """``pids``: the relaying process of an endpoint (an orchestrator, the floor proxy),
    whose CPU over its endpoint's rounds is read (``cpu_ms_a_round``)."""
    pids = pids or {}
    limits = httpx.Limits(
        max_connections=64, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    timeout = httpx.Timeout(30.0, read=60.0, pool=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        stream: Streamer = HttpxStreamer(client, "httpx, pool 64")
        if args.client == "raw":
            stream = RawStreamer()
        for ep in eps:  # warm-up, as bench.measure's
            for _ in range(3):
                await stream(ep.url, ep.body(16))
            await asyncio.gather(*(stream(ep.url, ep.body(args.tokens)) for _ in range(4)))
        got: dict[str, list[float]] = {ep.name: [] for ep in eps}
        ranked: dict[str, list[list[float]]] = {ep.name: [] for ep in eps}
        cpu: dict[str, float] = {name: 0.0 for name in pids}
        for r in range(args.rounds):
            order = eps if r % 2 == 0 else eps[::-1]
            for ep in order:
                pid = pids.get(ep.name)
                cpu0 = cpu_seconds(pid) if pid else 0.0
                try:
                    batch = await asyncio.gather(
                        *(stream(ep.url, ep.body(args.tokens)) for _ in range(args.concurrency))
                    )
                except Exception as exc:
                    raise RuntimeError(f"{ep.name}: round {r}: {exc!r}") from exc
                ttft = []
                for t in batch:
                    if t.ttft is None or t.end not in ("completed", "done"):
                        raise RuntimeError(f"{ep.name}: ended {t.end} after {t.tokens} tokens")
                    ttft.append(t.ttft)
                got[ep.name].extend(ttft)
                if pid:
                    cpu[ep.name] += cpu_seconds(pid) - cpu0
                if args.pause:
                    await asyncio.sleep(args.pause)
                ranked[ep.name].append(sorted(ttft))
    by_rank = {
        name: [1000 * sorted(rows[i] for rows in v)[len(v) // 2] for i in range(args.concurrency)]
        for name, v in ranked.items()
    }
    return {
        "loaded": {k: summary_ms(v) for k, v in got.items()},
        "by_rank_median_ms": by_rank,
        # The relaying process's CPU while its endpoint's rounds ran (what its flushes spend
        # after a round's streams ended may land in the next endpoint's rounds).
        "cpu_ms_a_round": {k: 1000 * v / args.rounds for k, v in cpu.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="mesh-bench-fair-") as folder:
        tmp = Path(folder)
        sha = extract(args.before, tmp / "before")
        trees = {"before": tmp / "before", "after": None}
        with SideBySide(tmp, trees, instance_id="fair-fast-1", slots=256, ready_timeout=120) as m:
            assert m.worker is not None
            eps = [Endpoint("direct", m.worker.url + "/stream", relay=False)]
            for s in m.sides.values():
                print(f"{s.name}: mesh_orchestrator from {s.imported_from()}", file=sys.stderr)
                eps.append(Endpoint(s.name, s.url + "/orchestrate/stream", relay=True))
            floor = None
            if args.floor:
                port = free_port()
                upstream = m.worker.url.removeprefix("http://")
                floor = ServiceProcess(
                    "bench.floor_proxy", port, {"FLOOR_PORT": str(port), "FLOOR_UPSTREAM": upstream},
                    cwd=ROOT,
                ).start()  # fmt: skip
                eps.append(Endpoint("floor", floor.url + "/stream", relay=False))
            pids = {s.name: s.pid for s in m.sides.values()}
            if floor is not None:
                pids["floor"] = pid_of(floor)
            try:
                res = asyncio.run(measure(args, eps, pids))
            finally:
                if floor is not None:
                    floor.stop(grace=2)
    res.update(before=sha, options={k: str(v) for k, v in vars(args).items()})
    res["date"] = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
    res["loadavg"] = os.getloadavg()
    d = res["loaded"]["direct"]
    for name in ("direct", "floor", "before", "after"):
        if name not in res["loaded"]:
            continue
        s = res["loaded"][name]
        print(
            f"{name:7s} p50 {s['p50_ms']:7.1f} ms  p99 {s['p99_ms']:7.1f}  mean {s['mean_ms']:7.1f}"
            f"  p50 added {s['p50_ms'] - d['p50_ms']:+6.1f}  p50 x{s['p50_ms'] / d['p50_ms']:.2f}"
        )
    print(
        "relaying process CPU a round: "
        + "  ".join(f"{k} {v:.1f} ms" for k, v in res["cpu_ms_a_round"].items())
    )
    for name, v in res["by_rank_median_ms"].items():
        print(f"{name:7s} by rank (median ms): " + " ".join(f"{x:.0f}" for x in v))
    print(
        f"after/before p50: {res['loaded']['after']['p50_ms'] / res['loaded']['before']['p50_ms']:.2f}"
    )
    print("load average: " + " / ".join(f"{x:.2f}" for x in res["loadavg"]))
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
