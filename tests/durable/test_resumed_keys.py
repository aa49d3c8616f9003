"""Idempotency keys across a resume, on real processes (discovery, SDK workers, the
orchestrator restarted on its SQLite run store): a replica that takes a run up never calls a
worker under a key an earlier owner used for another call, and asks again under the key the
log says a call carried.

A run's log is stored in batches, so the owner that died may have gone on past what its log
says: here its log ends in iteration 2 of a loop (attempt 2 running), while it had already
run iteration 3 as attempt 3 on the same worker (what the test does first, with that
owner's key). The new owner restarts iteration 2 as a new attempt, attempt 3 by its log:
keyed ``<run>:<task>:<attempt>`` alone, that is iteration 3's key, and the worker replayed
iteration 3's answer as iteration 2's. Under the new owner's epoch the key is its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore
from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until

ROOT = Path(__file__).resolve().parents[2]
RUN = "r-keys"
LOOP = {
    "tasks": [
        {"task_id": "review", "capability": "data_analysis", "agent_id": "looper",
         "input": {"approve_at": 50}, "repeat_until": "output.approved", "max_iterations": 3}
    ]
}  # fmt: skip
ONCE = {
    "tasks": [
        {"task_id": "train", "capability": "text_generation", "agent_id": "careful",
         "input": {"tokens": 5}}
    ]
}  # fmt: skip


class Mesh:
    """Discovery and workers; ``orchestrator`` starts the replica ``orch-1`` on ``db``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.db = tmp, tmp / "orch.sqlite3"
        self.procs: list[ServiceProcess] = []
        port = free_port()
        self.discovery = self._start(
            "mesh_discovery",
            port,
            {"DISCOVERY_PORT": str(port), "DISCOVERY_DB_PATH": str(tmp / "disc.sqlite3")},
        )

    def _start(self, module: str, port: int, env: dict[str, str]) -> ServiceProcess:
        proc = ServiceProcess(module, port, env, cwd=ROOT).start()
        self.procs.append(proc)
        return proc

    def worker(self, module: str, agent: str, **env: str) -> ServiceProcess:
        """A worker, once discovery lists it (the restarted orchestrator reads the registry
        before it takes its runs up)."""
        port = free_port()
        proc = self._start(
            module,
            port,
            {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": self.discovery.url,
             "WORKER_INSTANCE_ID": f"{agent}-1", "WORKER_LEASE_TTL_SECONDS": "30", **env},
        )  # fmt: skip

        def listed() -> bool:
            agents = httpx.get(self.discovery.url + "/v1/agents", timeout=2).json()
            return agent in {a["descriptor"]["agent_id"] for a in agents}

        wait_until(listed, timeout=30, what=f"discovery to list {agent}")
        return proc

    def orchestrator(self) -> ServiceProcess:
        port = free_port()
        return self._start(
            "mesh_orchestrator",
            port,
            {"ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DB_PATH": str(self.db), "ORCH_REPLICA_ID": "orch-1",
             "ORCH_PLANNER": "deterministic", "ORCH_WATCH_WAIT_SECONDS": "1"},
        )  # fmt: skip

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(grace=3)


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    m = Mesh(tmp_path)
    try:
        yield m
    finally:
        m.close()


def ev(seq: int, type_: str, data: dict[str, Any], task_id: str | None, agent: str) -> StreamEvent:
    return StreamEvent(
        run_id=RUN, seq=seq, type=type_, task_id=task_id, agent_id=agent if task_id else None,
        data=data,
    )  # fmt: skip


async def died_with(
    db: Path, plan: dict[str, Any], log: list[tuple[str, dict[str, Any], str]]
) -> None:
    """What an owner (``orch-1``, epoch 1) that died leaves in its store: ``log`` (type,
    data, task) after the run's ``run`` and ``plan`` events, its lease its own (so the
    restarted ``orch-1`` takes the run up at once, as epoch 2)."""
    agent = plan["tasks"][0]["agent_id"]
    events = [
        ev(1, "run", {"run_id": RUN, "query": "q", "status": "running"}, None, agent),
        ev(2, "plan", {"plan": plan, "planner": "client", "reason": "client plan"}, None, agent),
    ] + [ev(3 + i, t, d, task, agent) for i, (t, d, task) in enumerate(log)]
    store = SQLiteRunStore(db)
    await store.open()
    await store.save_run(
        RunRecord(
            run_id=RUN, query="q", created_at=time.time(), last_seq=len(events),
            seq_reserved=1000, lease_owner="orch-1", epoch=1,
            lease_expires_at=time.time() + 600,
        )
    )  # fmt: skip
    await store.append_events(events)
    await store.close()


