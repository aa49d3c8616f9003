"""Runs that outlive their orchestrator, on real processes and the local Postgres: two
orchestrator replicas share one run store; the owner of a run is killed (kill -9) or
paused past its lease (SIGSTOP) while a client follows the run on the other replica.

Each test gets a database of its own (created and dropped here), so no run another test
left is claimed. Workers are the bench's fault worker (a real SDK worker that streams
``tokens`` at ``rate`` and counts its calls at ``/health``): ``quick`` answers the first
sub-task at once, ``slow`` streams the second for seconds, long enough to kill its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_contracts import parse_run_payload
from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until
from mesh_testkit.postgres import PG_ADMIN, postgres_answers, scratch_database

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2.0

pytestmark = pytest.mark.skipif(
    not postgres_answers(), reason=f"no Postgres at {PG_ADMIN} (set MESH_TEST_POSTGRES)"
)


class Cluster:
    def __init__(self, db_url: str, tmp: Path, scripts: tuple[str, ...] = ()) -> None:
        """Discovery, then side by side the ``quick`` and ``slow`` fault workers, a script
        worker (``bench.script_worker``) for each agent id of ``scripts`` and replicas
        ``orch-a`` and ``orch-b``; ready once both replicas see every worker."""
        self.db_url, self.tmp = db_url, tmp
        self.procs: list[ServiceProcess] = []
        self.scripts: dict[str, ServiceProcess] = {}  # script workers by agent id
        self._batch: list[ServiceProcess] | None = None
        dport = free_port()
        self.discovery = self._start(
            "mesh_discovery",
            dport,
            {"DISCOVERY_PORT": str(dport), "DISCOVERY_DB_PATH": str(tmp / "disc.sqlite3")},
        )
        # The workers and both replicas start side by side (as pods do; the replicas take
        # turns on the schema), each waited for once all are launched.
        self._batch = []
        self.quick = self._worker("quick")
        self.slow = self._worker("slow")
        for agent in scripts:
            self.scripts[agent] = self.script_worker(agent)
        self.a = self.orchestrator("orch-a")
        self.b = self.orchestrator("orch-b")
        batch, self._batch = self._batch, None
        try:
            for proc in batch:
                proc.wait_ready()
            for orch in (self.a, self.b):

                def sees_all(o: ServiceProcess = orch) -> bool:
                    agents = httpx.get(o.url + "/v1/agents", timeout=2).json()
                    seen = {a["descriptor"]["agent_id"] for a in agents}
                    return seen >= {"quick", "slow", *scripts}

                wait_until(sees_all, timeout=30, what="the orchestrators to see every worker")
        except BaseException:
            self.close()  # no process outlives a cluster that did not come up
            raise

    def _start(self, module: str, port: int, env: dict[str, str]) -> ServiceProcess:
        """Start ``module``; while the cluster is being made, only launch it (``__init__``
        waits for the batch)."""
        proc = ServiceProcess(module, port, env, cwd=ROOT).launch()
        self.procs.append(proc)
        if self._batch is not None:
            self._batch.append(proc)
            return proc
        return proc.wait_ready()

    def _worker(self, agent: str) -> ServiceProcess:
        port = free_port()
        return self._start(
            "bench.fault_worker",
            port,
            {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": self.discovery.url,
             "WORKER_INSTANCE_ID": f"{agent}-1", "FAULT_AGENT_ID": agent,
             "WORKER_LEASE_TTL_SECONDS": "3"},
        )  # fmt: skip

    def script_worker(self, agent: str) -> ServiceProcess:
        port = free_port()
        return self._start(
            "bench.script_worker",
            port,
            {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": self.discovery.url,
             "SCRIPT_AGENT_ID": agent, "WORKER_LEASE_TTL_SECONDS": "30"},
        )  # fmt: skip

    def orchestrator(self, replica: str) -> ServiceProcess:
        port = free_port()
        return self._start(
            "mesh_orchestrator",
            port,
            {"ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DATABASE_URL": self.db_url, "ORCH_REPLICA_ID": replica,
             "ORCH_RUN_LEASE_SECONDS": str(LEASE), "ORCH_WATCH_WAIT_SECONDS": "1",
             "ORCH_DB_PATH": str(self.tmp / f"{replica}.sqlite3"),
             # Client plans only: no embedding model loading beside the leases (its load
             # holds the GIL for seconds on this 2-core machine).
             "ORCH_PLANNER": "deterministic"},
        )  # fmt: skip

    def calls(self, worker: ServiceProcess) -> int:
        return int(httpx.get(worker.url + "/health", timeout=2).json()["calls"])

    def close(self) -> None:
        """Stop every process still running (SIGTERM, SIGKILL after 3 s): all but discovery
        side by side, then discovery, which the workers deregister from as they stop."""

        def stop(proc: ServiceProcess) -> None:
            if proc.proc is not None and proc.proc.poll() is None:
                with_cont(proc)
                proc.stop(grace=3)

        rest = [p for p in self.procs if p is not self.discovery]
        with ThreadPoolExecutor(max(1, len(rest))) as pool:
            list(pool.map(stop, rest))
        stop(self.discovery)


def with_cont(proc: ServiceProcess) -> None:
    """A stopped (SIGSTOP) process cannot die of SIGTERM until it runs again."""
    assert proc.proc is not None
    os.kill(proc.proc.pid, signal.SIGCONT)


@contextlib.contextmanager
def new_cluster(tmp: Path, scripts: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """A cluster on a database of its own, created here and dropped when it ends."""
    with scratch_database("mesh_durable") as url:
        c = Cluster(url, tmp, scripts)
        try:
            yield c
        finally:
            c.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of the test's own: for the tests that kill, stop or restart a process."""
    with new_cluster(tmp_path) as c:
        yield c


