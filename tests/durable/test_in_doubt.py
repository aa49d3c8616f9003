"""Nothing runs twice when a run changes replicas, on real processes and the local Postgres.

The second sub-task's agent (``slow``, the bench's fault worker) is declared not safe to
retry here (``FAULT_RETRY_SAFE=0``) and counts its runs by idempotency key. Its owner is
killed mid-task:

- the worker still runs the task (``WORKER_DETACH_GRACE_SECONDS``): the replica that takes
  the run over asks the worker by the attempt's key and re-attaches: one run, one result;
- the worker died too (a new process, which does not know the key): the task is
  ``in_doubt`` and the run parks until a person decides (approve ``rerun`` / ``fail``).

Self-fencing: a replica cut from Postgres (a TCP proxy that stops forwarding) stops its
own runs' worker calls before the other replica claims them, so the same task never runs
on two replicas at once (counted at the worker, by run and task).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from mesh_testkit import ServiceProcess, free_port
from mesh_testkit.postgres import scratch_database
from tests.durable.test_replicas import (
    Cluster,
    check_log,
    follow,
    streaming_on_a,
    until,
)
from tests.durable.test_replicas import pytestmark as needs_postgres

pytestmark = needs_postgres
LEASE = 4.0  # seconds; self-fencing after 3 s without a renewal


class DoubtCluster(Cluster):
    """``Cluster`` with ``slow`` not safe to retry, holding a detached run ``grace`` s."""

    def __init__(self, db_url: str, tmp: Path, *, grace: float, safe: bool = False,
                 proxy_port: int | None = None) -> None:  # fmt: skip
        self.grace, self.safe, self.proxy_port = grace, safe, proxy_port
        super().__init__(db_url, tmp)

    def _worker(self, agent: str, port: int | None = None) -> ServiceProcess:
        port = port or free_port()
        env = {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": self.discovery.url,
               "WORKER_INSTANCE_ID": f"{agent}-1", "FAULT_AGENT_ID": agent,
               "WORKER_LEASE_TTL_SECONDS": "3"}  # fmt: skip
        if agent == "slow":
            env["FAULT_RETRY_SAFE"] = "1" if self.safe else "0"
            env["WORKER_DETACH_GRACE_SECONDS"] = str(self.grace)
        return self._start("bench.fault_worker", port, env)

    def orchestrator(self, replica: str) -> ServiceProcess:
        port = free_port()
        db = self.db_url
        if replica == "orch-a" and self.proxy_port is not None:
            db = db.replace("127.0.0.1:5432", f"127.0.0.1:{self.proxy_port}")
        return self._start(
            "mesh_orchestrator",
            port,
            {"ORCH_PORT": str(port), "ORCH_DISCOVERY_URL": self.discovery.url,
             "ORCH_DATABASE_URL": db, "ORCH_REPLICA_ID": replica,
             "ORCH_RUN_LEASE_SECONDS": str(LEASE), "ORCH_WATCH_WAIT_SECONDS": "1",
             "ORCH_DB_PATH": str(self.tmp / f"{replica}.sqlite3"),
             "ORCH_PLANNER": "deterministic"},
        )  # fmt: skip

    def health(self, worker: ServiceProcess) -> dict[str, Any]:
        return dict(httpx.get(worker.url + "/health", timeout=2).json())


class Proxy:
    """A TCP proxy to Postgres in a thread; ``cut`` black-holes it (bytes are no longer
    forwarded, connections stay open), as a network partition does."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.cut_off = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True, name="pg-proxy").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if self.cut_off.is_set():
                    continue  # black-holed
                dst.sendall(data)

    def cut(self) -> None:
        self.cut_off.set()

    def close(self) -> None:
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()


@contextlib.contextmanager
def cluster_of(tmp: Path, **kw: Any) -> Iterator[DoubtCluster]:
    with scratch_database("mesh_doubt") as url:
        c = DoubtCluster(url, tmp, **kw)
        try:
            yield c
        finally:
            c.close()


def statuses(events: list[dict[str, Any]], task_id: str) -> list[str]:
    return [
        e["data"]["status"]
        for e in events
        if e["task_id"] == task_id and e["type"] == "status" and "phase" not in e["data"]
    ]


