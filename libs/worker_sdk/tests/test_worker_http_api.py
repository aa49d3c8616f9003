"""The worker API over a real uvicorn server: framing, results, refusals, limits, cancellation."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts import (
    AgentDescriptor,
    ArtifactEvent,
    MessageEvent,
    ProgressEvent,
    SSEDecoder,
    StreamingMode,
    TaskRequest,
    TokenEvent,
    WorkerResult,
    parse_worker_event,
)
from mesh_testkit import wait_until
from mesh_worker import Emit, InputError, StaticWorker, Worker, WorkerSettings, create_worker_app
from mesh_worker.testing import serving

DEADLINE = 10.0


class FakeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    mode: Literal[
        "tokens", "messages", "artifact", "fail", "refuse", "hold", "quiet", "stubborn"
    ] = "tokens"


class FakeWorker(Worker[FakeInput]):
    """Does what ``mode`` says, and lets the test watch it through threading events."""

    Input = FakeInput

    def __init__(self, max_concurrency: int = 2) -> None:
        self.max_concurrency = max_concurrency
        self.holding = threading.Event()
        self.cancelled = threading.Event()
        self.proceed = threading.Event()

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="fake",
            endpoint="http://placeholder.invalid",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            max_concurrency=self.max_concurrency,
        )

    def health(self) -> dict[str, Any]:
        return {"model_loaded": True}

    async def run(self, task: TaskRequest, inp: FakeInput, emit: Emit) -> Any:
        if inp.mode == "tokens":
            for ch in inp.text:
                await emit(TokenEvent(token=ch))
            return None
        if inp.mode == "messages":
            await emit(MessageEvent(content="first"))
            await emit(MessageEvent(content="second"))
            return None
        if inp.mode == "artifact":
            await emit(ProgressEvent(step=1, total=1))
            await emit(ArtifactEvent(name="a.txt", url="http://x.invalid/a.txt"))
            return {"words": len(inp.text.split())}
        if inp.mode == "fail":
            raise RuntimeError("boom")
        if inp.mode == "refuse":
            raise InputError(f"cannot serve {inp.text!r}")
        if inp.mode == "quiet":
            await asyncio.to_thread(self.proceed.wait, DEADLINE)
            return "ok"
        if inp.mode == "stubborn":
            return await self._stubborn(emit)
        await emit(ProgressEvent(message="holding"))
        self.holding.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return None

    async def _stubborn(self, emit: Emit) -> Any:
        """Blocking work in a thread that does not stop when cancelled: ``run`` only ends
        (re-raising the cancellation) once the thread is done, i.e. once ``proceed`` is set."""
        await emit(ProgressEvent(message="working"))
        work = asyncio.ensure_future(asyncio.to_thread(self.proceed.wait, DEADLINE))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            self.cancelled.set()
            await work
            raise
        return "finished"


def settings(**kw: Any) -> WorkerSettings:
    return WorkerSettings(discovery_url="", **kw)


@pytest.fixture
def fake() -> FakeWorker:
    return FakeWorker()


@pytest.fixture
def url(fake: FakeWorker) -> Iterator[str]:
    with serving(create_worker_app(fake, settings(ping_seconds=0.1))) as base:
        yield base


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        yield c


async def read_frames(
    client: httpx.AsyncClient, url: str, body: Any
) -> tuple[httpx.Response, list[dict[str, Any]], bytes]:
    """POST /stream; return the response, its decoded frames and the raw bytes."""
    decoder = SSEDecoder()
    raw = b""
    frames: list[dict[str, Any]] = []
    async with client.stream("POST", url + "/stream", json=body) as resp:
        async for chunk in resp.aiter_bytes():
            raw += chunk
            frames += [m.json() for m in decoder.feed(chunk)]
    return resp, frames, raw


def invoke(url: str, body: Any) -> httpx.Response:
    return httpx.post(url + "/invoke", json=body, timeout=DEADLINE)


async def test_stream_sends_each_event_as_one_frame_then_done(
    url: str, client: httpx.AsyncClient
) -> None:
    resp, frames, raw = await read_frames(client, url, {"input": {"text": "hi"}})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert frames == [
        {"type": "token", "token": "h"},
        {"type": "token", "token": "i"},
        {"type": "done"},
    ]
    assert raw.startswith(b'data: {"type":"token"')
    assert raw.count(b"\n\n") == 3
    for frame in frames:
        parse_worker_event(frame)


async def test_stream_ends_with_the_returned_output_as_a_result_event(
    url: str, client: httpx.AsyncClient
) -> None:
    _, frames, _ = await read_frames(client, url, {"input": {"text": "a b", "mode": "artifact"}})
    assert [f["type"] for f in frames] == ["progress", "artifact", "result", "done"]
    assert frames[2]["output"] == {"words": 2}


async def test_stream_pings_while_the_worker_is_quiet(
    fake: FakeWorker, url: str, client: httpx.AsyncClient
) -> None:
    decoder = SSEDecoder()
    frames: list[dict[str, Any]] = []
    body = {"input": {"text": "x", "mode": "quiet"}}
    async with client.stream("POST", url + "/stream", json=body) as resp:
        async for chunk in resp.aiter_bytes():
            frames += [m.json() for m in decoder.feed(chunk)]
            if decoder.comments:
                fake.proceed.set()  # only a ping lets the worker finish
    assert decoder.comments >= 1
    assert [(f["type"], f.get("output")) for f in frames] == [("result", "ok"), ("done", None)]


async def test_stream_reports_input_outside_the_schema_as_an_error_event(
    url: str, client: httpx.AsyncClient
) -> None:
    resp, frames, _ = await read_frames(client, url, {"input": {"text": ""}})
    assert resp.status_code == 200
    assert [f["type"] for f in frames] == ["error", "done"]
    assert frames[0]["code"] == "invalid_input"
    assert "text" in frames[0]["error"]


async def test_stream_reports_an_input_error_from_run_as_invalid_input(
    url: str, client: httpx.AsyncClient
) -> None:
    _, frames, _ = await read_frames(client, url, {"input": {"text": "zz", "mode": "refuse"}})
    assert [f["type"] for f in frames] == ["error", "done"]
    assert frames[0]["code"] == "invalid_input"
    assert "cannot serve 'zz'" in frames[0]["error"]


async def test_stream_reports_a_crash_in_run_as_an_error_event_without_a_trace(
    url: str, client: httpx.AsyncClient
) -> None:
    _, frames, raw = await read_frames(client, url, {"input": {"text": "x", "mode": "fail"}})
    assert [f["type"] for f in frames] == ["error", "done"]
    assert frames[0]["code"] == "worker_error"
    assert "boom" in frames[0]["error"]
    assert b"Traceback" not in raw


@pytest.mark.parametrize("path", ["/stream", "/invoke"])
@pytest.mark.parametrize(
    "content", [b"{not json", b'{"input": "not an object"}', b"[1, 2]", b'{"bogus": 1}']
)
def test_a_body_that_is_not_a_task_request_is_a_422(url: str, path: str, content: bytes) -> None:
    resp = httpx.post(
        url + path, content=content, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert resp.status_code == 422
    assert resp.json()["detail"]


def test_invoke_answers_a_worker_result_with_the_returned_output(url: str) -> None:
    resp = invoke(url, {"task_id": "t1", "input": {"text": "a b c", "mode": "artifact"}})
    assert resp.status_code == 200
    result = WorkerResult.model_validate(resp.json())
    assert (result.task_id, result.agent_id, result.status) == ("t1", "fake", "completed")
    assert result.output == {"words": 3}
    assert [a.name for a in result.artifacts] == ["a.txt"]


def test_invoke_joins_streamed_tokens_and_lists_messages(url: str) -> None:
    tokens = WorkerResult.model_validate(invoke(url, {"input": {"text": "hey"}}).json())
    assert tokens.output == "hey"
    msgs = WorkerResult.model_validate(
        invoke(url, {"input": {"text": "x", "mode": "messages"}}).json()
    )
    assert msgs.messages == ["first", "second"]
    assert msgs.output == "first\n\nsecond"


def test_invoke_names_the_field_outside_the_schema_in_a_422(url: str) -> None:
    resp = invoke(url, {"input": {"text": "x", "mode": "dance"}})
    assert resp.status_code == 422
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "input", "mode"]


def test_invoke_turns_an_input_error_into_a_422(url: str) -> None:
    resp = invoke(url, {"input": {"text": "x", "mode": "refuse"}})
    assert resp.status_code == 422
    assert "cannot serve" in json.dumps(resp.json())


def test_invoke_turns_a_crash_into_a_500_without_a_trace(url: str) -> None:
    resp = invoke(url, {"input": {"text": "x", "mode": "fail"}})
    assert resp.status_code == 500
    assert resp.json()["error"] == "RuntimeError: boom"
    assert "Traceback" not in resp.text


async def test_requests_past_max_concurrency_get_429_with_retry_after(
    url: str, fake: FakeWorker, client: httpx.AsyncClient
) -> None:
    hold = {"input": {"text": "x", "mode": "hold"}}
    async with (
        client.stream("POST", url + "/stream", json=hold) as first,
        client.stream("POST", url + "/stream", json=hold) as second,
    ):
        assert (first.status_code, second.status_code) == (200, 200)
        health = (await client.get(url + "/health")).json()
        assert (health["in_flight"], health["max_concurrency"]) == (2, 2)
        busy = await client.post(url + "/invoke", json={"input": {"text": "x"}})
        assert busy.status_code == 429
        assert int(busy.headers["Retry-After"]) >= 0
        assert "busy" in busy.json()["detail"]
        assert (await client.post(url + "/stream", json=hold)).status_code == 429
    await wait_for(lambda: httpx.get(url + "/health").json()["in_flight"] == 0)
    assert (await client.post(url + "/invoke", json={"input": {"text": "x"}})).status_code == 200


async def test_a_client_disconnect_cancels_the_run(
    url: str, fake: FakeWorker, client: httpx.AsyncClient
) -> None:
    body = {"input": {"text": "x", "mode": "hold"}}
    async with client.stream("POST", url + "/stream", json=body) as resp:
        decoder = SSEDecoder()
        async for chunk in resp.aiter_bytes():
            if decoder.feed(chunk):
                break  # the first event arrived: the run is going; now hang up
    assert await asyncio.to_thread(fake.holding.wait, DEADLINE)
    assert await asyncio.to_thread(fake.cancelled.wait, DEADLINE), "run() was not cancelled"
    await wait_for(lambda: httpx.get(url + "/health").json()["in_flight"] == 0)


async def test_a_cancelled_run_keeps_its_slot_until_it_has_really_ended(
    client: httpx.AsyncClient,
) -> None:
    fake = FakeWorker(max_concurrency=1)
    with serving(create_worker_app(fake, settings(ping_seconds=0.1))) as url:
        stubborn = {"input": {"text": "x", "mode": "stubborn"}}
        async with client.stream("POST", url + "/stream", json=stubborn) as resp:
            decoder = SSEDecoder()
            async for chunk in resp.aiter_bytes():
                if decoder.feed(chunk):
                    break  # the run is going; hang up
        assert await asyncio.to_thread(fake.cancelled.wait, DEADLINE), "run() was not cancelled"
        # Cancelled, but its thread still works: nothing may start beside it.
        assert (await client.post(url + "/stream", json=stubborn)).status_code == 429
        assert (
            await client.post(url + "/invoke", json={"input": {"text": "x"}})
        ).status_code == 429
        assert (await client.get(url + "/health")).json()["in_flight"] == 1
        fake.proceed.set()
        await wait_for(lambda: httpx.get(url + "/health").json()["in_flight"] == 0)
        ok = await client.post(url + "/invoke", json={"input": {"text": "x"}})
        assert (ok.status_code, ok.json()["output"]) == (200, "x")


def test_health_reports_ids_load_and_the_worker_facts(url: str) -> None:
    body = httpx.get(url + "/health").json()
    assert body["status"] == "ok"
    assert body["agent_id"] == "fake"
    assert body["instance_id"].startswith("fake-")
    assert body["model_loaded"] is True
    assert (body["in_flight"], body["max_concurrency"]) == (0, 2)


def test_descriptor_is_completed_from_settings_and_the_input_model() -> None:
    s = settings(instance_id="fake-1", public_url="http://worker.example:81/", max_concurrency=5)
    with serving(create_worker_app(FakeWorker(), s)) as base:
        d = AgentDescriptor.model_validate(httpx.get(base + "/descriptor").json())
    assert d.endpoint == "http://worker.example:81"
    assert d.instance_id == "fake-1"
    assert d.max_concurrency == 5
    assert d.input_schema == FakeInput.model_json_schema()
    assert d.resources.device == "cpu"


class FakeStaticWorker(StaticWorker):
    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="fake-static",
            capabilities=["search"],
            static_response={"answer": 42},
        )


def test_a_static_worker_answers_its_static_response_and_extra_routes_are_served() -> None:
    extra = APIRouter()

    @extra.get("/v1/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    with serving(create_worker_app(FakeStaticWorker(), settings(), routers=[extra])) as base:
        resp = invoke(base, {"input": {"anything": 1}})
        assert resp.status_code == 200
        assert resp.json()["output"] == {"answer": 42}
        assert httpx.get(base + "/v1/ping").json() == {"pong": "yes"}


async def wait_for(predicate: Any) -> None:
    await asyncio.to_thread(wait_until, predicate, timeout=DEADLINE)
