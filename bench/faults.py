"""Failover and stall detection, measured on real processes (``python -m bench`` runs it last).

Its own small mesh, apart from the relay measurements: discovery, an orchestrator with
``ORCH_STREAM_IDLE_SECONDS`` = ``IDLE_SECONDS`` and a *catcher* replica of
``bench.fault_worker`` (priority 0). Each repetition starts a fresh *victim* replica of the
same agent with priority 1 (so it serves the task), streams a one-task plan through the
orchestrator, and after ``STRIKE_AFTER`` tokens from the victim:

* **failover**: kill -9 of the victim. The figure is the time from the kill to the first
  token of the retry (attempt 2, on the catcher) as the client reads it; the time to the
  ``retrying`` status is kept beside it. The orchestrator sees the connection drop (the
  kernel closes a killed process's sockets), so this is failover after a connection failure.
* **stall**: SIGSTOP of the victim. The figure is the time from the stop to the ``retrying``
  status: the idle timeout itself plus what it takes to act on it; reported against
  ``IDLE_SECONDS`` (target: within idle + 1 s).

After each repetition the victim is killed and deregistered, so the next run's routing is
not disturbed by a dead instance whose lease has not lapsed yet (the fault suite covers
that case).
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.measure import summary_ms
from mesh_contracts import aiter_sse
from mesh_testkit import ServiceProcess, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
AGENT = "bench-fault"
IDLE_SECONDS = 2.0
STRIKE_AFTER = 10  # victim tokens read before the kill / stop
TOKENS, RATE = 100, 100.0  # per attempt: a second of streaming
QUIET = "warning"


class FaultBench:
    """The processes; a context manager that always stops them (by PID)."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="mesh-bench-faults-")
        tmp = Path(self._tmp.name)
        dport = free_port()
        self.discovery = ServiceProcess(
            "mesh_discovery", dport,
            {"DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "discovery.sqlite3"),
             "DISCOVERY_LOG_LEVEL": QUIET},
            cwd=ROOT,
        )  # fmt: skip
        oport = free_port()
        self.orchestrator = ServiceProcess(
            "mesh_orchestrator", oport,
            {"ORCH_PORT": str(oport), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DB_PATH": str(tmp / "orchestrator.sqlite3"), "ORCH_LOG_LEVEL": QUIET,
             "ORCH_STREAM_IDLE_SECONDS": str(IDLE_SECONDS), "ORCH_PLANNER": "deterministic"},
            cwd=ROOT,
        )  # fmt: skip
        self.catcher = self.replica("catcher", priority=0)
        self.procs = [self.orchestrator, self.catcher, self.discovery]

    def replica(self, name: str, priority: int) -> ServiceProcess:
        port = free_port()
        return ServiceProcess(
            "bench.fault_worker", port,
            {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": self.discovery.url,
             "WORKER_INSTANCE_ID": f"{AGENT}-{name}", "WORKER_LOG_LEVEL": QUIET,
             "WORKER_PING_SECONDS": "0.5", "WORKER_SHUTDOWN_GRACE_SECONDS": "1",
             "FAULT_AGENT_ID": AGENT, "FAULT_PRIORITY": str(priority)},
            cwd=ROOT,
        )  # fmt: skip

    def __enter__(self) -> FaultBench:
        try:
            self.discovery.start()
            self.orchestrator.launch()  # side by side with the catcher
            self.catcher.launch().wait_ready()
            self.orchestrator.wait_ready()
            self.routed(f"{AGENT}-catcher")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.alive and p.proc is not None:
                os.kill(p.proc.pid, signal.SIGCONT)
            p.stop(grace=5)
        self._tmp.cleanup()

    def routed(self, instance_id: str, present: bool = True) -> None:
        def seen() -> bool:
            rows = httpx.get(self.orchestrator.url + "/v1/agents", timeout=5).json()
            ids = {r["descriptor"]["instance_id"] for r in rows if r["status"] == "passing"}
            return (instance_id in ids) is present

        wait_until(seen, timeout=30, what=f"{instance_id} routed={present}")


async def _strike(bench: FaultBench, client: httpx.AsyncClient, sig: int) -> dict[str, float]:
    """One repetition: seconds from the signal to the ``retrying`` status and to attempt
    2's first token."""
    victim = bench.replica(f"victim-{time.monotonic_ns()}", priority=1)
    bench.procs.append(victim)
    victim.start()
    vid = victim.env["WORKER_INSTANCE_ID"]
    bench.routed(vid)
    task = {"task_id": "t", "capability": "text_generation", "agent_id": AGENT,
            "input": {"tokens": TOKENS, "rate": RATE}}  # fmt: skip
    body = {"plan": {"tasks": [task]}, "options": {"on_disconnect": "cancel"}}
    struck = retrying = first = None
    seen = 0
    url = bench.orchestrator.url + "/orchestrate/stream"
    try:
        async with client.stream("POST", url, json=body) as resp:
            async for msg in aiter_sse(resp.aiter_bytes()):
                e = msg.json()
                data = e["data"]
                if e["type"] == "token" and data["attempt"] == 1:
                    seen += 1
                    if seen == STRIKE_AFTER:
                        assert victim.proc is not None and data["token"].startswith(vid)
                        struck = time.perf_counter()
                        os.kill(victim.proc.pid, sig)
                elif e["type"] == "status" and data.get("status") == "retrying":
                    retrying = time.perf_counter()
                elif e["type"] == "token" and data["attempt"] == 2:
                    first = time.perf_counter()
                    break  # leaving cancels the run (on_disconnect: cancel)
                elif e["type"] == "done":
                    break
    finally:
        if victim.proc is not None and victim.alive:
            os.kill(victim.proc.pid, signal.SIGCONT)
        victim.kill()
        await client.delete(f"{bench.discovery.url}/v1/agents/{vid}")
    if struck is None or retrying is None or first is None:
        raise RuntimeError(f"no retry seen (signal {sig}, {seen} victim tokens)")
    bench.routed(vid, present=False)
    return {"retrying": retrying - struck, "first_event": first - struck}


async def measure(*, failovers: int, stalls: int) -> dict[str, Any]:
    """Both figures, ``failovers`` and ``stalls`` repetitions."""
    with FaultBench() as bench:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=30.0)) as client:
            kills = [await _strike(bench, client, signal.SIGKILL) for _ in range(failovers)]
            stops = [await _strike(bench, client, signal.SIGSTOP) for _ in range(stalls)]
    stall_s = [s["retrying"] for s in stops]
    return {
        "idle_seconds": IDLE_SECONDS,
        "failover": summary_ms([k["first_event"] for k in kills]),
        "failover_to_retrying_status": summary_ms([k["retrying"] for k in kills]),
        "stall": summary_ms(stall_s),
        "stall_over_idle": summary_ms([s - IDLE_SECONDS for s in stall_s]),
        "stall_to_first_event": summary_ms([s["first_event"] for s in stops]),
    }


def run(*, failovers: int, stalls: int, time_limit: float) -> dict[str, Any]:
    return asyncio.run(asyncio.wait_for(measure(failovers=failovers, stalls=stalls), time_limit))
