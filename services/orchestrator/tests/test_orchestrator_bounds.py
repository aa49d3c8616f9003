"""One request never freezes the orchestrator: the payloads that froze its event loop for
seconds (a plan with 8,000 ``depends_on`` entries; a 1 MB plan body; an ``input`` nested 300
levels) each get a prompt 4xx at every door (``/orchestrate``, ``/orchestrate/stream``, the
approve body, an A2A data part, ``/v1/plans``) while a run's SSE stream on the same
orchestrator keeps flowing. Real uvicorn servers on loopback.

The stream's events are timed as they arrive and each request's window is noted: the test
asserts the stream got events while the payloads were being answered (the loop ran), never a
duration."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from orch_fakes import writer_like

from conftest import MeshFactory
from mesh_testkit import read_sse

DEADLINE = 60.0


def _task(task_id: str, *deps: str, **inp: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "capability": "text_generation",
        "agent_id": "w",
        "input": inp,
        "depends_on": list(deps),
    }


def many_deps(n: int) -> dict[str, Any]:
    """Every entry names a task that exists: only its length (and its repeats) are wrong."""
    return {"tasks": [_task("a"), _task("b", *["a"] * n)]}


def one_megabyte() -> bytes:
    """A plan body just under the 1 MiB body limit, nearly all ``depends_on`` entries."""
    n = (1 << 20) // 5 - 100
    body = json.dumps({"plan": many_deps(n)}).encode()
    while len(body) >= 1 << 20:
        n -= 1000
        body = json.dumps({"plan": many_deps(n)}).encode()
    return body


def nested(depth: int) -> bytes:
    task = json.dumps({"task_id": "a", "capability": "text_generation", "input": {"x": 0}})
    deep = "[" * depth + "]" * depth
    return ('{"plan":{"tasks":[' + task.replace("0}", deep + "}") + "]}}").encode()


def a2a_send(plan: dict[str, Any]) -> bytes:
    message = {"messageId": "m1", "role": "ROLE_USER", "parts": [{"data": {"plan": plan}}]}
    call = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    return json.dumps(call).encode()


async def test_freezing_payloads_get_a_prompt_4xx_while_a_stream_keeps_flowing(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory(planner="deterministic")
    await mesh.register(writer_like(mesh.workers[0].url, agent_id="w"))
    url = mesh.url
    arrivals: list[float] = []
    windows: list[tuple[float, float]] = []
    answers: list[tuple[str, int, Any]] = []
    # a run that streams a token every 20 ms for a minute (cancelled when the test is done)
    live = {"plan": {"tasks": [_task("s", tokens=["x"] * 3000, interval=0.02)]}}

    async def follow(c: httpx.AsyncClient) -> None:
        async for _ in read_sse(c, "POST", url + "/orchestrate/stream", json=live):
            arrivals.append(time.monotonic())

    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        parked = await c.post(
            url + "/orchestrate",
            json={"plan": {"tasks": [_task("p")]}, "options": {"approval": "required"}},
        )
        assert parked.json()["status"] == "awaiting_approval"
        run_id = parked.json()["run_id"]
        deps = json.dumps({"plan": many_deps(8000)}).encode()
        big, deep = one_megabyte(), nested(300)
        sends: list[tuple[str, bytes]] = [
            ("/orchestrate", deps),
            ("/orchestrate/stream", deps),
            (f"/v1/runs/{run_id}/approve", deps),
            ("/v1/plans", json.dumps({"query": "x", **json.loads(deps)}).encode()),
            ("/a2a", a2a_send(many_deps(8000))),
            ("/orchestrate", big),
            ("/orchestrate/stream", big),
            (f"/v1/runs/{run_id}/approve", big),
            ("/orchestrate", deep),
            ("/a2a", a2a_send(json.loads(deep)["plan"])),
        ]
        stream = asyncio.create_task(follow(c))
        try:
            async with asyncio.timeout(DEADLINE):
                while len(arrivals) < 5:  # noqa: ASYNC110 - the stream task's list
                    await asyncio.sleep(0.01)
                for _ in range(20):  # rounds, until the stream was seen flowing meanwhile
                    for path, sent in sends:
                        began = time.monotonic()
                        r = await c.post(
                            url + path,
                            content=sent,
                            headers={"content-type": "application/json", "A2A-Version": "1.0"},
                        )
                        windows.append((began, time.monotonic()))
                        answers.append((path, r.status_code, r.json()))
                    during = sum(1 for t in arrivals if any(a <= t <= b for a, b in windows))
                    if during >= 5:
                        break
        finally:
            stream.cancel()
        run = (await c.get(f"{url}/v1/runs/{run_id}")).json()
    for path, status, answer in answers:
        if path == "/a2a":  # JSON-RPC: the error is in the body
            assert answer["error"]["code"] == -32602, (path, answer)
        else:
            assert status == 422, (path, status, str(answer)[:300])
        assert len(json.dumps(answer)) < 2000  # short: the input is never echoed back
    assert during >= 5, "the stream got no events while the payloads were answered"
    assert run["status"] == "awaiting_approval"  # the bad approvals changed nothing
