"""A worker whose stream is not SSE the orchestrator can use: an unterminated 64 MiB frame,
frames that are not JSON. Each is a ``malformed_stream`` failure of that instance: the task
moves to a healthy replica or fails with that code, its siblings are kept, and the
orchestrator keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fault_mesh import FaultMesh, lookup_task, plan, text_task

from mesh_contracts import NodeStatus, RunStatus, TaskFailure, TaskStatus


async def test_an_unterminated_64_mb_frame_fails_its_task_as_malformed_and_keeps_the_rest(
    mesh: FaultMesh, replicas: Any
) -> None:
    replicas.start(mesh.replica("fault-e", 1, mode="huge_frame", frame_mb="64"))
    body = plan(text_task("fault-e"), lookup_task())
    marks: dict[str, float] = {}
    answered: list[float] = []

    async def note(e: dict[str, Any]) -> None:
        if e["task_id"] == "text" and e["type"] in ("status", "error"):
            marks.setdefault(e["data"].get("status", e["type"]), time.monotonic())

    async def probe() -> None:  # the orchestrator's /health while the frame comes in
        async with httpx.AsyncClient(timeout=10) as c:
            for _ in range(2000):
                if (await c.get(mesh.url + "/health")).status_code == 200:
                    answered.append(time.monotonic())
                await asyncio.sleep(0.02)

    prober = asyncio.create_task(probe())
    try:
        run = await mesh.stream(body, note)
    finally:
        prober.cancel()

    [failure] = run.payloads(TaskFailure, "text")
    assert failure.code == "malformed_stream"
    assert "exceeded 16777216 bytes without ending" in failure.error
    answer = run.assert_kept()
    assert answer.status == RunStatus.PARTIAL
    assert answer.results["text"].status == NodeStatus.FAILED
    assert answer.results["facts"].status == NodeStatus.COMPLETED
    # The worker took the call, the frame was being read, and /health still answered.
    assert any(marks["running"] < t < marks["error"] for t in answered), (marks, answered[-3:])


async def test_garbage_frames_are_a_malformed_stream_and_the_task_moves_to_a_healthy_replica(
    mesh: FaultMesh, replicas: Any
) -> None:
    replicas.start(
        mesh.replica("fault-f", 1, mode="garbage", lead_tokens="2", priority="1"),
        mesh.replica("fault-f", 2),
    )
    body = plan(text_task("fault-f", tokens=10, rate=0), lookup_task())

    run = await mesh.stream(body)

    [retry] = run.retries("text")
    assert retry.attempt == 2
    assert (retry.failed_instance, retry.next_instance) == ("fault-f-1", "fault-f-2")
    assert "malformed event '{this is not json'" in retry.reason
    assert run.tokens("text", attempt=1) == ["fault-f-1:0 ", "fault-f-1:1 "]
    answer = run.assert_kept()
    assert answer.status == RunStatus.COMPLETED
    assert answer.results["text"].output == "".join(f"fault-f-2:{i} " for i in range(10))
    running = [s for s in run.payloads(TaskStatus, "text") if s.status == NodeStatus.RUNNING]
    assert [s.instance_id for s in running] == ["fault-f-1", "fault-f-2"]
    assert mesh.breaker("fault-f-1")["last_failure"].startswith("fault-f sent a malformed")