@pytest.fixture(scope="module")
def module_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with new_cluster(tmp_path_factory.mktemp("durable")) as c:
        yield c


@pytest.fixture
def shared_cluster(module_cluster: Cluster) -> Iterator[Cluster]:
    """The module's one cluster, for the tests that neither kill, stop nor reconfigure a
    process. Each starts runs of its own (new run ids) and reads the workers' counters as
    differences from what it found (``Counters``), so no other test's runs count for it; a
    test that leaves a replica down or a run going fails here, not in the next test."""
    c = module_cluster
    assert all(p.alive for p in c.procs), "the shared cluster lost a process before this test"
    yield c
    assert all(p.alive for p in c.procs), "a test on the shared cluster ended a process"

    def idle() -> bool:
        return all(int(httpx.get(w.url + "/health", timeout=2).json()["active"]) == 0
                   for w in (c.quick, c.slow))  # fmt: skip

    wait_until(idle, timeout=30, what="the shared cluster's workers to be idle after the test")


class Counters:
    """A worker's ``/health`` counters when made; ``since()`` is how much each grew."""

    def __init__(self, worker: ServiceProcess) -> None:
        self.worker = worker
        self.start = self._read()

    def _read(self) -> dict[str, int]:
        health = httpx.get(self.worker.url + "/health", timeout=2).json()
        return {k: v for k, v in health.items() if isinstance(v, int)}

    def since(self) -> dict[str, int]:
        now = self._read()
        return {k: now[k] - self.start.get(k, 0) for k in now}


PLAN = {
    "tasks": [
        {"task_id": "t1", "capability": "text_generation", "agent_id": "quick",
         "input": {"tokens": 3}},
        {"task_id": "t2", "capability": "text_generation", "agent_id": "slow",
         "input": {"tokens": 60, "rate": 10}},
    ]
}  # fmt: skip


async def start_run(orch: ServiceProcess) -> str:
    """POST a run on ``orch`` and leave once its first event arrived (it runs on)."""
    body = {"plan": PLAN, "options": {"on_disconnect": "continue"}}
    async with httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", orch.url + "/orchestrate/stream", json=body):
            return str(msg.json()["run_id"])
    raise AssertionError("no run event")


async def follow(
    orch: ServiceProcess | list[ServiceProcess], run_id: str, out: list[dict[str, Any]]
) -> None:
    """Every event of the run through /events, reconnecting with Last-Event-ID when a
    stream ends early (to the next replica of ``orch`` when one is down), until ``done``,
    as a browser's EventSource behind a load balancer would."""
    replicas = orch if isinstance(orch, list) else [orch]
    turn = 0
    async with httpx.AsyncClient(timeout=60) as c:
        for _ in range(200):  # reconnections, bounded
            after = {"Last-Event-ID": str(out[-1]["seq"])} if out else {}
            url = f"{replicas[turn % len(replicas)].url}/v1/runs/{run_id}/events"
            try:
                async for msg in read_sse(c, "GET", url, headers=after):
                    out.append(msg.json())
                    if out[-1]["type"] == "done":
                        return
            except httpx.HTTPError:
                turn += 1
            await asyncio.sleep(0.1)
    tail = [(e["seq"], e["type"], e["task_id"], e["data"].get("status")) for e in out[-6:]]
    raise AssertionError(f"run {run_id} did not end: {len(out)} events, last {tail}")


