"""The dashboard shows the plan language and the runs that wait for a person, in a real
browser against a real mesh on loopback: discovery, the scripted worker
(``bench.script_worker``), a fault worker that is not safe to retry, and one orchestrator
on its embedded store.

The runs are made here, through the API; ``workflows.mjs`` (Node, playwright-core, Debian's
Chromium) opens each one's page and acts where the page offers it: a skipped branch with
its reason, a loop's iterations, a worker's question answered through its form (the run
completes), and the in-doubt panel of a run whose replica died mid-call (the orchestrator
killed, the worker restarted: nobody knows the call), decided "run again" on one run and
"mark failed" on another. What the page did is then read back from the API. Skips, saying
why, when Chromium or the npm packages are missing (``make ui-setup``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mesh_testkit import read_sse, wait_until
from mesh_testkit.mesh import ProcessMesh, process_mesh
from tests.ui.test_dashboard import CHROMIUM, HERE, SHOTS, browser

WORKERS = {
    "script": "bench.script_worker",
    "slow": ("bench.fault_worker", {"FAULT_AGENT_ID": "slow", "FAULT_RETRY_SAFE": "0",
                                    "WORKER_INSTANCE_ID": "slow-1"}),
}  # fmt: skip
ORCH_ENV = {"ORCH_PLANNER": "deterministic", "ORCH_RUN_LEASE_SECONDS": "2",
            "ORCH_LOG_LEVEL": "warning"}  # fmt: skip

BRANCH = [
    {"task_id": "review", "input": {"reply": {"approved": True}}},
    {"task_id": "characters", "depends_on": ["review"], "input": {"prompt": "characters"},
     "when": "$.review.output.approved == true"},
    {"task_id": "revise", "depends_on": ["review"], "input": {"prompt": "revise"},
     "when": "not $.review.output.approved"},
]  # fmt: skip
LOOP = [{"task_id": "review", "input": {"approve_at": 50}, "repeat_until": "output.approved",
         "max_iterations": 2}]  # fmt: skip
ASK = [
    {"task_id": "asker", "input": {"ask": ["Which colour?"], "choices": ["red", "blue"]}},
    {"task_id": "after", "depends_on": ["asker"], "input": {"prompt": "then"}},
]
DOUBT = [
    {"task_id": "t1", "input": {"reply": "first"}},
    {"task_id": "t2", "agent_id": "slow", "capability": "text_generation",
     "input": {"tokens": 100, "rate": 10}},  # 10 s
]  # fmt: skip


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessMesh]:
    tmp = tmp_path_factory.mktemp("ui-workflows")
    with process_mesh(tmp, WORKERS, orchestrator_env=ORCH_ENV) as m:
        yield m


def body(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    plan = {"tasks": [{"capability": "data_analysis", **t} for t in tasks]}
    return {"plan": plan, "options": {"on_disconnect": "continue"}}


def finished(url: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """POST /orchestrate: the run, once it ended or parked."""
    return dict(httpx.post(url + "/orchestrate", json=body(tasks), timeout=60).json())


async def started(url: str, tasks: list[dict[str, Any]]) -> str:
    async with httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body(tasks)):
            return str(msg.json()["run_id"])
    raise AssertionError("no run event")


def run(url: str, run_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/v1/runs/{run_id}", timeout=5).json())


def nodes(r: dict[str, Any]) -> dict[str, str]:
    return {n["task_id"]: n["status"] for n in r["plan"]}


def in_doubt(mesh: ProcessMesh, count: int) -> list[str]:
    """``count`` runs parked with t2 in doubt: t2 streaming on the slow worker when the
    orchestrator is killed, the worker restarted (it forgets the call), the orchestrator
    started again (it takes its runs up and nobody can say whether t2 ran)."""
    url = mesh.url
    runs = [asyncio.run(started(url, DOUBT)) for _ in range(count)]
    for r in runs:
        wait_until(lambda r=r: nodes(run(url, r))["t2"] == "running", timeout=30, what="t2 to run")
    mesh.orch.kill()
    slow = mesh.workers["slow"]
    slow.kill()
    slow.start()
    mesh.orch.start()
    for r in runs:
        wait_until(
            lambda r=r: run(url, r)["status"] == "awaiting_approval",
            timeout=60,
            what="the run to park with t2 in doubt",
        )
    return runs


@browser
def test_the_dashboard_shows_branches_loops_questions_and_tasks_in_doubt(
    mesh: ProcessMesh,
) -> None:
    rerun, fail = in_doubt(mesh, 2)
    url = mesh.url
    branch, loop = finished(url, BRANCH), finished(url, LOOP)
    ask = finished(url, ASK)
    assert ask["status"] == "input_required"
    env = {**os.environ, "ORCH_URL": url, "CHROMIUM": CHROMIUM, "SHOTS_DIR": str(SHOTS),
           "RUN_BRANCH": branch["run_id"], "RUN_LOOP": loop["run_id"],
           "RUN_ASK": ask["run_id"], "RUN_RERUN": rerun, "RUN_FAIL": fail}  # fmt: skip
    proc = subprocess.run(
        ["node", str(HERE / "workflows.mjs")],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"workflows.mjs printed nothing (rc {proc.returncode}):\n{proc.stderr}"
    seen = json.loads(lines[-1])
    assert seen["ok"], json.dumps(seen, indent=1)

    # (a) the branch not taken, and why
    taken, not_taken = seen["branch"]["taken"], seen["branch"]["notTaken"]
    assert taken["status"] == "completed" and not_taken["status"] == "skipped"
    assert not_taken["error"] == "skipped: condition false: not $.review.output.approved"
    assert not_taken["condition"].startswith("⑂ when not $.review.output.approved: false")
    # (b) the loop's iterations: the last one, its bound, and why it went on
    assert seen["loop"]["iteration"] == "iteration 2 of 2"
    assert "at iteration 2: false, max_iterations reached" in seen["loop"]["condition"]
    assert any("iteration 2 of at most 2" in r for r in seen["loop"]["retries"])
    # (c) the question, answered through its form: the run completed
    q = seen["question"]
    assert q["text"] == "asker: Which colour?" and q["choices"] == ["red", "blue"]
    assert q["status"] == "input_required" and q["after"]["status"] == "completed"
    done = run(url, ask["run_id"])
    assert done["status"] == "completed" and nodes(done) == {"asker": "completed",
                                                             "after": "completed"}  # fmt: skip
    # (d) the in-doubt panel and its two decisions
    for name in ("RUN_RERUN", "RUN_FAIL"):
        d = seen["doubt"][name]
        assert "t2 may have run when the run changed replicas" in d["text"]
        assert d["buttons"] == ["rerun", "mark-failed", "reject"] and d["lane"] == "in_doubt"
    assert nodes(run(url, rerun)) == {"t1": "completed", "t2": "completed"}
    assert seen["doubt"]["RUN_RERUN"]["after"]["lane"]["status"] == "completed"
    assert nodes(run(url, fail))["t2"] == "failed"
    assert seen["doubt"]["RUN_FAIL"]["after"]["lane"]["status"] == "failed"
    for name in ("branch.png", "loop.png", "question.png", "in-doubt.png"):
        assert (SHOTS / name).stat().st_size > 10_000, name
