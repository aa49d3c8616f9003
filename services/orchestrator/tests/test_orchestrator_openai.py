"""The mesh as an OpenAI model, driven by the official ``openai`` client and by
``langchain_openai.ChatOpenAI`` against a real orchestrator on loopback (fake workers; a
scripted fake LLM where the synthesis must stream token by token)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import _is, wait_for

from mesh_testkit import read_sse


def client(mesh: Mesh) -> openai.AsyncOpenAI:
    """Use as ``async with client(mesh) as c`` (it closes its connections)."""
    return openai.AsyncOpenAI(base_url=mesh.url + "/v1", api_key="unused", max_retries=0)


def kinds_of(e: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return (e["type"], e["task_id"], e["data"].get("status"))


def llm_plan() -> str:
    task = {"task_id": "t1", "capability": "text_generation", "input": {"prompt": "p"}}
    return json.dumps({"reasoning": "scripted", "tasks": [{**task, "depends_on": []}]})


async def test_the_mesh_is_listed_as_a_model_and_unknown_ones_are_404(mesh: Mesh) -> None:
    async with client(mesh) as c:
        models = await c.models.list()
        retrieved = await c.models.retrieve("mesh")
        with pytest.raises(openai.NotFoundError) as err:
            await c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
    assert [m.id for m in models.data] == ["mesh"]
    assert retrieved.owned_by == "mesh"
    assert err.value.code == "model_not_found"
    body = err.value.body
    assert isinstance(body, dict) and body["param"] == "model"


async def test_a_completion_answers_the_last_user_message_with_usage_and_the_run(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    async with client(mesh) as c:
        done = await c.chat.completions.create(
            model="mesh",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "tell me a joke"},
                {"role": "assistant", "content": "no"},
                {"role": "user", "content": "write a poem about the sea"},
            ],
        )
    text = done.choices[0].message.content or ""
    assert "hello world" in text  # the fake writer's tokens, through the synthesis
    assert done.choices[0].finish_reason == "stop" and done.model == "mesh"
    assert done.usage is not None
    assert done.usage.prompt_tokens == 6  # words of the query
    assert done.usage.completion_tokens == len(text.split())
    mesh_info = (done.model_extra or {})["mesh"]
    assert mesh_info["status"] == "completed"
    async with httpx.AsyncClient() as h:
        run = (await h.get(f"{mesh.url}/v1/runs/{mesh_info['run_id']}")).json()
    assert run["query"] == "write a poem about the sea"  # the last user message only


async def test_a_client_leaving_a_completion_without_stream_cancels_its_run(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    mesh.worker(0).hang_all = True
    async with client(mesh) as c:
        asking = asyncio.create_task(
            c.chat.completions.create(
                model="mesh", messages=[{"role": "user", "content": "write a poem"}]
            )
        )
        await wait_for(lambda: mesh.worker(0).started, "the worker called")
        asking.cancel()  # the client gives up: its connection is closed
        with pytest.raises(asyncio.CancelledError):
            await asking
    await wait_for(lambda: mesh.worker(0).cancelled, "the worker's call cancelled")
    async with httpx.AsyncClient() as h:
        (run,) = (await h.get(mesh.url + "/v1/runs")).json()
        await wait_for(
            lambda: _is(h, f"{mesh.url}/v1/runs/{run['run_id']}", "cancelled"), "run cancelled"
        )


async def test_a_stream_of_the_deterministic_synthesis_sends_its_answer_in_chunks(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    async with client(mesh) as oai:
        stream = await oai.chat.completions.create(
            model="mesh",
            messages=[{"role": "user", "content": "write a poem about the sea"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    text = "".join(deltas)
    assert text.startswith("hello world")  # the answer leads with the task's own output
    words = [d for d in deltas if d]
    assert len(words) >= 2 and len(words) == len(text.split())  # word chunks, not one blob
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(text.split())
    # Progress is not in a plain stream.
    assert not any("mesh" in (c.model_extra or {}) for c in chunks)


async def test_an_llm_synthesis_streams_token_by_token_with_sub_task_progress_when_asked(
    mesh_factory: Any,
) -> None:
    answer = "The sea is calm tonight."
    mesh = await mesh_factory(llm=FakeListChatModel(responses=[llm_plan(), answer]))
    await mesh.register(writer_like(mesh.workers[0].url))
    async with client(mesh) as oai:
        stream = await oai.chat.completions.create(
            model="mesh",
            messages=[{"role": "user", "content": "write about the sea"}],
            stream=True,
            extra_body={"mesh_events": True},
        )
        chunks = [c async for c in stream]
    content = [c.choices[0].delta.content for c in chunks if c.choices]
    assert "".join(x or "" for x in content) == answer
    assert len([x for x in content if x]) == len(answer)  # the fake LLM streams characters
    events = [(c.model_extra or {}).get("mesh") for c in chunks]
    first = events[0]
    assert first is not None and first["run_id"]
    progress = [e for e, c in zip(events, chunks, strict=True) if e and not c.choices]
    kinds = [(e["type"], e["task_id"], e["data"].get("status")) for e in progress]
    assert ("plan", None, None) in kinds
    assert ("status", "t1", "running") in kinds and ("status", "t1", "completed") in kinds
    running = next(e for e in progress if kinds_of(e) == ("status", "t1", "running"))
    assert running["data"]["candidates"][0]["instance_id"] == "fakewriter"
    assert all(e["type"] != "token" for e in progress)
    assert all(e["run_id"] == first["run_id"] for e in progress)


async def test_langchain_chat_openai_streams_and_invokes_the_mesh(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    llm = ChatOpenAI(model="mesh", base_url=mesh.url + "/v1", api_key="unused", max_retries=0)
    parts = [c.content async for c in llm.astream([HumanMessage("write a poem about the sea")])]
    assert len([p for p in parts if p]) >= 2  # streamed word by word
    assert "hello world" in "".join(str(p) for p in parts)
    reply = await llm.ainvoke("write a poem about the sea")
    assert "hello world" in str(reply.content)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"model": "mesh", "messages": []}, "messages", "invalid_value"),
        (
            {"model": "mesh", "messages": [{"role": "robot", "content": "x"}]},
            "messages.0.role",
            "invalid_value",
        ),
        (
            {"model": "mesh", "messages": [{"role": "system", "content": "x"}]},
            "messages",
            "invalid_value",
        ),
        (
            {"model": "mesh", "messages": [{"role": "user", "content": "x" * 8001}]},
            "messages",
            "context_length_exceeded",
        ),
        (
            {"model": "mesh", "n": 2, "messages": [{"role": "user", "content": "x"}]},
            "n",
            "unsupported_value",
        ),
        ({"messages": [{"role": "user", "content": "x"}]}, "model", "invalid_value"),
    ],
)
async def test_bad_requests_get_openai_errors_before_any_run_starts(
    mesh: Mesh, body: dict[str, Any], param: str, code: str
) -> None:
    async with httpx.AsyncClient() as h:
        r = await h.post(mesh.url + "/v1/chat/completions", json=body)
        runs = (await h.get(mesh.url + "/v1/runs")).json()
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert error["message"]
    assert runs == []


async def test_a_body_that_is_not_json_is_a_400_and_the_client_raises_bad_request(
    mesh: Mesh,
) -> None:
    async with httpx.AsyncClient() as h:
        r = await h.post(
            mesh.url + "/v1/chat/completions",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    async with client(mesh) as c:
        with pytest.raises(openai.BadRequestError):
            await c.chat.completions.create(model="mesh", messages=[])


async def test_the_mesh_events_header_turns_progress_on_for_any_client(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "model": "mesh",
        "stream": True,
        "messages": [{"role": "user", "content": "write a poem about the sea"}],
    }
    frames: list[str] = []
    async with httpx.AsyncClient(timeout=30) as h:
        async for msg in read_sse(
            h,
            "POST",
            mesh.url + "/v1/chat/completions",
            json=body,
            headers={"X-Mesh-Events": "true"},
        ):
            frames.append(msg.data)
            if msg.data == "[DONE]":
                break
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    types = [c["mesh"]["type"] for c in chunks if "mesh" in c and not c["choices"]]
    assert types[0] == "run" and types[-1] == "done" and "plan" in types