async def streaming_on_a(
    cluster: Cluster, tokens: int
) -> tuple[str, list[dict[str, Any]], asyncio.Task[None]]:
    """A run started on replica a, followed on b, once ``tokens`` tokens of t2 arrived."""
    run_id = await start_run(cluster.a)
    seen: list[dict[str, Any]] = []
    follower = asyncio.create_task(follow(cluster.b, run_id, seen))
    await until(
        lambda: sum(1 for e in seen if e["task_id"] == "t2" and e["type"] == "token") >= tokens,
        "t2 to stream on replica a",
    )
    return run_id, seen, follower


async def until(pred: Any, what: str, deadline: float = 20.0) -> None:
    async with asyncio.timeout(deadline):
        while not pred():  # noqa: ASYNC110 - the state is another task's list: poll it
            await asyncio.sleep(0.05)


def check_log(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), "ids strictly increasing, none twice"
    assert sum(1 for e in events if e["type"] == "done") == 1
    for e in events:  # every event fits its typed payload
        parse_run_payload(e["type"], e["data"], e["task_id"])


async def test_killing_the_owner_mid_run_hands_the_run_to_the_other_replica(
    cluster: Cluster,
) -> None:
    # t1 done, t2 streaming: kill its owner for real
    run_id, seen, follower = await streaming_on_a(cluster, 5)
    assert any(e["task_id"] == "t1" and e["data"].get("status") == "completed" for e in seen)
    cluster.a.kill()
    async with asyncio.timeout(LEASE + 30):
        await follower
    check_log(seen)
    resumed = [e for e in seen if e["data"].get("status") == "resumed"]
    assert len(resumed) == 1 and resumed[0]["data"]["owner"] == "orch-b"
    assert resumed[0]["data"]["kept"] == ["t1"] and resumed[0]["data"]["restarted"] == ["t2"]
    assert seen[-1]["data"]["status"] == "completed"
    assert cluster.calls(cluster.quick) == 1, "the completed task ran once"
    async with httpx.AsyncClient() as c:
        run = (await c.get(f"{cluster.b.url}/v1/runs/{run_id}")).json()
        result = next(e for e in seen if e["type"] == "result" and e["task_id"] is None)
    assert run["lease"]["owner"] == "orch-b" and run["lease"]["epoch"] == 2
    t2 = result["data"]["results"]["t2"]["output"]
    assert t2.count("slow-1:") == 60  # the output is the new attempt's alone


async def test_a_paused_owner_is_fenced_when_it_wakes(cluster: Cluster) -> None:
    run_id, seen, follower = await streaming_on_a(cluster, 3)
    assert cluster.a.proc is not None
    os.kill(cluster.a.proc.pid, signal.SIGSTOP)
    try:
        await until(
            lambda: any(e["data"].get("status") == "resumed" for e in seen),
            "replica b to take the run over",
            deadline=LEASE + 20,
        )
    finally:
        os.kill(cluster.a.proc.pid, signal.SIGCONT)  # a wakes up and writes late
    async with asyncio.timeout(30):
        await follower
    async with httpx.AsyncClient() as c:
        stored = [
            m.json() async for m in read_sse(c, "GET", f"{cluster.b.url}/v1/runs/{run_id}/events")
        ]
    check_log(stored)
    resumed = next(e for e in stored if e["data"].get("status") == "resumed")
    # nothing replica a wrote after it woke reached the log: b's epoch fenced it out (a's
    # events are attempt 1 of t2; b's resumed run streams attempt 2)
    late = [e for e in stored if e["seq"] > resumed["seq"] and e["data"].get("attempt") == 1]
    assert late == []
    assert stored[-1]["type"] == "done" and stored[-1]["data"]["status"] == "completed"
    assert "fenced" in cluster.a.log() or "owned by another replica" in cluster.a.log()


async def test_a_rolling_restart_of_both_replicas_loses_no_run(cluster: Cluster) -> None:
    runs = [await start_run(cluster.a) for _ in range(10)]
    logs: dict[str, list[dict[str, Any]]] = {r: [] for r in runs}
    pool = [cluster.b, cluster.a]  # behind the load balancer; the new pod replaces a
    followers = [asyncio.create_task(follow(pool, r, logs[r])) for r in runs]
    await until(
        lambda: all(any(e["type"] == "token" for e in log) for log in logs.values()),
        "every run to stream",
    )
    await asyncio.to_thread(cluster.a.stop, 15)  # SIGTERM: drain, leases released
    cluster.a = pool[1] = cluster.orchestrator("orch-a")  # the new pod
    await asyncio.to_thread(cluster.b.stop, 15)  # then the other one
    async with asyncio.timeout(90):
        await asyncio.gather(*followers)
    for run_id, log in logs.items():
        check_log(log)
        assert log[-1]["data"]["status"] == "completed", run_id
    assert cluster.calls(cluster.quick) == 10, "no completed t1 ran again"


