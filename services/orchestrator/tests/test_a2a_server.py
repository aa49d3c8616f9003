"""The orchestrator as an A2A agent, driven by the official a2a-sdk client over loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from a2a.client import Client, ClientCallContext, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.struct_pb2 import Value
from orch_fakes import Mesh, record, writer_like

from mesh_contracts import ResourceSpec
from mesh_contracts.a2a import GPU_EXTENSION_URI
from mesh_testkit import read_sse

DEADLINE = 20.0
TERMINAL = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
}


@asynccontextmanager
async def a2a_client(mesh: Mesh) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=30) as http:
        client = await ClientFactory(ClientConfig(httpx_client=http)).create_from_url(mesh.url)
        yield client


def message(text: str = "", plan: dict[str, Any] | None = None) -> SendMessageRequest:
    parts = [Part(text=text)] if text else []
    if plan is not None:
        data = Value()
        ParseDict({"plan": plan}, data)
        parts.append(Part(data=data))
    return SendMessageRequest(message=Message(message_id="m1", role=Role.ROLE_USER, parts=parts))


def plan(*tasks: dict[str, Any], **one: Any) -> dict[str, Any]:
    """A client plan: ``tasks``, or one task given by keywords."""
    listed = [*tasks, one] if one else list(tasks)
    return {"tasks": [{"capability": "text_generation", **t} for t in listed]}


def seq(r: StreamResponse) -> int | None:
    """The run event's seq an A2A event carries (None for the task snapshot)."""
    kind = r.WhichOneof("payload")
    if kind == "task":
        return None
    meta = MessageToDict(getattr(r, kind).metadata)
    return int(meta["mesh"]["seq"])


def state(r: StreamResponse) -> int | None:
    if r.HasField("status_update"):
        return r.status_update.status.state
    if r.HasField("task"):
        return r.task.status.state
    return None


async def run_log(mesh: Mesh, run_id: str) -> list[dict[str, Any]]:
    """The run's own event log (GET /v1/runs/{id}/events of a finished run)."""
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(timeout=30) as c:
        return [m.json() async for m in read_sse(c, "GET", f"{mesh.url}/v1/runs/{run_id}/events")]


async def wait_for(predicate: Any) -> None:
    """Poll ``predicate`` until it holds, failing after ``DEADLINE`` seconds."""
    async with asyncio.timeout(DEADLINE):
        while not predicate():  # noqa: ASYNC110 (the fake worker's list has no event)
            await asyncio.sleep(0.02)


