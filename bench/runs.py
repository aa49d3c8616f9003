"""Run throughput: runs per second and orchestrator CPU per run at a fixed concurrency.

Its own mesh per run store: discovery, the fast worker and one orchestrator, on SQLite
(a file in a temporary folder) and on Postgres (a database created for the measurement and
dropped after it; skipped, with the reason, when no Postgres answers). On each, two loads
of ``runs`` runs, ``concurrency`` in flight at a time, each read to its ``done`` by the
bare asyncio client:

* **pinned**: a one-task plan pinned to the fast worker (16 tokens): no planner runs;
* **planned**: a query the planner plans (``QUERY``, one text-generation task, which only
  the fast worker serves). Its task's input names no ``tokens``; the worker is started with
  ``BENCH_FAST_TOKENS`` = the pinned plan's 16, so both loads relay 16 token events and
  planned minus pinned is the planner's share. (Until 2026-12-06 evening the worker's
  default, 100, applied: one orchestrator, SQLite, 4 rounds of 128 runs on a loaded 2-core
  machine: pinned, 16 tokens 3.24 ms a run; pinned, 100 tokens 4.82 ms; planned 6.09 ms,
  so the older "planned" figures hold ~1.6 ms of 84 more relayed events.)

Runs/s is runs over the wall time of the load; CPU per run is the orchestrator process's
CPU seconds over the load, divided by the runs: its threads' nanosecond counts
(``bench.procs.cpu_seconds_fine``, since round 13), with the 10 ms ticks' reading of
``/proc/<pid>/stat`` beside it (``orchestrator_cpu_ms_per_run_ticks``). A warm-up of ``concurrency``
runs of each kind comes first.

Each load runs twice: a connection per run (``pinned``, ``planned``: the client opens one,
sends ``Connection: close``, and the server closes it after the run; the figure of every
round before round 11), then over ``concurrency`` connections kept open from run to run
(``pinned_kept_alive``, ``planned_kept_alive``), as a client with a pool keeps them (httpx,
a browser, the OpenAI SDK): the orchestrator then makes no connection, no protocol object,
no accept and no close a run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.durable import ADMIN_URL
from bench.fast_worker import AGENT_ID
from bench.procs import cpu_seconds, cpu_seconds_fine, pid_of
from bench.sse_client import KeptAliveStreamer, RawStreamer
from mesh_testkit import ServiceProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
QUERY = "Write a short poem about the sea."
TOKENS = 16


def _pinned() -> dict[str, Any]:
    task = {"task_id": "gen", "capability": "text_generation", "agent_id": AGENT_ID,
            "input": {"tokens": TOKENS}}  # fmt: skip
    return {"plan": {"tasks": [task]}}


def _planned() -> dict[str, Any]:
    return {"query": QUERY}


class _Mesh:
    """Discovery, the fast worker and one orchestrator on ``store_env``."""

    def __init__(self, tmp: Path, store_env: dict[str, str]) -> None:
        self.procs: list[ServiceProcess] = []
        dport = free_port()
        discovery = self._start("mesh_discovery", dport, {
            "DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "d.sqlite3"),
            "DISCOVERY_LOG_LEVEL": "warning"})  # fmt: skip
        wport = free_port()
        # The worker and the orchestrator start side by side (it watches discovery).
        self._launch("bench.fast_worker", wport, {
            "WORKER_PORT": str(wport), "WORKER_DISCOVERY_URL": discovery.url,
            "WORKER_INSTANCE_ID": "runs-fast-1", "WORKER_LOG_LEVEL": "warning",
            "BENCH_FAST_TOKENS": str(TOKENS)})  # fmt: skip
        oport = free_port()
        self.orchestrator = self._launch("mesh_orchestrator", oport, {
            "ORCH_PORT": str(oport), "ORCH_DISCOVERY_URL": discovery.url,
            "ORCH_DB_PATH": str(tmp / "o.sqlite3"), "ORCH_LOG_LEVEL": "warning",
            **store_env})  # fmt: skip
        for proc in self.procs:
            proc.wait_ready()
        orch = self.orchestrator

        def ready() -> bool:
            health = httpx.get(orch.url + "/health", timeout=2).json()
            agents = httpx.get(orch.url + "/v1/agents", timeout=2).json()
            seen = any(a["descriptor"]["agent_id"] == AGENT_ID for a in agents)
            return seen and bool(health.get("planner_ready", True))

        wait_until(ready, timeout=120, what="the orchestrator to be ready")

    def _start(self, module: str, port: int, env: dict[str, str]) -> ServiceProcess:
        return self._launch(module, port, env).wait_ready()

    def _launch(self, module: str, port: int, env: dict[str, str]) -> ServiceProcess:
        proc = ServiceProcess(module, port, env, cwd=ROOT).launch()
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(grace=5)


async def _load(
    url: str, body: dict[str, Any], runs: int, concurrency: int, pid: int,
    *, keep_alive: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """``runs`` runs of ``body``, ``concurrency`` in flight, each on a connection of its own
    (``RawStreamer``), or, ``keep_alive``, on ``concurrency`` connections kept open from
    run to run (``KeptAliveStreamer``, as a client with a pool keeps them)."""
    kept = KeptAliveStreamer() if keep_alive else None
    stream: RawStreamer | KeptAliveStreamer = kept if kept is not None else RawStreamer()
    pending = iter(range(runs))
    failures: list[str] = []

    async def one_after_another() -> None:
        for _ in pending:
            t = await stream(url, body)
            if t.end not in ("completed", "done"):
                failures.append(t.end)

    ticks0, cpu0, t0 = cpu_seconds(pid), cpu_seconds_fine(pid), time.perf_counter()
    try:
        await asyncio.gather(*(one_after_another() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - t0, cpu_seconds_fine(pid) - cpu0
        ticks = cpu_seconds(pid) - ticks0
    finally:
        if kept is not None:
            await kept.close()
    # The CPU from the threads' nanosecond counts (``cpu_seconds_fine``); the 10 ms ticks'
    # reading of every round before 13 beside it.
    return {"runs": runs, "concurrency": concurrency, "seconds": wall, "runs_per_s": runs / wall,
            "orchestrator_cpu_ms_per_run": cpu * 1000 / runs,
            "orchestrator_cpu_ms_per_run_ticks": ticks * 1000 / runs, "failures": len(failures),
            "first_failure": failures[0] if failures else None}  # fmt: skip


def _measure(tmp: Path, store_env: dict[str, str], runs: int, concurrency: int) -> dict[str, Any]:
    mesh = _Mesh(tmp, store_env)
    try:
        url = mesh.orchestrator.url + "/orchestrate/stream"
        pid = pid_of(mesh.orchestrator)

        async def both() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for kept in (False, True):
                for name, body in (("pinned", _pinned()), ("planned", _planned())):
                    key = f"{name}_kept_alive" if kept else name
                    await _load(url, body, concurrency, concurrency, pid, keep_alive=kept)
                    out[key] = await _load(url, body, runs, concurrency, pid, keep_alive=kept)
            return out

        return asyncio.run(both())
    finally:
        mesh.close()


def run(*, runs: int = 400, concurrency: int = 16) -> dict[str, Any]:
    """Both loads on SQLite, then on Postgres (or ``{"skipped": reason}`` there)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mesh-bench-runs-") as tmp:
        out["sqlite"] = _measure(Path(tmp), {}, runs, concurrency)
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            pass
    except Exception as exc:
        out["postgres"] = {"skipped": f"no Postgres at {ADMIN_URL}: {type(exc).__name__}"}
        return out
    name = f"mesh_bench_runs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        env = {"ORCH_DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"}
        with tempfile.TemporaryDirectory(prefix="mesh-bench-runs-pg-") as tmp:
            out["postgres"] = _measure(Path(tmp), env, runs, concurrency)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return out
