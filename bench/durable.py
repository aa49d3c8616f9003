"""Runs across orchestrator replicas, measured on real processes and the local Postgres.

Its own small mesh: discovery, one ``bench.fault_worker`` (streams tokens at ``RATE`` per
second: ``TOKENS`` for the latency, fewer with ``--quick``) and two orchestrators, ``a`` and
``b``, on a Postgres database created for the measurement and dropped after it, with
``ORCH_RUN_LEASE_SECONDS`` = ``LEASE``.

* **cross-replica event latency**: a run starts on ``a``; one client reads it from ``a``
  (the replica executing it) and one from ``b`` (which follows it through the store, woken
  by LISTEN/NOTIFY per stored batch). For each token event: the time it reached the
  ``b`` client minus the time the same event (same id) reached the ``a`` client. Target:
  <= 100 ms p50.
* **cancel elsewhere**: a cancel sent to ``b`` for a run ``a`` executes; the time until the
  worker's call ended (its cancelled count at ``/health``). Target: < 1 s.
* **handover**: a run starts on ``a``, a client follows it on ``b``; after a few tokens
  ``a`` is killed (kill -9). The figure is the time from the kill to the first event from
  the new owner (``b``'s ``resumed`` status) at the client. Target: <= lease + 2 s. ``a`` is
  started again before the next repetition.

Skipped (with the reason in the results) when no Postgres answers.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.measure import summary_ms
from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("MESH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
LEASE = 2.0
RATE = 20.0
TOKENS = 200


def _plan(tokens: int, rate: float) -> dict[str, Any]:
    task = {"task_id": "gen", "capability": "text_generation", "agent_id": "durable",
            "input": {"tokens": tokens, "rate": rate}}  # fmt: skip
    return {"plan": {"tasks": [task]}, "options": {"on_disconnect": "continue"}}


class _Mesh:
    def __init__(self, db_url: str, tmp: Path) -> None:
        self.db_url, self.tmp = db_url, tmp
        self.procs: list[ServiceProcess] = []
        dport = free_port()
        self.discovery = self._start(
            "mesh_discovery",
            dport,
            {"DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "d.sqlite3"),
             "DISCOVERY_LOG_LEVEL": "warning"},
        )  # fmt: skip
        wport = free_port()
        # The worker and both orchestrators start side by side (they watch discovery).
        self._launch(
            "bench.fault_worker",
            wport,
            {"WORKER_PORT": str(wport), "WORKER_DISCOVERY_URL": self.discovery.url,
             "WORKER_INSTANCE_ID": "durable-1", "FAULT_AGENT_ID": "durable",
             "WORKER_LOG_LEVEL": "warning"},
        )  # fmt: skip
        self.a = self.launch_orchestrator("a")
        self.b = self.launch_orchestrator("b")
        for proc in self.procs:
            proc.wait_ready()
        self.ready(self.a)
        self.ready(self.b)

    def _start(self, module: str, port: int, env: dict[str, str]) -> ServiceProcess:
        return self._launch(module, port, env).wait_ready()

    def _launch(self, module: str, port: int, env: dict[str, str]) -> ServiceProcess:
        proc = ServiceProcess(module, port, env, cwd=ROOT).launch()
        self.procs.append(proc)
        return proc

    def orchestrator(self, replica: str) -> ServiceProcess:
        """Start replica ``replica``; return once it is healthy and sees the worker."""
        orch = self.launch_orchestrator(replica).wait_ready()
        self.ready(orch)
        return orch

    def launch_orchestrator(self, replica: str) -> ServiceProcess:
        port = free_port()
        return self._launch(
            "mesh_orchestrator",
            port,
            {"ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DATABASE_URL": self.db_url, "ORCH_REPLICA_ID": replica,
             "ORCH_RUN_LEASE_SECONDS": str(LEASE), "ORCH_PLANNER": "deterministic",
             "ORCH_LOG_LEVEL": "warning", "ORCH_DB_PATH": str(self.tmp / f"{replica}.sqlite3")},
        )  # fmt: skip

    def ready(self, orch: ServiceProcess) -> None:
        def sees_worker() -> bool:
            agents = httpx.get(orch.url + "/v1/agents", timeout=2).json()
            return any(a["descriptor"]["agent_id"] == "durable" for a in agents)

        wait_until(sees_worker, timeout=30, what="the orchestrator to see the worker")

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.proc is not None and proc.proc.poll() is None:
                proc.stop(grace=3)


async def _stored(c: httpx.AsyncClient, orch: ServiceProcess, run_id: str) -> None:
    """Wait until ``orch`` knows the run (its row is stored with the owner's first flush,
    within ORCH_FLUSH_INTERVAL_SECONDS of its start)."""
    async with asyncio.timeout(5):
        while (await c.get(f"{orch.url}/v1/runs/{run_id}")).status_code == 404:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def _read(
    c: httpx.AsyncClient, method: str, url: str, arrivals: dict[int, float], **kw: Any
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for msg in read_sse(c, method, url, **kw):
        e = msg.json()
        arrivals.setdefault(e["seq"], time.perf_counter())
        out.append(e)
        if e["type"] == "done":
            break
    return out


async def _latency(mesh: _Mesh, tokens: int) -> dict[str, Any]:
    at_a: dict[int, float] = {}
    at_b: dict[int, float] = {}
    async with httpx.AsyncClient(timeout=120) as c:
        first: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def on_a() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            body = _plan(tokens, RATE)
            async for msg in read_sse(c, "POST", mesh.a.url + "/orchestrate/stream", json=body):
                e = msg.json()
                at_a.setdefault(e["seq"], time.perf_counter())
                out.append(e)
                if not first.done():
                    first.set_result(e["run_id"])
                if e["type"] == "done":
                    break
            return out

        a_task = asyncio.create_task(on_a())
        run_id = await first
        await _stored(c, mesh.b, run_id)
        b_events = await _read(c, "GET", f"{mesh.b.url}/v1/runs/{run_id}/events", at_b)
        a_events = await a_task
    tokens = [e["seq"] for e in a_events if e["type"] == "token"]
    lags = [at_b[s] - at_a[s] for s in tokens if s in at_b]
    return {
        "tokens": len(tokens),
        "seen_on_b": sum(1 for e in b_events if e["type"] == "token"),
        "latency": summary_ms(lags),
    }


async def _cancel(mesh: _Mesh) -> float:
    """A cancel sent to ``b`` for a run ``a`` executes: seconds until the worker's call
    ended (its ``cancelled`` count at /health went up)."""
    worker = mesh.procs[1]
    async with httpx.AsyncClient(timeout=30) as c:
        before = int((await c.get(worker.url + "/health")).json()["cancelled"])
        run_id = ""
        async for msg in read_sse(
            c, "POST", mesh.a.url + "/orchestrate/stream", json=_plan(200, RATE)
        ):
            e = msg.json()
            run_id = e["run_id"]
            if e["type"] == "token":
                break
        await _stored(c, mesh.b, run_id)
        sent = time.perf_counter()
        await c.post(f"{mesh.b.url}/v1/runs/{run_id}/cancel")
        async with asyncio.timeout(30):
            while int((await c.get(worker.url + "/health")).json()["cancelled"]) <= before:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        return time.perf_counter() - sent


async def _handover(mesh: _Mesh) -> dict[str, Any]:
    arrivals: dict[int, float] = {}
    async with httpx.AsyncClient(timeout=120) as c:
        run_id = ""
        async for msg in read_sse(
            c, "POST", mesh.a.url + "/orchestrate/stream", json=_plan(60, RATE)
        ):
            run_id = msg.json()["run_id"]
            break
        seen: list[dict[str, Any]] = []
        killed: list[float] = []
        await _stored(c, mesh.b, run_id)

        async def follow() -> None:
            url = f"{mesh.b.url}/v1/runs/{run_id}/events"
            async for msg in read_sse(c, "GET", url):
                e = msg.json()
                seen.append(e)
                arrivals.setdefault(e["seq"], time.perf_counter())
                tokens = sum(1 for x in seen if x["type"] == "token")
                if tokens == 5 and not killed:
                    killed.append(time.perf_counter())
                    mesh.a.kill()
                if e["type"] == "done":
                    return

        async with asyncio.timeout(LEASE + 60):
            await follow()
    resumed = next(e for e in seen if e["data"].get("status") == "resumed")
    return {
        "seconds": arrivals[resumed["seq"]] - killed[0],
        "ended": seen[-1]["data"].get("status"),
    }


def run(*, handovers: int = 3, tokens: int = TOKENS, time_limit: float = 300.0) -> dict[str, Any]:
    """Both measurements, the latency over a run of ``tokens`` tokens; ``{"skipped": reason}``
    without a Postgres to run them on."""
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            pass
    except Exception as exc:
        return {"skipped": f"no Postgres at {ADMIN_URL}: {type(exc).__name__}"}
    name = f"mesh_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    db_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    tmp = tempfile.TemporaryDirectory(prefix="mesh-bench-durable-")
    mesh: _Mesh | None = None
    try:
        mesh = _Mesh(db_url, Path(tmp.name))

        async def measure() -> dict[str, Any]:
            assert mesh is not None
            latency = await _latency(mesh, tokens)
            cancels = [await _cancel(mesh) for _ in range(max(2, handovers))]
            takes = []
            for _ in range(handovers):
                takes.append(await _handover(mesh))
                mesh.a = await asyncio.to_thread(mesh.orchestrator, "a")
            return {
                "lease_seconds": LEASE,
                "cross_replica": latency,
                "cancel_other_replica": summary_ms(cancels),
                "handover": summary_ms([t["seconds"] for t in takes]),
                "handover_runs_ended": [t["ended"] for t in takes],
            }

        return asyncio.run(asyncio.wait_for(measure(), time_limit))
    finally:
        if mesh is not None:
            mesh.close()
        tmp.cleanup()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