async def test_a_task_not_safe_to_retry_is_reattached_by_its_key_not_run_again(
    tmp_path: Path,
) -> None:
    with cluster_of(tmp_path, grace=60) as cluster:
        _run_id, seen, follower = await streaming_on_a(cluster, 5)
        cluster.a.kill()
        async with asyncio.timeout(LEASE + 40):
            await follower
        check_log(seen)
        assert seen[-1]["data"]["status"] == "completed"
        resumed = next(e for e in seen if e["data"].get("status") == "resumed")
        assert resumed["data"]["owner"] == "orch-b"
        # the same attempt, re-attached: its events from the first, all of them
        assert statuses(seen, "t2")[-2:] == ["running", "completed"]
        result = next(e for e in seen if e["type"] == "result" and e["task_id"] is None)
        assert result["data"]["results"]["t2"]["output"].count("slow-1:") == 60
        slow = cluster.health(cluster.slow)
        assert slow["started"] == 1 and slow["keys"] == 1, slow
        assert slow["keys_twice"] == 0 and slow["overlaps"] == 0 and slow["tasks_rerun"] == 0


async def test_a_task_nobody_knows_parks_the_run_in_doubt_until_a_person_decides(
    tmp_path: Path,
) -> None:
    with cluster_of(tmp_path, grace=0) as cluster:
        run_id, _seen, follower = await streaming_on_a(cluster, 5)
        follower.cancel()
        port = int(cluster.slow.url.rsplit(":", 1)[1])
        cluster.a.kill()
        cluster.slow.kill()  # the worker dies with its memory of the key
        cluster.slow = cluster._worker("slow", port)  # a new process, same instance
        async with httpx.AsyncClient(timeout=10) as c:

            async def parked() -> bool:
                run = (await c.get(f"{cluster.b.url}/v1/runs/{run_id}")).json()
                return bool(run["status"] == "awaiting_approval")

            async with asyncio.timeout(LEASE + 40):
                while not await parked():  # noqa: ASYNC110 - another process
                    await asyncio.sleep(0.1)
            answer = await c.post(
                f"{cluster.b.url}/v1/runs/{run_id}/approve", json={"decision": "rerun"}
            )
            assert answer.status_code == 202, answer.text
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(40):
            await follow(cluster.b, run_id, events)
        check_log(events)
        doubt = next(e for e in events if e["data"].get("status") == "in_doubt")
        assert doubt["task_id"] == "t2" and f"{run_id}:t2:1" in doubt["data"]["reason"]
        parked_at = next(e for e in events if e["data"].get("in_doubt"))
        assert parked_at["data"]["in_doubt"] == ["t2"]
        approved = next(e for e in events if e["data"].get("status") == "approved")
        assert approved["data"]["decision"] == "rerun"
        assert events[-1]["data"]["status"] == "completed"
        # run again after the decision: attempt 2, a new key, on the new worker process
        assert max(e["data"].get("attempt") or 0 for e in events if e["task_id"] == "t2") == 2
        slow = cluster.health(cluster.slow)
        assert slow["started"] == 1 and slow["keys"] == 1, slow


async def test_a_replica_cut_from_postgres_stops_its_worker_calls_before_another_claims(
    tmp_path: Path,
) -> None:
    proxy = Proxy(("127.0.0.1", 5432))
    try:
        # retry-safe: the other replica runs the task again (a new attempt) once it has
        # claimed the run; without self-fencing the first attempt would still be streaming
        with cluster_of(tmp_path, grace=0, safe=True, proxy_port=proxy.port) as cluster:
            _run_id, seen, follower = await streaming_on_a(cluster, 3)
            proxy.cut()
            await until(
                lambda: any(e["data"].get("status") == "resumed" for e in seen),
                "replica b to take the run over",
                # a bound on waiting, not a timing figure: ~15 s on a quiet 2-core machine, and
                # once past 34 s under the full suite's load (a fresh clone's .ci/run, round 8)
                deadline=LEASE + 60,
            )
            async with asyncio.timeout(40):
                await follower
            assert seen[-1]["data"]["status"] == "completed"
            slow = cluster.health(cluster.slow)
            assert slow["tasks_rerun"] == 1, slow  # attempt 2 ran, after attempt 1 stopped
            assert slow["overlaps"] == 0, slow  # never both at once
            assert slow["cancelled"] == 1, slow
            assert "fencing myself" in cluster.a.log()
    finally:
        proxy.close()
