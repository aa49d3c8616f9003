"""Chaos under load: many runs in flight while workers, an orchestrator replica and discovery
die, on real processes and the local Postgres (``make bench-chaos``).

The mesh: discovery, two orchestrator replicas (``a``, ``b``) on one Postgres database
(created for the measurement, dropped after it), two replicas of the fast worker
(``bench.fast_worker``, safe to retry) and two of a worker that is *not* safe to retry
(``bench.fault_worker`` as agent ``careful``, ``FAULT_RETRY_SAFE=0``, holding a run whose
caller left for ``WORKER_DETACH_GRACE_SECONDS`` so a replica that takes a run over can
re-attach to it by its idempotency key). Every run's plan: ``gen`` on the fast worker, then
``train`` on ``careful``, which depends on it.

Two phases of the same load, ``--runs`` runs started (alternating replicas) with at most
``--in-flight`` unfinished at once: first without chaos (the baseline), then with a bounded
chaos loop (a fault every ``--chaos-every`` seconds while the load lasts, at most
``--max-faults``): first kill -9 replica ``b`` and discovery together (both restarted 2 s
later; ``b`` once per phase), then at random: kill -9 a worker (restarted 1 s
later), SIGSTOP a worker for 3 s, or discovery again. Each fault is undone before the next.

Reported per phase: runs completed, failed clearly (ended with any other final status), stuck
(not ended ``--deadline`` seconds after the last start), results lost (a task whose
``completed`` status is in the run's log but whose output is not in the final answer's
results), non-retry-safe tasks executed twice (a ``train`` task whose run started more
than once, counted at the workers by idempotency key in a log file that survives their
kills), and the p50/p99 run time (the run's ``finished_at - created_at``).

``python -m bench.chaos [--runs 200] [--in-flight 100] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("MESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
LEASE = 3.0
TERMINAL = {"completed", "partial", "failed", "cancelled", "rejected", "interrupted",
            "budget_exhausted"}  # fmt: skip
QUIET = {"DISCOVERY_LOG_LEVEL": "warning", "WORKER_LOG_LEVEL": "warning",
         "ORCH_LOG_LEVEL": "warning"}  # fmt: skip


def plan(i: int) -> dict[str, Any]:
    tasks = [
        {"task_id": "gen", "capability": "text_generation", "agent_id": "bench-fast",
         "input": {"tokens": 40}},
        {"task_id": "train", "capability": "text_generation", "agent_id": "careful",
         "input": {"tokens": 20, "rate": 10}, "depends_on": ["gen"]},
    ]  # fmt: skip
    return {"plan": {"tasks": tasks}, "options": {"on_disconnect": "continue"}}


class ChaosMesh:
    """The processes (see the module docstring); ``close`` stops every one of them."""

    def __init__(self, db_url: str, tmp: Path) -> None:
        self.tmp = tmp
        self.keys_log = tmp / "careful-keys.log"
        self.procs: dict[str, ServiceProcess] = {}
        dport = free_port()
        self._start("discovery", "mesh_discovery", dport,
                    {"DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "d.sqlite3")})  # fmt: skip
        self.procs["discovery"].wait_ready()  # the others need its URL to answer
        disc = self.procs["discovery"].url
        # The workers and the replicas start side by side (the replicas watch discovery).
        for n in (1, 2):
            port = free_port()
            self._start(f"fast-{n}", "bench.fast_worker", port,
                        {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": disc,
                         "WORKER_INSTANCE_ID": f"fast-{n}", "WORKER_LEASE_TTL_SECONDS": "3"})  # fmt: skip
            port = free_port()
            self._start(f"careful-{n}", "bench.fault_worker", port,
                        {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": disc,
                         "WORKER_INSTANCE_ID": f"careful-{n}", "FAULT_AGENT_ID": "careful",
                         "FAULT_RETRY_SAFE": "0", "FAULT_KEYS_LOG": str(self.keys_log),
                         "WORKER_DETACH_GRACE_SECONDS": "30", "WORKER_LEASE_TTL_SECONDS": "3"})  # fmt: skip
        for replica in ("a", "b"):
            port = free_port()
            self._start(replica, "mesh_orchestrator", port,
                        {"ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": disc,
                         "ORCH_DATABASE_URL": db_url, "ORCH_REPLICA_ID": f"orch-{replica}",
                         "ORCH_RUN_LEASE_SECONDS": str(LEASE), "ORCH_WATCH_WAIT_SECONDS": "1",
                         "ORCH_DB_PATH": str(tmp / f"{replica}.sqlite3"),
                         "ORCH_PLANNER": "deterministic", "ORCH_IN_DOUBT": "fail",
                         "ORCH_STREAM_IDLE_SECONDS": "5", "ORCH_MAX_RUNS_PER_CLIENT": "100000"})  # fmt: skip
        try:
            for proc in self.procs.values():
                proc.wait_ready()
            for replica in ("a", "b"):
                wait_until(lambda r=replica: self._sees_all(r), timeout=60, what="the workers")
        except BaseException:
            self.close()  # the caller never gets this mesh to close
            raise

    def _start(self, name: str, module: str, port: int, env: dict[str, str]) -> None:
        """Launch ``module`` as ``name``; ``__init__`` waits for every one to be healthy."""
        self.procs[name] = ServiceProcess(module, port, {**QUIET, **env}, cwd=ROOT).launch()

    def _sees_all(self, replica: str) -> bool:
        agents = httpx.get(self.procs[replica].url + "/v1/agents", timeout=2).json()
        return len({a["descriptor"]["instance_id"] for a in agents}) >= 4

    @property
    def replicas(self) -> list[ServiceProcess]:
        return [self.procs["a"], self.procs["b"]]

    def close(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.proc is not None and proc.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.proc.pid, signal.SIGCONT)
                proc.stop(grace=3)

    def started_twice(self, run_ids: set[str]) -> list[str]:
        """``train`` tasks of ``run_ids`` whose run started more than once, at any worker:
        each as ``<run>:<task>`` with where and under which keys it started."""
        if not self.keys_log.exists():
            return []
        starts: dict[str, list[str]] = {}
        for line in self.keys_log.read_text().splitlines():
            instance, key = line.split(" ", 1)
            run_task = key.rsplit(":", 1)[0]
            if run_task.split(":")[0] in run_ids:
                starts.setdefault(run_task, []).append(f"{instance} {key.rsplit(':', 1)[1]}")
        return [f"{rt} ({', '.join(s)})" for rt, s in starts.items() if len(s) > 1]


@dataclass
class Phase:
    name: str
    runs: int = 0
    completed: int = 0
    failed_clearly: int = 0
    stuck: int = 0
    results_lost: int = 0
    executed_twice: int = 0
    faults: list[str] = field(default_factory=list)
    # what went wrong, for a look: stuck runs (id, last status seen: "unknown" when no
    # replica knows it) and tasks started twice (where, which attempt)
    stuck_runs: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    p50_ms: float | None = None
    p99_ms: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    # why tasks failed (their ``failed`` status's reason, numbers and ids masked), counted
    why_failed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def _any(mesh: ChaosMesh, c: httpx.AsyncClient, method: str, path: str) -> Any:
    """A request to whichever replica answers (``b`` may be down)."""
    for orch in random.sample(mesh.replicas, 2):
        with contextlib.suppress(httpx.HTTPError, ValueError):
            r = await c.request(method, orch.url + path)
            if r.status_code == 200:
                return r.json()
    return None


async def _start_run(mesh: ChaosMesh, c: httpx.AsyncClient, i: int) -> str | None:
    for attempt in range(20):
        orch = mesh.replicas[(i + attempt) % 2]
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            async for msg in read_sse(c, "POST", orch.url + "/orchestrate/stream", json=plan(i)):
                return str(msg.json()["run_id"])
        await asyncio.sleep(0.2)
    return None


async def _chaos(mesh: ChaosMesh, every: float, limit: int, out: list[str],
                 rng: random.Random, load_done: asyncio.Event) -> None:  # fmt: skip
    """Faults until ``limit`` or the load is over; each fault is undone before the next
    (a killed process restarted, a stopped one continued), never left half-way."""
    killed_b = False
    for n in range(limit):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(load_done.wait(), every)
        if load_done.is_set():
            return
        t = time.monotonic()
        if n == 0:  # the replica and discovery at once first, so every phase has both
            for name in ("b", "discovery"):
                mesh.procs[name].kill()
            killed_b = True
            await asyncio.sleep(2.0)
            await asyncio.gather(
                *(asyncio.to_thread(mesh.procs[p].start) for p in ("b", "discovery"))
            )
            took = f" ({time.monotonic() - t:.1f}s)"
            out.extend([f"kill_orchestrator_b{took}", f"kill_discovery{took}"])
            continue
        kinds = ["kill_worker", "stop_worker", "kill_discovery"] + ([] if killed_b else ["kill_b"])
        kind = rng.choice(kinds)
        if kind in ("kill_worker", "stop_worker"):
            name = rng.choice(["fast-1", "fast-2", "careful-1", "careful-2"])
            proc = mesh.procs[name]
            assert proc.proc is not None
            if kind == "kill_worker":
                proc.kill()
                await asyncio.sleep(1.0)
                await asyncio.to_thread(proc.start)
            else:
                os.kill(proc.proc.pid, signal.SIGSTOP)
                await asyncio.sleep(3.0)
                os.kill(proc.proc.pid, signal.SIGCONT)
            out.append(f"{kind} {name}")
        else:
            name = "b" if kind == "kill_b" else "discovery"
            killed_b = killed_b or kind == "kill_b"
            proc = mesh.procs[name]
            proc.kill()
            await asyncio.sleep(2.0 if name == "b" else 1.0)
            await asyncio.to_thread(proc.start)
            out.append(f"{kind.replace('_b', '_orchestrator_b')}")
        out[-1] += f" ({time.monotonic() - t:.1f}s)"


async def _lost(
    mesh: ChaosMesh, c: httpx.AsyncClient, run_id: str, why: dict[str, int] | None = None
) -> int:
    """Tasks completed in the run's log whose output is missing from its final results;
    ``why``: each failed task's reason (masked) counted there."""
    orch = mesh.procs["a"]
    events = [m.json() async for m in read_sse(c, "GET", f"{orch.url}/v1/runs/{run_id}/events")]
    if why is not None:
        for e in events:
            if e["type"] == "status" and e["data"].get("status") == "failed" and e["task_id"]:
                reason = re.sub(r"[0-9a-f]{8,}|\d+(\.\d+)?", "N", str(e["data"].get("reason")))
                why[reason[:90]] = why.get(reason[:90], 0) + 1
    done = {e["task_id"] for e in events
            if e["type"] == "status" and e["data"].get("status") == "completed" and e["task_id"]}  # fmt: skip
    answer = next((e for e in events if e["type"] == "result" and e["task_id"] is None), None)
    results = (answer or {}).get("data", {}).get("results", {})
    return sum(1 for t in done if (results.get(t) or {}).get("status") != "completed")