async def call(worker: ServiceProcess, task_id: str, key: str, **request: Any) -> list[Any]:
    """The previous owner's call: ``/stream`` with ``key``, read to its end."""
    body = {"task_id": task_id, "run_id": RUN, **request}
    async with httpx.AsyncClient(timeout=30) as c:
        return [
            m.json()
            async for m in read_sse(
                c, "POST", worker.url + "/stream", json=body, headers={"Idempotency-Key": key}
            )
        ]


async def resumed(orch: ServiceProcess) -> list[dict[str, Any]]:
    """Every event of the run once the restarted owner has ended it."""
    async with httpx.AsyncClient(timeout=30) as c:
        deadline = time.monotonic() + 60
        while (await c.get(f"{orch.url}/v1/runs/{RUN}")).json().get("status") == "running":
            assert time.monotonic() < deadline, "the resumed run did not end"
            await asyncio.sleep(0.1)
        return [m.json() async for m in read_sse(c, "GET", f"{orch.url}/v1/runs/{RUN}/events")]


def health(worker: ServiceProcess) -> dict[str, Any]:
    return dict(httpx.get(worker.url + "/health", timeout=5).json())


def statuses(events: list[dict[str, Any]], task: str, status: str) -> list[dict[str, Any]]:
    return [
        e["data"] for e in events
        if e["task_id"] == task and e["type"] == "status" and e["data"].get("status") == status
    ]  # fmt: skip


async def test_a_resumed_loop_iteration_is_never_answered_with_another_iterations_result(
    mesh: Mesh,
) -> None:
    looper = mesh.worker("bench.script_worker", "looper", SCRIPT_AGENT_ID="looper")
    running = {"status": "running", "agent_id": "looper", "instance_id": "looper-1"}
    first = {"approved": False, "iteration": 1, "saw": []}
    await died_with(mesh.db, LOOP, [
        ("status", {**running, "attempt": 1}, "review"),
        ("result", {"output": first, "attempt": 1}, "review"),
        ("status", {"status": "completed"}, "review"),
        ("status", {"status": "condition", "kind": "repeat_until", "expression":
                    "output.approved", "result": False, "iteration": 1}, "review"),
        ("status", {"status": "iterating", "iteration": 2, "max_iterations": 3, "attempt": 2,
                    "loop": "review", "reason": "repeat_until false"}, "review"),
        ("status", {**running, "attempt": 2}, "review"),
    ])  # fmt: skip
    # What the owner did past its stored log: iteration 2 ended, iteration 3 ran as
    # attempt 3, under the key that attempt had (with and without its epoch).
    loop3 = {"@loop": {"iteration": 3, "max_iterations": 3, "previous": first}}
    for key in (f"{RUN}:review:3", f"{RUN}:review:3@1"):
        await call(looper, "review", key, input={"approve_at": 50}, context=loop3)
    before = health(looper)["calls"]["review"]
    orch = mesh.orchestrator()
    events = await resumed(orch)
    assert events[-1]["data"]["status"] == "completed"
    outputs = [e["data"]["output"] for e in events if e["type"] == "result" and e["task_id"]]
    # iteration 1 (kept), then the new owner's 2 and 3: iteration 2's answer is its own
    assert [o["iteration"] for o in outputs] == [1, 2, 3]
    calls = health(looper)["calls"]["review"]
    assert calls - before == 2  # both of the new owner's calls ran; none was replayed
    keys = [s["key"] for s in statuses(events, "review", "running") if s.get("key")]
    assert keys == [f"{RUN}:review:3@2", f"{RUN}:review:4@2"]  # the new owner's epoch


async def test_a_call_out_when_the_owner_died_is_asked_again_under_its_logged_key(
    mesh: Mesh,
) -> None:
    careful = mesh.worker(
        "bench.fault_worker", "careful", FAULT_AGENT_ID="careful", FAULT_RETRY_SAFE="0",
        WORKER_DETACH_GRACE_SECONDS="60",
    )  # fmt: skip
    key = f"{RUN}:train:1@1"
    # The owner's call: the worker ran it (once) under the key the log names.
    await call(careful, "train", key, input={"tokens": 5})
    await died_with(mesh.db, ONCE, [
        ("status", {"status": "running", "agent_id": "careful", "instance_id": "careful-1",
                    "attempt": 1, "key": key}, "train"),
    ])  # fmt: skip
    orch = mesh.orchestrator()
    events = await resumed(orch)
    # not in doubt, not run again: re-attached under the logged key, its answer replayed
    assert events[-1]["data"]["status"] == "completed"
    assert statuses(events, "train", "in_doubt") == []
    assert [s["key"] for s in statuses(events, "train", "running")][-1] == key
    facts = health(careful)
    assert facts["started"] == 1 and facts["keys_twice"] == 0
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)
    assert result["data"]["results"]["train"]["status"] == "completed"
