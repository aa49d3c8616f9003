"""Idempotency keys over a real uvicorn server: a repeated key re-attaches or replays, never
runs the task again; ``GET /executions/{key}`` says what the worker knows of it."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from mesh_contracts import AgentDescriptor, SSEDecoder, StreamingMode, TaskRequest, TokenEvent
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app, execution_key
from mesh_worker.executions import MAX_EVENTS, Executions
from mesh_worker.testing import serving

DEADLINE = 10.0


class GateInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = "abc"
    mode: Literal["gated", "quick"] = "quick"


class CountingWorker(Worker[GateInput]):
    """Counts its runs by idempotency key; ``gated`` runs emit one token, then wait for
    ``gate`` before emitting the rest and returning."""

    Input = GateInput

    def __init__(self) -> None:
        self.runs: Counter[str | None] = Counter()
        self.gate = threading.Event()
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="counting",
            endpoint="http://placeholder.invalid",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            max_concurrency=4,
        )

    async def run(self, task: TaskRequest, inp: GateInput, emit: Emit) -> Any:
        self.runs[execution_key()] += 1
        await emit(TokenEvent(token=inp.text[0]))
        if inp.mode == "gated":
            self.started.set()
            try:
                await asyncio.to_thread(self.gate.wait, DEADLINE)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        for ch in inp.text[1:]:
            await emit(TokenEvent(token=ch))
        return {"len": len(inp.text)}


@pytest.fixture
def worker() -> CountingWorker:
    return CountingWorker()


def _serve(worker: CountingWorker, **kw: Any) -> Any:
    return serving(create_worker_app(worker, WorkerSettings(discovery_url="", **kw)))


@pytest.fixture
def url(worker: CountingWorker) -> Iterator[str]:
    with _serve(worker, ping_interval=0.1) as base:
        yield base


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        yield c


def _body(task_id: str = "t1", **inp: Any) -> dict[str, Any]:
    return {"task_id": task_id, "run_id": "r1", "input": inp}


async def _frames(
    client: httpx.AsyncClient, url: str, key: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    frames: list[dict[str, Any]] = []
    headers = {"Idempotency-Key": key}
    async with client.stream("POST", url + "/stream", json=body, headers=headers) as resp:
        assert resp.status_code == 200
        async for chunk in resp.aiter_bytes():
            frames += [m.json() for m in decoder.feed(chunk)]
    return frames


async def test_a_repeated_key_after_the_end_replays_the_result_without_running_again(
    worker: CountingWorker, url: str, client: httpx.AsyncClient
) -> None:
    first = await _frames(client, url, "r1:t1:1", _body(text="hey"))
    again = await _frames(client, url, "r1:t1:1", _body(text="hey"))
    assert first == again
    assert [f["type"] for f in first] == ["token", "token", "token", "result", "done"]
    assert worker.runs == {"r1:t1:1": 1}
    state = (await client.get(url + "/executions/r1:t1:1")).json()
    assert state["state"] == "finished"
    assert state["outcome"] == "completed"


async def test_a_keyed_stream_longer_than_the_replay_log_reaches_its_caller_whole(
    worker: CountingWorker, url: str, client: httpx.AsyncClient
) -> None:
    # The replay log keeps MAX_EVENTS tokens; the caller following the run live gets every
    # token (the orchestrator sends a key with every call: a long answer must not be cut).
    text = "ab" * (MAX_EVENTS // 2 + 300)
    live = await _frames(client, url, "r1:t1:1", _body(text=text))
    tokens = "".join(f["token"] for f in live if f["type"] == "token")
    assert tokens == text
    assert live[-2]["output"] == {"len": len(text)}
    replayed = await _frames(client, url, "r1:t1:1", _body(text=text))
    assert sum(f["type"] == "token" for f in replayed) == MAX_EVENTS  # the log's bound
    assert replayed[-2:] == live[-2:]  # and it ends the same way
    assert worker.runs == {"r1:t1:1": 1}


async def test_a_repeated_key_while_running_reattaches_to_the_same_execution(
    worker: CountingWorker, url: str, client: httpx.AsyncClient
) -> None:
    body = _body(text="xyz", mode="gated")
    first = asyncio.create_task(_frames(client, url, "r1:t1:1", body))
    await asyncio.to_thread(worker.started.wait, DEADLINE)
    state = (await client.get(url + "/executions/r1:t1:1")).json()
    assert state["state"] == "running"
    second = asyncio.create_task(_frames(client, url, "r1:t1:1", body))
    await wait_until(lambda: _followers(url, "r1:t1:1") == 2, within=DEADLINE)
    worker.gate.set()
    a, b = await asyncio.gather(first, second)
    assert a == b
    assert [f.get("token") for f in a[:3]] == ["x", "y", "z"]
    assert a[-2]["type"] == "result" and a[-2]["output"] == {"len": 3}
    assert worker.runs == {"r1:t1:1": 1}


def _followers(url: str, key: str) -> int:
    return int(httpx.get(f"{url}/executions/{key}", timeout=DEADLINE).json()["followers"])


async def wait_until(check: Any, *, within: float) -> None:
    """Poll ``check`` (blocking HTTP, in a thread) without holding the event loop."""
    async with asyncio.timeout(within):
        while not await asyncio.to_thread(check):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.05)


async def test_a_new_key_runs_again_and_no_key_behaves_as_before(
    worker: CountingWorker, url: str, client: httpx.AsyncClient
) -> None:
    await _frames(client, url, "r1:t1:1", _body())
    await _frames(client, url, "r1:t1:2", _body())  # a re-run that was decided
    for _ in range(2):
        resp = await client.post(url + "/stream", json=_body())
        assert resp.status_code == 200
    assert worker.runs == {"r1:t1:1": 1, "r1:t1:2": 1, None: 2}


async def test_the_only_caller_leaving_cancels_the_run_and_a_repeat_replays_the_cancel(
    worker: CountingWorker, url: str, client: httpx.AsyncClient
) -> None:
    body = _body(mode="gated")
    headers = {"Idempotency-Key": "r1:t1:1"}
    async with client.stream("POST", url + "/stream", json=body, headers=headers) as resp:
        async for _ in resp.aiter_bytes():
            break  # the first token: then the caller goes away
    await asyncio.to_thread(worker.cancelled.wait, DEADLINE)
    assert worker.cancelled.is_set()
    await wait_until(
        lambda: httpx.get(url + "/executions/r1:t1:1").json()["state"] == "finished",
        within=DEADLINE,
    )
    frames = await _frames(client, url, "r1:t1:1", body)
    assert [f["type"] for f in frames] == ["token", "error", "done"]
    assert frames[1]["code"] == "cancelled"
    assert worker.runs == {"r1:t1:1": 1}
    worker.gate.set()  # lets the thread the cancelled run waited in end


async def test_within_the_detach_grace_a_caller_that_comes_back_gets_the_whole_result(
    worker: CountingWorker, client: httpx.AsyncClient
) -> None:
    with _serve(worker, ping_interval=0.1, detach_grace_seconds=30) as url:
        body = _body(text="lost", mode="gated")
        headers = {"Idempotency-Key": "r1:t1:1"}
        async with client.stream("POST", url + "/stream", json=body, headers=headers) as resp:
            async for _ in resp.aiter_bytes():
                break  # the response is lost after the first token
        await wait_until(lambda: _followers(url, "r1:t1:1") == 0, within=DEADLINE)
        state = (await client.get(url + "/executions/r1:t1:1")).json()
        assert state["state"] == "running"
        worker.gate.set()
        frames = await _frames(client, url, "r1:t1:1", body)
    assert "".join(f.get("token", "") for f in frames) == "lost"
    assert frames[-2]["type"] == "result" and frames[-2]["output"] == {"len": 4}
    assert not worker.cancelled.is_set()
    assert worker.runs == {"r1:t1:1": 1}


def test_invoke_with_a_repeated_key_answers_the_same_result_from_one_run(
    worker: CountingWorker, url: str
) -> None:
    headers = {"Idempotency-Key": "r1:t9:1"}
    first = httpx.post(url + "/invoke", json=_body("t9"), headers=headers, timeout=DEADLINE)
    again = httpx.post(url + "/invoke", json=_body("t9"), headers=headers, timeout=DEADLINE)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["output"] == {"len": 3}
    assert worker.runs == {"r1:t9:1": 1}


async def test_unknown_keys_are_404_unknown_and_a_key_reused_for_another_task_is_409(
    worker: CountingWorker, url: str, client: httpx.AsyncClient
) -> None:
    resp = await client.get(url + "/executions/never-seen")
    assert resp.status_code == 404
    assert resp.json()["state"] == "unknown"
    await _frames(client, url, "k", _body("t1"))
    resp = await client.post(url + "/stream", json=_body("t2"), headers={"Idempotency-Key": "k"})
    assert resp.status_code == 409
    assert "t1" in resp.json()["detail"]
    resp = await client.post(url + "/stream", json=_body(), headers={"Idempotency-Key": "x" * 300})
    assert resp.status_code == 400
    assert len(resp.content) < 300
    assert worker.runs == {"k": 1}


async def test_keys_are_remembered_within_their_bound_and_ttl() -> None:
    ex = Executions(max_entries=2, ttl_seconds=60)
    for key in ("a", "b", "c"):
        ex.open(key, key).end("completed")
    assert ex.get("a") is None  # the oldest finished one gave way
    assert ex.get("b") is not None and ex.get("c") is not None
    running = ex.open("d", "d")  # running: kept whatever the bound
    ex.open("e", "e")
    ex.open("f", "f")
    assert ex.get("d") is running
    short = Executions(ttl_seconds=0.01)
    short.open("k", "k").end("completed")
    await asyncio.sleep(0.05)
    assert short.state("k")["state"] == "unknown"
