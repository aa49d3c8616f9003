"""A replica dies, hangs or answers 500: its task moves to a healthy replica, the breaker
ejects the bad instance, and no completed sub-task result is lost.

Real processes (``fault_mesh``): the serving replica is found from the run's own ``running``
status and killed or stopped by PID while its tokens are arriving.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import httpx
from fault_mesh import (
    BREAKER_FAILURES,
    IDLE_SECONDS,
    STALL_SLACK_SECONDS,
    FaultMesh,
    Run,
    analyst_task,
    lookup_task,
    plan,
    text_task,
)

from mesh_contracts import NodeStatus, RunStatus, TaskStatus
from mesh_testkit import ServiceProcess


class MidStream:
    """An ``on_event`` hook: once the serving replica of ``task_id`` has sent ``after``
    tokens of attempt 1, ``strike`` it (by PID) and note when."""

    def __init__(self, by_instance: dict[str, ServiceProcess], strike: Any, after: int = 5):
        self.by_instance = by_instance
        self.strike = strike
        self.after = after
        self.victim: str | None = None
        self.struck_at: float | None = None
        self.retry_seen_at: float | None = None
        self.serving: str | None = None
        self.tokens = 0

    async def __call__(self, e: dict[str, Any]) -> None:
        if e["task_id"] != "text":
            return
        data = e["data"]
        if e["type"] == "status" and data.get("status") == "running":
            self.serving = data["instance_id"]
        elif e["type"] == "status" and data.get("status") == "retrying":
            self.retry_seen_at = time.monotonic()
        elif e["type"] == "token" and data["attempt"] == 1:
            self.tokens += 1
            if self.tokens == self.after and self.victim is None:
                assert self.serving is not None
                self.victim = self.serving
                proc = self.by_instance[self.victim].proc
                assert proc is not None
                self.struck_at = time.monotonic()
                self.strike(proc.pid)


def other(instances: list[str], victim: str | None) -> str:
    [rest] = [i for i in instances if i != victim]
    return rest


def assert_retried_elsewhere(run: Run, hook: MidStream, instances: list[str]) -> None:
    """One ``retrying`` status, attempt 2 on the other replica, and the task's output is
    attempt 2's text alone."""
    healthy = other(instances, hook.victim)
    [retry] = run.retries("text")
    assert retry.attempt == 2 and retry.failed_instance == hook.victim
    assert retry.next_instance == healthy
    second = run.tokens("text", attempt=2)
    assert len(second) == 30 and all(t.startswith(f"{healthy}:") for t in second)
    answer = run.assert_kept()
    assert answer.status == RunStatus.COMPLETED
    assert answer.results["text"].output == "".join(second)
    running = [s for s in run.payloads(TaskStatus, "text") if s.status == NodeStatus.RUNNING]
    assert [(s.instance_id, s.attempt) for s in running] == [(hook.victim, 1), (healthy, 2)]


async def test_a_replica_killed_mid_stream_is_retried_on_the_other_and_siblings_are_kept(
    mesh: FaultMesh, replicas: Any
) -> None:
    procs = replicas.start(mesh.replica("fault-a", 1), mesh.replica("fault-a", 2))
    by_instance = {p.env["WORKER_INSTANCE_ID"]: p for p in procs}
    hook = MidStream(by_instance, lambda pid: os.killpg(pid, signal.SIGKILL))
    body = plan(text_task("fault-a"), lookup_task(), analyst_task())

    run = await mesh.stream(body, hook)

    assert hook.victim is not None, [(e["type"], e["task_id"], e["data"]) for e in run.events]
    assert not by_instance[hook.victim].alive
    assert_retried_elsewhere(run, hook, list(by_instance))
    [retry] = run.retries("text")
    assert "stream" in retry.reason  # the broken stream, named
    assert {"facts", "table"} <= run.answer().results.keys()


