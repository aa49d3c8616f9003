"""``python -m bench.relay_ab``: the relay of this tree beside a previous commit's, in one run.

One discovery and one fast worker (this tree), and two orchestrators on them: **before**
(``--before``, default ``HEAD``: the commit's sources extracted with ``git archive`` into a
temporary folder and put first on ``PYTHONPATH``; the run prints where each imported
``mesh_orchestrator`` from) and **after** (this working tree, or ``--after`` the same way). Then, each figure for the
worker called directly, before and after, taken in the same minutes:

* first token, alone: ``--samples`` streams of 16 tokens each, the three alternating;
* events/s and events per orchestrator CPU-second: one stream of ``--tokens`` tokens,
  ``--repeats`` times each, before and after alternating (the median is reported);
* KB per open stream: ``--streams`` relayed streams held open, orchestrator RSS growth;
* CPU per run: ``--runs`` runs of a one-task plan pinned to the worker, 16 in flight, in
  rounds of 64 alternating between the sides, the orchestrator's CPU seconds (``/proc``)
  over them.

Small counts suit a shared machine; read the after/before ratios, which the machine's load
touches alike. Every process is started on a free loopback port and stopped by its id.

The one fast worker runs this tree's worker SDK, so both sides read the same worker. With
``--worker-per-side`` each side gets its own discovery and fast worker, the before side's
on the ``--before`` commit's SDK (``PYTHONPATH``): a change of the worker SDK's stream
writer then shows in the comparison too (``direct`` is the after side's worker).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

from bench.measure import Endpoint, memory, summary_ms, throughput
from bench.procs import SOURCES, Side, SideBySide, extract, pid_of, wait_idle
from bench.runs import _load, _pinned
from bench.sse_client import HttpxStreamer, RawStreamer, StreamTiming
from mesh_auth.dialing import KEEPALIVE_EXPIRY

RESULTS = Path(__file__).resolve().parent / "relay_ab_results.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.relay_ab", description=__doc__)
    p.add_argument("--before", default="HEAD", help="the commit to compare with")
    p.add_argument("--after", default=None, help="a commit instead of the working tree")
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--tokens", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--streams", type=int, default=300)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument(
        "--worker-per-side",
        action="store_true",
        help="a discovery and fast worker per side, each on its side's worker SDK",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def _endpoint(side: Side) -> Endpoint:
    return Endpoint(side.name, side.url + "/orchestrate/stream", relay=True)


class _Pids:
    """What ``bench.measure``'s ``throughput`` and ``memory`` read of a mesh, for one side."""

    def __init__(self, orchestrator_pid: int, worker_pid: int) -> None:
        self.orchestrator_pid = orchestrator_pid
        self.worker_pid = worker_pid

    def settle(self, timeout: float = 5.0) -> None:
        wait_idle(self.orchestrator_pid, timeout)


def _ok(t: StreamTiming, name: str) -> float:
    if t.ttft is None or t.end not in ("completed", "done"):
        raise RuntimeError(f"{name} stream ended badly: {t.end} after {t.tokens} tokens")
    return t.ttft


