"""A loop whose owner dies goes on where it was, on real processes and the local Postgres.

The loop's task is the bench's script worker (``bench.script_worker``): a reviewer that
never approves (``approve_at`` past the bound) and holds its answer back in the iterations
``sleep_at`` names, long enough to kill the replica that runs the loop (kill -9). The other
replica takes the run over and continues at the iteration that was under way, not at
iteration 1: ``max_iterations`` counts the iterations of both owners.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_contracts import TaskCondition, TaskIteration, parse_run_payload
from mesh_testkit import ServiceProcess, read_sse
from tests.durable.test_replicas import LEASE, Cluster, check_log, follow, new_cluster, until
from tests.durable.test_replicas import pytestmark as needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of the test's own with the script worker ``looper`` started beside the rest."""
    with new_cluster(tmp_path, scripts=("looper",)) as c:
        yield c


def calls(worker: ServiceProcess) -> dict[str, int]:
    return dict(httpx.get(worker.url + "/health", timeout=2).json()["calls"])


def typed(events: list[dict[str, Any]], kind: type[Any], task_id: str) -> list[Any]:
    out = []
    for e in events:
        if e["task_id"] == task_id:
            p = parse_run_payload(e["type"], e["data"], e["task_id"])
            if isinstance(p, kind):
                out.append(p)
    return out


async def killed_mid_iteration(
    cluster: Cluster, tasks: list[dict[str, Any]], task_id: str, iteration: int
) -> tuple[list[dict[str, Any]], int]:
    """Run ``tasks`` on replica a, followed on b; kill a once ``task_id`` started
    ``iteration``; return every event of the run and the seq of the ``resumed`` status."""
    body = {"plan": {"tasks": tasks}, "options": {"on_disconnect": "continue"}}
    async with httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", cluster.a.url + "/orchestrate/stream", json=body):
            run_id = str(msg.json()["run_id"])
            break
    seen: list[dict[str, Any]] = []
    follower = asyncio.create_task(follow(cluster.b, run_id, seen))
    await until(
        lambda: any(i.iteration == iteration for i in typed(seen, TaskIteration, task_id)),
        f"{task_id} to start iteration {iteration} on replica a",
    )
    cluster.a.kill()
    async with asyncio.timeout(LEASE + 60):
        await follower
    check_log(seen)
    [resumed] = [e for e in seen if e["data"].get("status") == "resumed"]
    assert resumed["data"]["owner"] == "orch-b"
    return seen, resumed["seq"]


async def test_a_loop_killed_mid_iteration_resumes_at_that_iteration_within_its_bound(
    cluster: Cluster,
) -> None:
    looper = cluster.scripts["looper"]
    tasks = [{"task_id": "review", "capability": "data_analysis", "agent_id": "looper",
              "input": {"approve_at": 50, "sleep": 3, "sleep_at": [2]},
              "repeat_until": "output.approved", "max_iterations": 3}]  # fmt: skip
    seen, resumed = await killed_mid_iteration(cluster, tasks, "review", 2)
    after = [e for e in seen if e["seq"] > resumed]
    # b goes on at iteration 2 (it announces it), then 3; never 1 again
    assert [i.iteration for i in typed(after, TaskIteration, "review")] == [2, 3]
    conditions = typed(seen, TaskCondition, "review")
    assert [c.iteration for c in conditions] == [1, 2, 3]
    assert conditions[-1].exhausted is True
    result = next(e for e in seen if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["review"]["output"]["iteration"] == 3
    assert seen[-1]["data"]["status"] == "completed"
    assert calls(looper) == {
        "review": 4
    }  # 1, 2 (cut off), 2 again, 3: the bound held across owners


async def test_a_group_loop_killed_mid_iteration_reruns_only_that_iteration(
    cluster: Cluster,
) -> None:
    """Revise until the reviewer approves (at its 3rd look, at most 4 times): the owner dies
    while ``revise`` is in its 2nd iteration; b runs ``revise`` and ``review`` of iteration
    2 again, then 3, where the reviewer approves."""
    looper = cluster.scripts["looper"]
    tasks = [
        {"task_id": "revise", "capability": "data_analysis", "agent_id": "looper",
         "input": {"prompt": "draft", "sleep": 3, "sleep_at": [2]}},
        {"task_id": "review", "capability": "data_analysis", "agent_id": "looper",
         "depends_on": ["revise"], "input": {"approve_at": 3},
         "repeat_until": "output.approved", "repeat_tasks": ["revise"], "max_iterations": 4},
    ]  # fmt: skip
    seen, resumed = await killed_mid_iteration(cluster, tasks, "revise", 2)
    after = [e for e in seen if e["seq"] > resumed]
    assert [i.iteration for i in typed(after, TaskIteration, "revise")] == [2, 3]
    assert [i.iteration for i in typed(after, TaskIteration, "review")] == [2, 3]
    conditions = typed(seen, TaskCondition, "review")
    assert [(c.iteration, c.result) for c in conditions] == [(1, False), (2, False), (3, True)]
    result = next(e for e in seen if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["review"]["output"]["approved"] is True
    revised = result["results"]["revise"]["output"]
    assert revised["iteration"] == 3 and "review" in revised["saw"]  # given the review
    assert seen[-1]["data"]["status"] == "completed"
    assert calls(looper) == {
        "revise": 4,
        "review": 3,
    }  # revise 1, 2 (cut off), 2, 3; review 1, 2, 3