async def run_phase(mesh: ChaosMesh, name: str, n: int, in_flight: int, deadline: float,
                    chaos: tuple[float, int] | None, seed: int) -> Phase:  # fmt: skip
    phase = Phase(name, runs=n)
    started: list[str] = []
    ended: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    chaos_task = None
    load_done = asyncio.Event()
    async with httpx.AsyncClient(timeout=30) as c:
        if chaos is not None:
            chaos_task = asyncio.create_task(
                _chaos(mesh, chaos[0], chaos[1], phase.faults, random.Random(seed), load_done)
            )

        async def poll() -> None:
            for run_id in [r for r in started if r not in ended]:
                rec = await _any(mesh, c, "GET", f"/v1/runs/{run_id}")
                if rec is not None and rec.get("status") in TERMINAL:
                    ended[run_id] = rec

        for i in range(n):
            while len(started) - len(ended) >= in_flight:
                await poll()
                await asyncio.sleep(0.2)
            run_id = await _start_run(mesh, c, i)
            if run_id is not None:
                started.append(run_id)
        last_start = time.monotonic()
        while len(ended) < len(started) and time.monotonic() - last_start < deadline:
            await poll()
            await asyncio.sleep(0.5)
        load_done.set()
        if chaos_task is not None:
            await chaos_task  # its last fault undone
        phase.seconds = round(time.monotonic() - t0, 1)
        phase.stuck = len(started) - len(ended) + (n - len(started))
        for run_id in [r for r in started if r not in ended][:10]:
            rec = await _any(mesh, c, "GET", f"/v1/runs/{run_id}")
            phase.stuck_runs.append(f"{run_id} {(rec or {}).get('status', 'unknown')}")
        for rec in ended.values():
            status = rec["status"]
            phase.statuses[status] = phase.statuses.get(status, 0) + 1
            phase.completed += status == "completed"
            phase.failed_clearly += status != "completed"
        for run_id, rec in ended.items():
            why = phase.why_failed if rec["status"] != "completed" else None
            phase.results_lost += await _lost(mesh, c, run_id, why)
    phase.twice = mesh.started_twice(set(started))
    phase.executed_twice = len(phase.twice)
    times = [1000 * (r["finished_at"] - r["created_at"]) for r in ended.values()
             if r.get("finished_at") and r.get("created_at")]  # fmt: skip
    if times:
        phase.p50_ms = round(statistics.median(times), 1)
        phase.p99_ms = round(sorted(times)[max(0, int(len(times) * 0.99) - 1)], 1)
    return phase