async def measure(
    args: argparse.Namespace,
    direct: Endpoint,
    sides: list[Side],
    worker_pid: int | dict[str, int],
    log: Console,
) -> dict[str, Any]:
    """``worker_pid``: the fast worker's, or each side's (``--worker-per-side``)."""
    workers = worker_pid if isinstance(worker_pid, dict) else {s.name: worker_pid for s in sides}
    out: dict[str, Any] = {}
    eps = [direct, *(_endpoint(s) for s in sides)]
    # First, on fresh processes: memory freed by the measurements below stays in RSS.
    log.print(f"[dim]memory, {args.streams} open streams, each side …[/]")
    out["memory"] = {}
    for side in sides:
        for _ in range(3):  # warm-up: whatever a process makes at its first runs
            _ok(
                await RawStreamer()(side.url + "/orchestrate/stream", _endpoint(side).body(16)),
                side.name,
            )
        mesh = _Pids(side.pid, workers[side.name])
        out["memory"][side.name] = await memory(
            mesh,  # type: ignore[arg-type]
            RawStreamer(), _endpoint(side), streams=args.streams, open_at_once=64,
            deadline_s=120.0,
        )  # fmt: skip
    limits = httpx.Limits(
        max_connections=64, max_keepalive_connections=64, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0, pool=None)) as c:
        stream = HttpxStreamer(c, "httpx")
        log.print(f"[dim]first token, {args.samples} alternating samples each …[/]")
        for ep in eps:
            for _ in range(3):
                _ok(await stream(ep.url, ep.body(16)), ep.name)
        alone: dict[str, list[float]] = {ep.name: [] for ep in eps}
        for _ in range(args.samples):
            for ep in eps:
                alone[ep.name].append(_ok(await stream(ep.url, ep.body(16)), ep.name))
        out["first_token"] = {k: summary_ms(v) for k, v in alone.items()}
        log.print(f"[dim]events/s, 1 stream x {args.tokens}, {args.repeats} times each …[/]")
        tp: dict[str, list[dict[str, Any]]] = {ep.name: [] for ep in eps}
        pids = {s.name: s.pid for s in sides}
        for _ in range(args.repeats):
            for ep in eps:
                mesh = _Pids(pids.get(ep.name, sides[-1].pid), workers.get(ep.name, -1))
                if mesh.worker_pid < 0:  # direct: the after side's worker
                    mesh.worker_pid = workers[sides[-1].name]
                tp[ep.name].append(
                    await throughput(
                        mesh,  # type: ignore[arg-type]
                        stream, ep, streams=1, tokens=args.tokens,
                        orchestrator_pid=mesh.orchestrator_pid,
                    )
                )  # fmt: skip
        out["throughput"] = tp
    log.print(f"[dim]CPU per run, {args.runs} pinned runs, 16 in flight, each side …[/]")
    # In rounds of 64 runs, the sides alternating, so the machine's load hits both alike.
    loads: dict[str, list[dict[str, Any]]] = {s.name: [] for s in sides}
    for side in sides:
        await _load(side.url + "/orchestrate/stream", _pinned(), 16, 16, side.pid)  # warm-up
    for _ in range(max(1, args.runs // 64)):
        for side in sides:
            url = side.url + "/orchestrate/stream"
            loads[side.name].append(await _load(url, _pinned(), 64, 16, side.pid))
    out["cpu_per_run"] = {
        name: {
            "runs": sum(r["runs"] for r in rows),
            "runs_per_s": sum(r["runs"] for r in rows) / sum(r["seconds"] for r in rows),
            "orchestrator_cpu_ms_per_run": sum(
                r["orchestrator_cpu_ms_per_run"] * r["runs"] for r in rows
            )
            / sum(r["runs"] for r in rows),
            "failures": sum(r["failures"] for r in rows),
        }
        for name, rows in loads.items()
    }
    return out


def _median(rows: list[dict[str, Any]], key: str) -> float:
    """NaN when no row has it (a short stream can take less CPU than one 10 ms tick)."""
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else float("nan")


def report(res: dict[str, Any], console: Console) -> None:
    ft, tp, mem, cpu = res["first_token"], res["throughput"], res["memory"], res["cpu_per_run"]
    after = res["after"][:7] if res["after"] != "working tree" else "this tree"
    t = Table(
        title=f"the relay, before ({res['before'][:7]}) and after ({after}), one run", box=box.ASCII
    )
    for col in ("measurement", "direct", "before", "after", "after/before"):
        t.add_column(col, justify="left" if col == "measurement" else "right")

    def row(label: str, d: float | None, b: float, a: float, fmt: str = "{:,.2f}") -> None:
        ratio = f"{a / b:.2f}x" if b else "-"
        t.add_row(label, "" if d is None else fmt.format(d), fmt.format(b), fmt.format(a), ratio)

    for p in ("p50", "p99"):
        k = f"{p}_ms"
        row(f"first token {p}, alone (ms)", ft["direct"][k], ft["before"][k], ft["after"][k])
        d = ft["direct"][k]
        row(f"  added over direct, {p} (ms)", None, ft["before"][k] - d, ft["after"][k] - d)
    eps = {k: _median(v, "events_per_s") for k, v in tp.items()}
    row("events/s, 1 stream (median)", eps["direct"], eps["before"], eps["after"], "{:,.0f}")
    row("  relay / direct", None, eps["before"] / eps["direct"], eps["after"] / eps["direct"])
    per = {k: _median(tp[k], "orchestrator_events_per_cpu_s") for k in ("before", "after")}
    row("  events per orchestrator CPU-second", None, per["before"], per["after"], "{:,.0f}")
    kb = {k: mem[k]["orchestrator_kb_per_stream"] for k in ("before", "after")}
    n = mem["after"]["streams_open"]
    row(f"KB per open stream ({n} open)", None, kb["before"], kb["after"], "{:,.1f}")
    base = {k: mem[k]["orchestrator_rss_base_mb"] for k in ("before", "after")}
    row(
        "  orchestrator RSS before the streams (MB)", None, base["before"], base["after"], "{:,.0f}"
    )
    ms = {k: cpu[k]["orchestrator_cpu_ms_per_run"] for k in ("before", "after")}
    row("CPU ms per run (pinned, 16 in flight)", None, ms["before"], ms["after"])
    rps = {k: cpu[k]["runs_per_s"] for k in ("before", "after")}
    row("  runs/s", None, rps["before"], rps["after"], "{:,.1f}")
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * args.streams + 1024
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    slots = args.streams + 64
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="mesh-bench-ab-") as folder:
        tmp = Path(folder)
        before_tree = tmp / "before"
        sha = extract(args.before, before_tree)
        after_tree, after_sha = None, "working tree"
        if args.after is not None:
            after_tree = tmp / "after"
            after_sha = extract(args.after, after_tree)
        trees = {"before": before_tree, "after": after_tree}
        if args.worker_per_side:
            res, where = _per_side(args, tmp, trees, slots, log)
        else:
            with SideBySide(
                tmp, trees, instance_id="ab-fast-1", slots=slots, ready_timeout=120
            ) as m:
                sides = list(m.sides.values())
                where = {s.name: s.imported_from() for s in sides}
                for name, path in where.items():
                    log.print(f"[dim]{name}: mesh_orchestrator from {path}[/]", markup=True)
                direct = Endpoint("direct", m.worker.url + "/stream", relay=False)
                res = asyncio.run(measure(args, direct, sides, pid_of(m.worker), log))
    res["imported_from"] = where
    return finish(res, args, (sha, after_sha), started, report)


def _per_side(
    args: argparse.Namespace,
    tmp: Path,
    trees: dict[str, Path | None],
    slots: int,
    log: Console,
) -> tuple[dict[str, Any], dict[str, str]]:
    """``measure`` with a discovery and a fast worker per side, each worker on its side's
    tree's worker SDK (the before tree's first on its ``PYTHONPATH``)."""
    with contextlib.ExitStack() as stack:
        meshes: dict[str, SideBySide] = {}
        for name, tree in trees.items():
            folder = tmp / f"mesh-{name}"
            folder.mkdir()
            worker_env = {} if tree is None else {"PYTHONPATH": os.pathsep.join(
                str(tree / src) for src in SOURCES)}  # fmt: skip
            meshes[name] = stack.enter_context(
                SideBySide(
                    folder, {name: tree}, instance_id=f"ab-fast-{name}", slots=slots,
                    ready_timeout=120, worker_env=worker_env,
                )
            )  # fmt: skip
        sides = [m.sides[name] for name, m in meshes.items()]
        where = {s.name: s.imported_from() for s in sides}
        for name, path in where.items():
            log.print(f"[dim]{name}: mesh_orchestrator from {path} (its own worker)[/]")
        after = meshes[sides[-1].name]
        direct = Endpoint("direct", after.worker.url + "/stream", relay=False)
        workers = {name: pid_of(m.worker) for name, m in meshes.items()}
        return asyncio.run(measure(args, direct, sides, workers, log)), where


def finish(
    res: dict[str, Any],
    args: argparse.Namespace,
    shas: tuple[str, str],
    started: float,
    report: Callable[[dict[str, Any], Console], None],
) -> int:
    """Stamp a side-by-side result (the two commits, the options, the date, the load),
    print its table and the load, write it to ``args.out``; 0 (``main``'s exit status)."""
    res["before"], res["after"] = shas
    res["options"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    res["date"] = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(started))
    res["loadavg"] = os.getloadavg()
    report(res, Console(width=120))
    print(f"load average at the end: {' / '.join(f'{x:.2f}' for x in res['loadavg'])}")
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