async def test_a_hung_replica_is_cut_within_the_idle_time_and_retried_elsewhere(
    mesh: FaultMesh, replicas: Any
) -> None:
    procs = replicas.start(mesh.replica("fault-b", 1), mesh.replica("fault-b", 2))
    by_instance = {p.env["WORKER_INSTANCE_ID"]: p for p in procs}
    hook = MidStream(by_instance, lambda pid: os.kill(pid, signal.SIGSTOP))
    body = plan(text_task("fault-b"), lookup_task())

    try:
        run = await mesh.stream(body, hook)
    finally:
        for p in procs:  # the stopped one must go on, to be stopped cleanly
            assert p.proc is not None
            os.kill(p.proc.pid, signal.SIGCONT)

    assert_retried_elsewhere(run, hook, list(by_instance))
    [retry] = run.retries("text")
    assert f"sent nothing for {IDLE_SECONDS:g}s (stalled)" in retry.reason
    # Cut by the idle timeout, not by the task's 300 s timeout.
    assert hook.struck_at is not None and hook.retry_seen_at is not None
    assert hook.retry_seen_at - hook.struck_at < IDLE_SECONDS + STALL_SLACK_SECONDS
    assert mesh.breaker(hook.victim or "")["failures"] == 1


def candidate(run: Run, task_id: str, instance_id: str) -> dict[str, Any]:
    """What the task's ``running`` status said of ``instance_id`` as a routing candidate."""
    statuses = run.payloads(TaskStatus, task_id)
    [running] = [s for s in statuses if s.status == NodeStatus.RUNNING]
    assert running.candidates is not None
    rows: list[dict[str, Any]] = running.candidates
    [row] = [c for c in rows if c["instance_id"] == instance_id]
    return row


async def test_a_dead_replica_costs_at_most_the_breaker_threshold_of_tries_across_runs(
    mesh: FaultMesh, replicas: Any
) -> None:
    dead, live = replicas.start(mesh.replica("fault-c", 1), mesh.replica("fault-c", 2))
    dead.kill()  # its lease is still "passing": only the breaker can keep it out
    body = plan(text_task("fault-c", tokens=10, rate=0), lookup_task())

    runs = await asyncio.gather(*(mesh.stream(body) for _ in range(4)))
    # Then one by one, until the breaker has opened (each run tries the idle-looking dead
    # replica first while its breaker lets it), and once more.
    for _ in range(BREAKER_FAILURES + 1):
        runs.append(await mesh.stream(body))
        if mesh.breaker("fault-c-1")["state"] == "open":
            break
    runs.append(await mesh.stream(body))

    for run in runs:
        answer = run.assert_kept()
        assert answer.status == RunStatus.COMPLETED
        assert all(t.startswith("fault-c-2:") for t in run.tokens("text"))
        assert not run.retries("text")  # refused before any event: the same attempt
    snapshot = mesh.breaker("fault-c-1")
    assert snapshot["state"] == "open" and snapshot["failures"] == BREAKER_FAILURES
    assert "cannot connect" in snapshot["last_failure"]
    # The last run's routing still saw the dead replica as registered and passing, and
    # skipped it for its open breaker.
    row = candidate(runs[-1], "text", "fault-c-1")
    assert row["healthy"] is True and row["breaker"] == "open"
    assert live.alive


async def test_an_instance_answering_500_gets_at_most_the_breaker_threshold_of_calls(
    mesh: FaultMesh, replicas: Any
) -> None:
    (bad,) = replicas.start(
        mesh.replica("fault-d", 1, mode="error500", capability="search", priority="10")
    )
    body = plan(lookup_task(pinned=False), analyst_task())

    runs = [await mesh.stream(body) for _ in range(10)]

    for run in runs:
        answer = run.assert_kept()
        assert answer.status == RunStatus.COMPLETED
        assert answer.results["facts"].agent_id == "lookup"
    async with httpx.AsyncClient() as c:
        calls = (await c.get(bad.url + "/health")).json()["calls"]
    assert 1 <= calls <= BREAKER_FAILURES
    snapshot = mesh.breaker("fault-d-1")
    assert snapshot["state"] == "open" and "answered 500" in snapshot["last_failure"]
    assert candidate(runs[-1], "facts", "fault-d-1")["breaker"] == "open"
