"""``python -m bench.runs_ab``: CPU per run of this tree beside a previous commit's, in one run.

For each run store (SQLite, then Postgres: a database per side, created for the measurement
and dropped after it; skipped, with the reason, when no Postgres answers): one discovery and
one fast worker (this tree), and two orchestrators on them: **before** (``--before``: the
commit's sources from ``git archive``, first on ``PYTHONPATH``, as ``bench.relay_ab`` does)
and **after** (this working tree, or ``--after``). Then ``--runs`` runs of each kind on each
side (``bench.runs``: a one-task plan pinned to the fast worker, and a query the planner
plans), 16 in flight, in rounds of ``--round`` runs: each round runs both kinds on both
sides, the sides' order swapped every round, so the machine's load hits both alike. CPU per
run is the orchestrator's CPU seconds (``/proc``) over a round, divided by its runs; the
table reports the sums over all rounds and the after/before ratios. Results in
``bench/runs_ab_results.json``. ``--keep-alive``: every run over connections kept open from
run to run (``bench.runs``' kept-alive loads), not a connection of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from bench.durable import ADMIN_URL
from bench.procs import Side, SideBySide, extract, wait_idle
from bench.relay_ab import finish
from bench.runs import TOKENS, _load, _pinned, _planned

RESULTS = Path(__file__).resolve().parent / "runs_ab_results.json"
KINDS = {"pinned": _pinned, "planned": _planned}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.runs_ab", description=__doc__)
    p.add_argument("--before", default="HEAD", help="the commit to compare with")
    p.add_argument("--after", default=None, help="a commit instead of the working tree")
    p.add_argument("--runs", type=int, default=256, help="runs of each kind on each side")
    p.add_argument("--round", type=int, default=64, help="runs of one kind on one side at once")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--stores", default="sqlite,postgres")
    p.add_argument(
        "--keep-alive", action="store_true",
        help="runs over connections kept open from run to run (bench.runs' kept-alive loads)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


def _measure_store(
    args: argparse.Namespace, trees: dict[str, Path | None], store_envs: dict[str, dict[str, str]],
    log: Console,
) -> dict[str, Any]:  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="mesh-bench-runs-ab-") as folder,
        SideBySide(
            Path(folder),
            trees,
            instance_id="runs-ab-fast-1",
            side_env=store_envs,
            worker_env={"BENCH_FAST_TOKENS": str(TOKENS)},
        ) as m,
    ):
        return asyncio.run(_rounds(args, m.sides, log))


async def _rounds(args: argparse.Namespace, sides: dict[str, Side], log: Console) -> dict[str, Any]:
    pids = {name: side.pid for name, side in sides.items()}
    urls = {name: side.url + "/orchestrate/stream" for name, side in sides.items()}
    c = args.concurrency
    for name in sides:  # warm-up: whatever a process makes at its first runs
        for make in KINDS.values():
            await _load(urls[name], make(), 2 * c, c, pids[name], keep_alive=args.keep_alive)
    loads: dict[str, dict[str, list[dict[str, Any]]]] = {
        kind: {name: [] for name in sides} for kind in KINDS
    }
    order = list(sides)
    for i in range(max(1, args.runs // args.round)):
        log.print(f"[dim]  round {i + 1}: {', '.join(order)}[/]")
        for kind, make in KINDS.items():
            for name in order:
                wait_idle(pids[name], 2.0)
                loads[kind][name].append(
                    await _load(
                        urls[name], make(), args.round, c, pids[name], keep_alive=args.keep_alive
                    )
                )
        order.reverse()
    out: dict[str, Any] = {}
    for kind, by_side in loads.items():
        out[kind] = {}
        for name, rows in by_side.items():
            runs = sum(r["runs"] for r in rows)
            cpu_ms = sum(r["orchestrator_cpu_ms_per_run"] * r["runs"] for r in rows)
            out[kind][name] = {
                "runs": runs,
                "runs_per_s": runs / sum(r["seconds"] for r in rows),
                "orchestrator_cpu_ms_per_run": cpu_ms / runs,
                "rounds_cpu_ms_per_run": [round(r["orchestrator_cpu_ms_per_run"], 3) for r in rows],
                "failures": sum(r["failures"] for r in rows),
            }
    return out


def _postgres(log: Console) -> str | None:
    """None when Postgres answers at ``ADMIN_URL``, else why not."""
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            return None
    except Exception as exc:
        return f"no Postgres at {ADMIN_URL}: {type(exc).__name__}"


def report(res: dict[str, Any], console: Console) -> None:
    after = res["after"][:7] if res["after"] != "working tree" else "this tree"
    kept = ", connections kept alive" if res.get("options", {}).get("keep_alive") else ""
    t = Table(
        title=f"CPU per run, before ({res['before'][:7]}) and after ({after}), one run{kept}",
        box=box.ASCII,
    )
    for col in ("store", "load", "runs a side", "before ms/run", "after ms/run", "after/before",
                "before runs/s", "after runs/s"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("store", "load") else "right")
    for store, kinds in res["stores"].items():
        if "skipped" in kinds:
            t.add_row(store, kinds["skipped"], "", "", "", "", "", "")
            continue
        for kind, sides in kinds.items():
            b, a = sides["before"], sides["after"]
            ratio = a["orchestrator_cpu_ms_per_run"] / b["orchestrator_cpu_ms_per_run"]
            t.add_row(
                store, kind, str(a["runs"]), f"{b['orchestrator_cpu_ms_per_run']:.2f}",
                f"{a['orchestrator_cpu_ms_per_run']:.2f}", f"{ratio:.2f}x",
                f"{b['runs_per_s']:.1f}", f"{a['runs_per_s']:.1f}",
            )  # fmt: skip
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = Console(stderr=True)
    started = time.time()
    res: dict[str, Any] = {"stores": {}}
    with tempfile.TemporaryDirectory(prefix="mesh-bench-runs-ab-src-") as folder:
        tmp = Path(folder)
        sha = extract(args.before, tmp / "before")
        trees: dict[str, Path | None] = {"before": tmp / "before", "after": None}
        after_sha = "working tree"
        if args.after is not None:
            after_sha = extract(args.after, tmp / "after")
            trees["after"] = tmp / "after"
        for store in args.stores.split(","):
            log.print(f"[dim]{store} …[/]")
            if store == "sqlite":
                res["stores"][store] = _measure_store(args, trees, {n: {} for n in trees}, log)
                continue
            why = _postgres(log)
            if why is not None:
                res["stores"][store] = {"skipped": why}
                continue
            import psycopg

            names = {n: f"mesh_bench_runs_ab_{n}_{uuid.uuid4().hex[:8]}" for n in trees}
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                for db in names.values():
                    conn.execute(f"CREATE DATABASE {db}")
            base = ADMIN_URL.rsplit("/", 1)[0]
            try:
                envs = {n: {"ORCH_DATABASE_URL": f"{base}/{db}"} for n, db in names.items()}
                res["stores"][store] = _measure_store(args, trees, envs, log)
            finally:
                with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                    for db in names.values():
                        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    return finish(res, args, (sha, after_sha), started, report)


if __name__ == "__main__":
    sys.exit(main())