async def measure(runs: int, in_flight: int, deadline: float, every: float, max_faults: int,
                  seed: int, *, baseline: bool = True) -> dict[str, Any]:  # fmt: skip
    """Both phases on one mesh (``baseline=False``: the chaos phase alone)."""
    name = f"mesh_chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    mesh = None
    try:
        with tempfile.TemporaryDirectory(prefix="mesh-chaos-") as tmp:
            url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
            mesh = await asyncio.to_thread(ChaosMesh, url, Path(tmp))
            base = Phase("baseline")
            if baseline:
                base = await run_phase(mesh, "baseline", runs, in_flight, deadline, None, seed)
            wild = await run_phase(
                mesh, "chaos", runs, in_flight, deadline, (every, max_faults), seed
            )
            return {"runs": runs, "in_flight": in_flight, "lease_s": LEASE,
                    "baseline": asdict(base), "chaos": asdict(wild)}  # fmt: skip
    finally:
        if mesh is not None:
            await asyncio.to_thread(mesh.close)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def report(result: dict[str, Any]) -> str:
    rows = ["completed", "failed_clearly", "stuck", "results_lost", "executed_twice",
            "p50_ms", "p99_ms", "seconds"]  # fmt: skip
    base, wild = result["baseline"], result["chaos"]
    lines = [f"{result['runs']} runs, at most {result['in_flight']} in flight, "
             f"lease {result['lease_s']:g}s", f"{'':16}{'baseline':>12}{'chaos':>12}"]  # fmt: skip
    lines += [f"{k:16}{base[k]!s:>12}{wild[k]!s:>12}" for k in rows]
    lines.append(f"final statuses under chaos: {wild['statuses']}")
    lines.append("faults: " + "; ".join(wild["faults"]))
    if wild["why_failed"]:
        why = sorted(wild["why_failed"].items(), key=lambda kv: -kv[1])
        lines.append("why tasks failed: " + "; ".join(f"{n} x {r}" for r, n in why))
    for what in ("stuck_runs", "twice"):
        if wild[what]:
            lines.append(f"{what}: " + "; ".join(wild[what]))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--in-flight", type=int, default=40)
    p.add_argument("--deadline", type=float, default=120.0, help="seconds after the last start")
    p.add_argument("--chaos-every", type=float, default=0.5)
    p.add_argument("--max-faults", type=int, default=12)
    p.add_argument("--seed", type=int, default=4)
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args()
    runs, in_flight = max(1, min(a.runs, 2000)), max(1, min(a.in_flight, 500))  # bounded
    result = asyncio.run(measure(runs, in_flight, a.deadline, a.chaos_every,
                                 max(0, min(a.max_faults, 50)), a.seed))  # fmt: skip
    print(report(result))
    if a.json:
        a.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