async def test_a_streamed_message_is_a_run_with_token_artifacts_and_the_answer_last(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    ask = message("write", plan(task_id="t1", input={"prompt": "x", "tokens": ["a", "b", "c"]}))
    async with asyncio.timeout(DEADLINE), a2a_client(mesh) as client:
        got = [r async for r in client.send_message(ask)]
    first = got[0].task
    assert first.id and first.status.state == TaskState.TASK_STATE_SUBMITTED
    run_id = first.id
    chunks = [r.artifact_update for r in got if r.HasField("artifact_update")]
    t1 = [c for c in chunks if c.artifact.artifact_id == "t1"]
    assert ["".join(p.text for p in c.artifact.parts) for c in t1] == ["a", "b", "c", ""]
    assert [(c.append, c.last_chunk) for c in t1] == [
        (False, False),
        (True, False),
        (True, False),
        (True, True),
    ]
    answer = chunks[-1]
    assert answer.artifact.artifact_id == "answer" and answer.last_chunk
    assert "abc" in answer.artifact.parts[0].text
    assert state(got[-1]) == TaskState.TASK_STATE_COMPLETED
    assert all(c.task_id == run_id for c in chunks)
    # One A2A event per run event, in seq order, none missing.
    log = await run_log(mesh, run_id)
    assert [seq(r) for r in got[1:]] == [e["seq"] for e in log] == list(range(1, len(log) + 1))


async def test_subscribing_again_after_a_disconnect_replays_every_missed_event(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    ask = message(
        plan=plan(
            {"task_id": "fast", "input": {"prompt": "x", "tokens": ["1", "2"]}},
            {"task_id": "slow", "input": {"prompt": "y", "gate": "g", "tokens": ["3", "4"]}},
        )
    )
    before: list[StreamResponse] = []
    async with asyncio.timeout(DEADLINE), a2a_client(mesh) as client:
        async for r in client.send_message(ask):
            before.append(r)
            up = r.artifact_update
            if (
                r.HasField("artifact_update")
                and up.artifact.artifact_id == "fast"
                and up.last_chunk
            ):
                break  # the client goes away mid-run
        run_id = before[0].task.id
        last_seen = seq(before[-1])
        assert last_seen is not None
        resumed: list[StreamResponse] = []
        subscription = client.subscribe(
            SubscribeToTaskRequest(id=run_id),
            context=ClientCallContext(service_parameters={"Last-Event-ID": str(last_seen)}),
        )
        async for r in subscription:
            resumed.append(r)
            if len(resumed) == 1:  # subscribed: the slow task may now finish
                async with httpx.AsyncClient() as c:
                    await c.post(mesh.workers[0].url + "/release/g")
    snapshot = resumed[0].task
    assert snapshot.id == run_id and snapshot.status.state != TaskState.TASK_STATE_COMPLETED
    log = await run_log(mesh, run_id)
    seen = [seq(r) for r in before[1:]] + [seq(r) for r in resumed[1:]]
    assert seen == [e["seq"] for e in log]  # every event exactly once, in order
    slow = [r.artifact_update for r in resumed if r.HasField("artifact_update")]
    assert ["".join(p.text for p in u.artifact.parts) for u in slow][:2] == ["3", "4"]
    assert state(resumed[-1]) == TaskState.TASK_STATE_COMPLETED


async def test_cancel_task_cancels_the_run_and_its_worker(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    ask = message(plan=plan(task_id="t1", input={"prompt": "x", "hang": True}))
    async with asyncio.timeout(DEADLINE), a2a_client(mesh) as client:
        stream = client.send_message(ask)
        first = await anext(stream)
        run_id = first.task.id
        async for r in stream:
            mesh_meta = MessageToDict(r.status_update.metadata).get("mesh", {})
            if mesh_meta.get("taskId") == "t1" and mesh_meta["data"]["status"] == "running":
                break
        cancelled = await client.cancel_task(CancelTaskRequest(id=run_id))
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        rest = [r async for r in stream]  # the stream ends with the final status
        assert state(rest[-1]) == TaskState.TASK_STATE_CANCELED
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=run_id))
    await wait_for(lambda: "t1" in mesh.worker(0).cancelled)


async def test_get_and_list_tasks_answer_for_runs_and_unknown_ids_are_task_not_found(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    async with asyncio.timeout(DEADLINE), a2a_client(mesh) as client:
        got = [r async for r in client.send_message(message("hi", plan(task_id="t1")))]
        run_id = got[0].task.id
        task = await client.get_task(GetTaskRequest(id=run_id))
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert [a.artifact_id for a in task.artifacts] == ["answer"]
        assert task.history[0].parts[0].text == "hi"
        listed = await client.list_tasks(ListTasksRequest(context_id=task.context_id))
        assert [t.id for t in listed.tasks] == [run_id]
        with pytest.raises(TaskNotFoundError):
            await client.get_task(GetTaskRequest(id="no-such-run"))


async def test_bad_requests_are_json_rpc_errors_without_a_trace(mesh: Mesh) -> None:
    headers = {"A2A-Version": "1.0"}
    calls = [
        ({"jsonrpc": "2.0", "id": 1, "method": "NoSuchMethod", "params": {}}, -32601),
        (
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "SendMessage",
                "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}},
            },
            -32602,
        ),
        ({"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": "nope"}}, -32001),
    ]
    async with httpx.AsyncClient(timeout=30) as c:
        for body, code in calls:
            r = await c.post(mesh.url + "/a2a", json=body, headers=headers)
            answer = r.json()
            assert answer["error"]["code"] == code, answer
            assert "Traceback" not in r.text
        json_body = {**headers, "Content-Type": "application/json"}
        r = await c.post(mesh.url + "/a2a", content=b"{not json", headers=json_body)
        assert r.json()["error"]["code"] == -32700


async def test_the_card_lists_registry_capabilities_and_gpu_facts_and_rest_serves_tasks(
    mesh: Mesh,
) -> None:
    gpu = record(
        agent_id="painter",
        endpoint=mesh.workers[1].url,
        capabilities=["image_generation"],
        streaming_mode="dynamic_events",
        resources=ResourceSpec(gpu=True, gpu_count=1, gpu_model="H200", vram_mb=143771),
    )
    await mesh.register(writer_like(mesh.workers[0].url), gpu)
    async with asyncio.timeout(DEADLINE), a2a_client(mesh) as client:
        got = [r async for r in client.send_message(message("hi", plan(task_id="t1")))]
    async with httpx.AsyncClient(timeout=30) as c:
        body = (await c.get(mesh.url + "/.well-known/agent-card.json")).json()
        rest = await c.get(
            f"{mesh.url}/a2a/rest/tasks/{got[0].task.id}", headers={"A2A-Version": "1.0"}
        )
    assert body["name"] == "agent mesh"
    skills = [s["id"] for s in body["skills"]]
    assert skills[0] == "orchestrate"
    assert {"image_generation", "text_generation", "summarization"} <= set(skills)
    [ext] = [e for e in body["capabilities"]["extensions"] if e["uri"] == GPU_EXTENSION_URI]
    assert ext["params"]["instances"][0]["gpu_model"] == "H200"
    bindings = {i["protocolBinding"]: i["url"] for i in body["supportedInterfaces"]}
    assert bindings == {"JSONRPC": mesh.url + "/a2a", "HTTP+JSON": mesh.url + "/a2a/rest"}
    assert rest.status_code == 200, rest.text
    assert json.loads(rest.text)["status"]["state"] == "TASK_STATE_COMPLETED"