async def test_a_cancel_sent_to_the_other_replica_stops_the_owners_worker(
    shared_cluster: Cluster,
) -> None:
    cluster = shared_cluster
    before = Counters(cluster.slow)
    run_id, seen, follower = await streaming_on_a(cluster, 3)
    async with httpx.AsyncClient(timeout=10) as c:
        answer = await c.post(f"{cluster.b.url}/v1/runs/{run_id}/cancel")
        assert answer.status_code == 202 and answer.json()["status"] == "cancelling"

        async def worker_cancelled() -> int:
            return await asyncio.to_thread(lambda: before.since()["cancelled"])

        # (how fast: bench/durable.py measures it; here only that it happens)
        async with asyncio.timeout(10):
            while await worker_cancelled() < 1:  # noqa: ASYNC110 - another process's state
                await asyncio.sleep(0.02)
    async with asyncio.timeout(20):
        await follower
    assert seen[-1]["type"] == "done" and seen[-1]["data"]["status"] == "cancelled"
    check_log(seen)


PAUSE_PLAN = {
    "tasks": [
        {"task_id": "t1", "capability": "text_generation", "agent_id": "quick",
         "input": {"tokens": 3}},
        {"task_id": "t2", "capability": "text_generation", "agent_id": "slow",
         "input": {"tokens": 120, "rate": 20}},  # 6 s: the keeper applies the pause meanwhile
        {"task_id": "t3", "capability": "text_generation", "agent_id": "quick",
         "depends_on": ["t2"], "input": {"tokens": 3}},
    ]
}  # fmt: skip


async def finished(follower: asyncio.Task[None], seen: list[dict[str, Any]]) -> None:
    """Wait for a follower to see ``done``; say what it saw last if it does not."""
    try:
        async with asyncio.timeout(60):
            await follower
    except TimeoutError:
        tail = [(e["seq"], e["type"], e["task_id"], e["data"].get("status")) for e in seen[-8:]]
        raise AssertionError(f"the run did not end; last events seen: {tail}") from None


async def paused_on_b(
    cluster: Cluster, cancel_running: bool
) -> tuple[str, list[dict[str, Any]], asyncio.Task[None]]:
    """A run started on a, t2 streaming; its pause asked for on b (not its owner)."""
    body = {"plan": PAUSE_PLAN, "options": {"on_disconnect": "continue"}}
    async with httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", cluster.a.url + "/orchestrate/stream", json=body):
            run_id = str(msg.json()["run_id"])
            break
        seen: list[dict[str, Any]] = []
        follower = asyncio.create_task(follow(cluster.b, run_id, seen))
        await until(
            lambda: sum(1 for e in seen if e["task_id"] == "t2" and e["type"] == "token") >= 5,
            "t2 to stream on replica a",
        )
        r = await c.post(
            f"{cluster.b.url}/v1/runs/{run_id}/pause", json={"cancel_running": cancel_running}
        )
        assert r.status_code == 202 and r.json()["status"] == "pausing"
        await until(
            lambda: any(e["data"].get("status") == "paused" and e["task_id"] is None for e in seen),
            "the run to be paused by its owner",
        )
        run = (await c.get(f"{cluster.b.url}/v1/runs/{run_id}")).json()
        assert run["status"] == "paused"
    return run_id, seen, follower


