"""The mesh the fault suite breaks: real processes on loopback, and what a case reads back.

``FaultMesh`` holds discovery, one orchestrator with short fault timings (``ORCH_ENV``) and
the project's analyst and lookup workers, for the whole session. Each case adds its own
replicas of ``bench.fault_worker`` under an agent id of its own (``replicas``), so one
case's dead or ejected instances never route another's tasks; they are stopped by PID
when the case ends. ``Run`` is one run's events, every orchestrator payload parsed with
``mesh_contracts.parse_run_payload`` (a payload that does not fit its type fails the case).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from mesh_contracts import RunAnswer, RunEnded, TaskOutput, TaskRetrying, parse_run_payload
from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until

ROOT = Path(__file__).resolve().parents[2]
IDLE_SECONDS = 2.0  # ORCH_STREAM_IDLE_SECONDS
STALL_SLACK_SECONDS = 8.0  # a stall must be cut this soon after the idle time (task timeout: 300 s)
BREAKER_FAILURES = 3
CONNECT_TIMEOUT_SECONDS = 1.0
# Where registered endpoints may point (discovery and the orchestrator both check): loopback,
# and the partition case's private /30.
PARTITION_SUBNET = "10.237.91.0/30"
ALLOWED_NETWORKS = f"127.0.0.0/8,{PARTITION_SUBNET}"
ORCH_ENV = {
    "ORCH_STREAM_IDLE_SECONDS": str(IDLE_SECONDS),
    "ORCH_BREAKER_FAILURES": str(BREAKER_FAILURES),
    # Longer than any case: an ejected instance gets no half-open trial while a case counts
    # its calls.
    "ORCH_BREAKER_EJECTION_SECONDS": "60",
    "ORCH_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_SECONDS),
    "ORCH_DISCOVERY_RETRY_SECONDS": "0.2",
    "ORCH_PLANNER": "deterministic",  # every case sends its plan; no embedding model to load
    "ORCH_LOG_LEVEL": "warning",
    "ORCH_ALLOWED_NETWORKS": ALLOWED_NETWORKS,
}
WORKER_ENV = {
    "WORKER_PING_SECONDS": "0.5",  # well under the idle time: a quiet stream is not a stall
    "WORKER_LEASE_TTL_SECONDS": "30",  # a killed replica stays "passing": the breaker must act
    "WORKER_SHUTDOWN_GRACE_SECONDS": "1",
    "WORKER_LOG_LEVEL": "warning",
}
CSV = "city,temp,rain\nOslo,4,80\nRome,18,40\nCairo,30,2\nLima,19,1\n"
T = TypeVar("T")


def start_all(procs: Iterable[ServiceProcess]) -> None:
    """Start processes side by side (each start waits for its /health)."""
    procs = list(procs)
    with ThreadPoolExecutor(max(1, len(procs))) as pool:
        for f in [pool.submit(p.start) for p in procs]:
            f.result()


def release(procs: Iterable[ServiceProcess]) -> None:
    """Stop processes by PID: a stopped (SIGSTOP) one is continued first."""
    for p in procs:
        if p.alive and p.proc is not None:
            os.kill(p.proc.pid, signal.SIGCONT)
            p.stop(grace=5)
        else:
            p.kill()  # already ended (a case killed it): closes its log


async def until(check: Callable[[], Awaitable[T | None]], *, within: float, what: str) -> T:
    """Poll ``check`` every 50 ms until it returns something; fail past ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Run:
    """One run's events as the client read them, each orchestrator payload typed."""

    events: list[dict[str, Any]]
    typed: list[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.typed = [parse_run_payload(e["type"], e["data"], e["task_id"]) for e in self.events]

    @property
    def run_id(self) -> str:
        return str(self.events[0]["run_id"])

    def payloads(self, kind: type[T], task_id: str | None = None) -> list[T]:
        return [
            p
            for e, p in zip(self.events, self.typed, strict=True)
            if isinstance(p, kind) and (task_id is None or e["task_id"] == task_id)
        ]

    def tokens(self, task_id: str, attempt: int | None = None) -> list[str]:
        return [
            e["data"]["token"]
            for e in self.events
            if e["type"] == "token"
            and e["task_id"] == task_id
            and (attempt is None or e["data"]["attempt"] == attempt)
        ]

    def retries(self, task_id: str) -> list[TaskRetrying]:
        return self.payloads(TaskRetrying, task_id)

    def answer(self) -> RunAnswer:
        """The run-level result; asserts the run ended with ``result`` then ``done``."""
        assert [e["type"] for e in self.events[-2:]] == ["result", "done"], self.events[-3:]
        assert self.events[-2]["task_id"] is None
        answer, ended = self.typed[-2], self.typed[-1]
        assert isinstance(answer, RunAnswer) and isinstance(ended, RunEnded)
        assert ended.status == answer.status
        return answer

    def assert_kept(self) -> RunAnswer:
        """Every sub-task whose output went out is in the run's result, that same output."""
        answer = self.answer()
        outputs = {
            e["task_id"]: p.output
            for e, p in zip(self.events, self.typed, strict=True)
            if isinstance(p, TaskOutput)
        }
        assert outputs, "no sub-task completed"
        for task_id, output in outputs.items():
            kept = answer.results[task_id]
            assert kept.status == "completed" and kept.output == output, (task_id, kept)
        return answer


class FaultMesh:
    """Discovery, the orchestrator, analyst and lookup; ``replica`` builds fault workers."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        dport = free_port()
        self.discovery = ServiceProcess(
            "mesh_discovery",
            dport,
            {"DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "discovery.sqlite3"),
             "DISCOVERY_LOG_LEVEL": "warning", "DISCOVERY_ALLOWED_NETWORKS": ALLOWED_NETWORKS},
            cwd=ROOT,
        )  # fmt: skip
        oport = free_port()
        self.orchestrator = ServiceProcess(
            "mesh_orchestrator",
            oport,
            {**ORCH_ENV, "ORCH_PORT": str(oport), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DB_PATH": str(tmp / "orchestrator.sqlite3")},
            cwd=ROOT,
        )  # fmt: skip
        self.url = self.orchestrator.url
        self.workers = {
            name: self._worker(f"mesh_worker_{name}", name) for name in ("analyst", "lookup")
        }

    def _worker(
        self, module: str, instance_id: str, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        port = free_port()
        return ServiceProcess(
            module,
            port,
            {**WORKER_ENV, "WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": self.discovery.url,
             "WORKER_INSTANCE_ID": instance_id, **(env or {})},
            cwd=ROOT,
        )  # fmt: skip

    def start(self) -> None:
        self.discovery.start()
        start_all([self.orchestrator, *self.workers.values()])
        self.wait_for(self.workers.values())

    def stop(self) -> None:
        release([self.orchestrator, *self.workers.values(), self.discovery])

    def replica(self, agent_id: str, n: int, **fault: str) -> ServiceProcess:
        """Replica ``n`` of ``agent_id`` (instance ``{agent_id}-{n}``), not started;
        ``fault`` sets the worker's FAULT_* settings (mode="error500", priority="1" ...)."""
        env = {"FAULT_AGENT_ID": agent_id, **{f"FAULT_{k.upper()}": v for k, v in fault.items()}}
        return self._worker("bench.fault_worker", f"{agent_id}-{n}", env)

    def agents(self) -> dict[str, dict[str, Any]]:
        """The orchestrator's ``GET /v1/agents``, by instance id."""
        rows = httpx.get(self.url + "/v1/agents", timeout=5).json()
        return {r["descriptor"]["instance_id"]: r for r in rows}

    def breaker(self, instance_id: str) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.agents()[instance_id]["breaker"]
        return snapshot

    def wait_for(self, procs: Iterable[ServiceProcess], timeout: float = 30) -> None:
        """Until the orchestrator routes by every one of ``procs`` (registered, passing)."""
        ids = {p.env["WORKER_INSTANCE_ID"] for p in procs}

        def seen() -> bool:
            agents = self.agents()
            return all(i in agents and agents[i]["status"] == "passing" for i in ids)

        wait_until(seen, timeout=timeout, what=f"the orchestrator to see {sorted(ids)}")

    async def stream(
        self,
        body: dict[str, Any],
        on_event: Callable[[dict[str, Any]], Awaitable[bool | None]] | None = None,
        *,
        within: float = 60,
    ) -> Run:
        """POST /orchestrate/stream and read to ``done``; ``on_event`` sees each event as it
        arrives and may return True to leave the stream there (the client drops)."""
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(within), httpx.AsyncClient(timeout=30) as c:
            async for msg in read_sse(c, "POST", self.url + "/orchestrate/stream", json=body):
                events.append(msg.json())
                if on_event is not None and await on_event(events[-1]):
                    break
                if events[-1]["type"] == "done":
                    break
        return Run(events)

    async def replay(self, run_id: str, after: int = 0) -> Run:
        """Every stored event with seq > ``after`` (``Last-Event-ID``), to the run's end."""
        url = f"{self.url}/v1/runs/{run_id}/events"
        headers = {"Last-Event-ID": str(after)}
        async with asyncio.timeout(30), httpx.AsyncClient(timeout=30) as c:
            return Run([m.json() async for m in read_sse(c, "GET", url, headers=headers)])


def plan(*tasks: dict[str, Any], **options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"plan": {"tasks": list(tasks)}}
    if options:
        body["options"] = options
    return body


def text_task(agent_id: str, tokens: int = 30, rate: float = 40, task_id: str = "text") -> Any:
    return {"task_id": task_id, "capability": "text_generation", "agent_id": agent_id,
            "input": {"tokens": tokens, "rate": rate}}  # fmt: skip


def lookup_task(task_id: str = "facts", pinned: bool = True) -> dict[str, Any]:
    task: dict[str, Any] = {"task_id": task_id, "capability": "search",
                            "input": {"query": "What is the speed of light?"}}  # fmt: skip
    if pinned:
        task["agent_id"] = "lookup"
    return task


def analyst_task(task_id: str = "table") -> dict[str, Any]:
    return {"task_id": task_id, "capability": "data_analysis", "agent_id": "analyst",
            "input": {"data": CSV}}  # fmt: skip