async def test_pause_lets_running_tasks_finish_and_resume_on_another_replica_after_a_restart(
    cluster: Cluster,
) -> None:
    run_id, seen, follower = await paused_on_b(cluster, cancel_running=False)
    [paused] = [e["data"] for e in seen if e["data"].get("status") == "paused"]
    assert paused["stopped"] == [] and paused["cancel_running"] is False
    # t2 was running: it finished; t3 was not started.
    assert any(e["task_id"] == "t2" and e["data"].get("status") == "completed" for e in seen)
    assert not any(e["task_id"] == "t3" and e["data"].get("status") == "running" for e in seen)
    assert not any(e["type"] == "done" for e in seen)
    cluster.a.kill()  # the replica that paused it dies: the paused run is in the store
    async with httpx.AsyncClient(timeout=30) as c:
        again = await c.post(f"{cluster.b.url}/v1/runs/{run_id}/pause")
        assert again.status_code == 409 and again.json()["status"] == "paused"
        r = await c.post(f"{cluster.b.url}/v1/runs/{run_id}/resume")
        assert r.status_code == 202 and r.json()["status"] == "running"
        await finished(follower, seen)
        twice = await c.post(f"{cluster.b.url}/v1/runs/{run_id}/resume")
        assert twice.status_code == 409
    check_log(seen)
    [resumed] = [e["data"] for e in seen if e["data"].get("status") == "resumed"]
    assert resumed["owner"] == "orch-b" and resumed["reason"] == "resumed after pause"
    assert resumed["kept"] == ["t1", "t2"] and resumed["restarted"] == ["t3"]
    assert seen[-1]["data"]["status"] == "completed"
    assert cluster.calls(cluster.slow) == 1, "t2 finished before the pause: never run again"
    assert cluster.calls(cluster.quick) == 2  # t1 before, t3 after


async def test_pause_with_cancel_running_stops_the_running_task_and_resume_runs_it_again(
    shared_cluster: Cluster,
) -> None:
    cluster = shared_cluster
    slow = Counters(cluster.slow)
    run_id, seen, follower = await paused_on_b(cluster, cancel_running=True)
    [paused] = [e["data"] for e in seen if e["data"].get("status") == "paused"]
    assert paused["stopped"] == ["t2"] and paused["cancel_running"] is True
    t2 = [e["data"].get("status") for e in seen if e["task_id"] == "t2" and e["type"] == "status"]
    assert t2[-1] == "pending"
    async with httpx.AsyncClient(timeout=30) as c:
        run = (await c.get(f"{cluster.a.url}/v1/runs/{run_id}")).json()
        assert {n["task_id"]: n["status"] for n in run["plan"]}["t2"] == "pending"
        r = await c.post(f"{cluster.a.url}/v1/runs/{run_id}/resume")
        assert r.status_code == 202
        await finished(follower, seen)
    check_log(seen)
    [resumed] = [e["data"] for e in seen if e["data"].get("status") == "resumed"]
    assert resumed["kept"] == ["t1"] and resumed["restarted"] == ["t2", "t3"]
    assert seen[-1]["data"]["status"] == "completed"
    assert slow.since()["calls"] == 2  # stopped once, run again in full


@pytest.fixture
def asking_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of the test's own with the script worker ``asker`` started beside the rest."""
    with new_cluster(tmp_path, scripts=("asker",)) as c:
        yield c


async def test_a_workers_question_is_answered_on_another_replica_after_its_owner_died(
    asking_cluster: Cluster,
) -> None:
    """The worker asks (the SDK's ``Asker``); the run parks ``input_required`` on replica a;
    a is killed; the answer goes to b, which takes the run up and the worker goes on."""
    cluster = asking_cluster
    asker = cluster.scripts["asker"]
    plan = {"tasks": [
        {"task_id": "t1", "capability": "text_generation", "agent_id": "quick",
         "input": {"tokens": 3}},
        {"task_id": "ask", "capability": "data_analysis", "agent_id": "asker",
         "depends_on": ["t1"], "input": {"ask": ["Which colour?"], "choices": ["red", "blue"]}},
    ]}  # fmt: skip
    body = {"plan": plan, "options": {"on_disconnect": "continue"}}
    seen: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", cluster.a.url + "/orchestrate/stream", json=body):
            seen.append(msg.json())
        run_id = seen[0]["run_id"]
        assert seen[-1]["data"] == {"status": "input_required", "tasks": ["ask"]}
        cluster.a.kill()
        run = (await c.get(f"{cluster.b.url}/v1/runs/{run_id}")).json()
        assert run["status"] == "input_required"
        r = await c.post(
            f"{cluster.b.url}/v1/runs/{run_id}/input", json={"task_id": "ask", "answer": "blue"}
        )
        assert r.status_code == 202, r.text
    async with asyncio.timeout(30):
        await follow(cluster.b, run_id, seen)
    check_log(seen)
    [resumed] = [e["data"] for e in seen if e["data"].get("status") == "resumed"]
    assert resumed["owner"] == "orch-b" and resumed["kept"] == ["t1"]
    result = next(e for e in seen if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["ask"]["output"] == {"answers": ["blue"], "calls": 2}
    assert seen[-1]["data"]["status"] == "completed"
    assert cluster.calls(cluster.quick) == 1
    async with httpx.AsyncClient(timeout=5) as c:
        health = (await c.get(asker.url + "/health")).json()
    assert health["calls"] == {"ask": 2}  # asked, then called again with the answer
