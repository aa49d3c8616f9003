"""Threads: follow-ups that plan against earlier output (native API, OpenAI messages, A2A
contextId), a thread's runs, and double-texting (reject, enqueue, interrupt), against fake
workers served on loopback."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import collect, plan, wait_for

FIRST = ["Rain falls softly on the roofs.", "\n\n", "The sun comes back at noon."]
FOLLOW_UP = "now translate the second paragraph into German"


def _writer(mesh: Mesh) -> Any:
    return writer_like(
        mesh.workers[0].url, capabilities=["text_generation", "summarization", "translation"]
    )


async def _thread(c: httpx.AsyncClient, url: str) -> str:
    r = await c.post(url + "/v1/threads", json={})
    assert r.status_code == 201, r.text
    thread_id: str = r.json()["thread_id"]
    return thread_id


async def _status(c: httpx.AsyncClient, url: str, run_id: str) -> str:
    got: str = (await c.get(f"{url}/v1/runs/{run_id}")).json()["status"]
    return got


async def _start(c: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    """Start a run that goes on without its client (``/orchestrate`` with the stream left
    once the run event is out)."""
    async with c.stream("POST", url + "/orchestrate/stream", json=body) as r:
        if r.status_code != 200:
            await r.aread()
            return r
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                break
    return r


async def _run_id_of(c: httpx.AsyncClient, url: str, thread_id: str, n: int) -> str:
    runs: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal runs
        runs = (await c.get(f"{url}/v1/threads/{thread_id}")).json()["runs"]
        return len(runs) >= n

    await wait_for(enough, f"{n} runs on the thread")
    run_id: str = runs[n - 1]["run_id"]
    return run_id


async def test_a_follow_up_on_a_thread_translates_the_second_paragraph_of_the_earlier_answer(
    mesh: Mesh,
) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = await _thread(c, mesh.url)
        first = await c.post(
            mesh.url + "/orchestrate",
            json={
                "plan": plan({"task_id": "essay", "input": {"tokens": FIRST}}),
                "thread_id": thread_id,
            },
        )
        assert first.json()["status"] == "completed"
        second = await c.post(
            mesh.url + "/orchestrate", json={"query": FOLLOW_UP, "thread_id": thread_id}
        )
        assert second.status_code == 200 and second.json()["thread_id"] == thread_id
        [task] = second.json()["plan"]
        got = (await c.get(f"{mesh.url}/v1/threads/{thread_id}")).json()
        run = (await c.get(f"{mesh.url}/v1/runs/{second.json()['run_id']}")).json()
    assert task["capability"] == "translation"
    # the reference became the task's input text: the second paragraph, not the first
    assert "The sun comes back at noon." in task["input"]["prompt"]
    assert "Rain falls" not in task["input"]["prompt"]
    assert "into German" in task["input"]["prompt"]
    assert [r["run_id"] for r in got["runs"]] == [first.json()["run_id"], run["run_id"]]
    assert got["runs"][0]["answer"] and run["thread_id"] == thread_id
    plan_event = run["plan"]
    assert plan_event[0]["status"] == "completed"


async def test_the_writer_is_sent_the_conversation_of_its_thread(mesh: Mesh) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = await _thread(c, mesh.url)
        body = {
            "plan": plan({"task_id": "essay", "input": {"tokens": FIRST}}),
            "thread_id": thread_id,
        }
        await c.post(mesh.url + "/orchestrate", json=body)
        echo = {"plan": plan({"task_id": "e", "input": {"echo_context": True, "prompt": "go on"}})}
        second = await c.post(mesh.url + "/orchestrate", json={**echo, "thread_id": thread_id})
        alone = await c.post(mesh.url + "/orchestrate", json=echo)
    context = second.json()["results"]["e"]["output"]["context"]
    assert context["conversation"].startswith("User: ")
    assert "The sun comes back at noon." in context["conversation"]
    assert "conversation" not in alone.json()["results"]["e"]["output"]["context"]


async def test_a_thread_is_its_clients_and_an_unknown_one_is_a_404(mesh: Mesh) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        missing = await c.post(
            mesh.url + "/orchestrate", json={"query": "write a poem", "thread_id": "nope"}
        )
        read = await c.get(mesh.url + "/v1/threads/nope")
        named = await c.post(mesh.url + "/v1/threads", json={"thread_id": "t-1"})
        again = await c.post(mesh.url + "/v1/threads", json={"thread_id": "t-1"})
        bad = await c.post(mesh.url + "/v1/threads", json={"thread_id": "a b/c"})
    assert missing.status_code == 404 and "unknown thread" in missing.json()["detail"]
    assert read.status_code == 404
    assert named.status_code == 201 and named.json()["thread_id"] == "t-1"
    assert again.status_code == 409
    assert bad.status_code == 422


async def test_reject_answers_409_while_the_threads_run_is_running(mesh: Mesh) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = await _thread(c, mesh.url)
        gated = {
            "plan": plan({"task_id": "t", "input": {"gate": "rj"}}),
            "thread_id": thread_id,
            "options": {"on_disconnect": "continue"},
        }
        await _start(c, mesh.url, gated)
        first = await _run_id_of(c, mesh.url, thread_id, 1)
        refused = await c.post(
            mesh.url + "/orchestrate",
            json={"query": "write a poem", "thread_id": thread_id, "multitask_strategy": "reject"},
        )
        await c.post(mesh.workers[0].url + "/release/rj")
        await wait_for(lambda: _done(c, mesh.url, first), "the first run to end")
        later = await c.post(
            mesh.url + "/orchestrate",
            json={"query": "write a poem", "thread_id": thread_id, "multitask_strategy": "reject"},
        )
        runs = (await c.get(f"{mesh.url}/v1/threads/{thread_id}")).json()["runs"]
    assert refused.status_code == 409
    assert first in refused.json()["detail"] and "busy" in refused.json()["detail"]
    assert later.status_code == 200 and later.json()["status"] == "completed"
    assert len(runs) == 2  # the refused one never joined the thread


async def _done(c: httpx.AsyncClient, url: str, run_id: str) -> bool:
    return await _status(c, url, run_id) not in ("running", "awaiting_approval")


async def test_enqueue_waits_for_the_running_run_then_plans_against_its_answer(
    mesh: Mesh,
) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = await _thread(c, mesh.url)
        gated = {
            "plan": plan({"task_id": "essay", "input": {"gate": "eq", "tokens": FIRST}}),
            "thread_id": thread_id,
            "options": {"on_disconnect": "continue"},
        }
        await _start(c, mesh.url, gated)
        first = await _run_id_of(c, mesh.url, thread_id, 1)
        # its task reached the worker (and waits at the gate) before the follow-up is sent
        await wait_for(lambda: mesh.worker(0).started, "the first run's task to start")

        async def queued(e: dict[str, Any]) -> bool:
            return e["type"] == "status" and e["data"].get("status") == "queued"

        # the default strategy: the follow-up is accepted and waits its turn
        body = {
            "query": FOLLOW_UP,
            "thread_id": thread_id,
            "options": {"on_disconnect": "continue"},
        }
        events = await collect(mesh.url, body, until=queued)
        second = events[0]["run_id"]
        assert events[-1]["data"] == {
            "phase": "thread",
            "status": "queued",
            "reason": f"after run {first}",
        }
        assert await _status(c, mesh.url, first) == "running"
        assert await _status(c, mesh.url, second) == "running"
        assert len(mesh.worker(0).started) == 1  # only the first run's task has started
        await c.post(mesh.workers[0].url + "/release/eq")
        await wait_for(lambda: _done(c, mesh.url, second), "the queued run to end", 20)
        got = (await c.get(f"{mesh.url}/v1/runs/{second}")).json()
        one = (await c.get(f"{mesh.url}/v1/runs/{first}")).json()
    assert one["status"] == "completed" and got["status"] == "completed"
    assert one["finished_at"] <= got["plan"][0]["started_at"]
    assert "The sun comes back at noon." in got["plan"][0]["input"]["prompt"]


async def test_interrupt_cancels_the_running_run_and_starts_the_new_one(mesh: Mesh) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = await _thread(c, mesh.url)
        hanging = {
            "plan": plan({"task_id": "long", "input": {"hang": True}}),
            "thread_id": thread_id,
            "options": {"on_disconnect": "continue"},
        }
        await _start(c, mesh.url, hanging)
        first = await _run_id_of(c, mesh.url, thread_id, 1)
        await wait_for(lambda: "long" in mesh.worker(0).started, "the first run's task to start")
        r = await c.post(
            mesh.url + "/orchestrate",
            json={
                "plan": plan({"task_id": "short", "input": {"tokens": ["new"]}}),
                "thread_id": thread_id,
                "multitask_strategy": "interrupt",
            },
        )
        one = (await c.get(f"{mesh.url}/v1/runs/{first}")).json()
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert r.json()["results"]["short"]["output"] == "new"
    assert one["status"] == "cancelled"
    assert "long" in mesh.worker(0).cancelled  # the worker's generation was stopped


async def test_the_openai_messages_are_the_thread_and_the_last_user_message_the_request(
    mesh: Mesh,
) -> None:
    await mesh.register(_writer(mesh))
    body = {
        "model": "mesh",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "write two paragraphs about rain"},
            {"role": "assistant", "content": "".join(FIRST)},
            {"role": "user", "content": FOLLOW_UP},
        ],
    }
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(mesh.url + "/v1/chat/completions", json=body)
        assert r.status_code == 200, r.text
        run = (await c.get(f"{mesh.url}/v1/runs/{r.json()['mesh']['run_id']}")).json()
    [task] = run["plan"]
    assert run["query"] == FOLLOW_UP
    assert "The sun comes back at noon." in task["input"]["prompt"]
    assert "Rain falls" not in task["input"]["prompt"]


async def test_a2a_messages_with_one_context_id_are_one_thread(mesh: Mesh) -> None:
    await mesh.register(_writer(mesh))

    def message(text: str | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{"text": text}] if text else []
        if data is not None:
            parts.append({"data": data})
        return {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "SendMessage",
            "params": {
                "message": {
                    "messageId": f"m-{text or 'plan'}",
                    "role": "ROLE_USER",
                    "contextId": "ctx-rain",
                    "parts": parts,
                }
            },
        }

    headers = {"A2A-Version": "1.0"}
    async with httpx.AsyncClient(timeout=30) as c:
        one = await c.post(
            mesh.url + "/a2a",
            json=message(None, {"plan": plan({"task_id": "essay", "input": {"tokens": FIRST}})}),
            headers=headers,
        )
        two = await c.post(mesh.url + "/a2a", json=message(FOLLOW_UP), headers=headers)
        assert "result" in two.json(), two.text
        task = two.json()["result"]["task"]
        run = (await c.get(f"{mesh.url}/v1/runs/{task['id']}")).json()
        thread = (await c.get(mesh.url + "/v1/threads/ctx-rain")).json()
    assert task["contextId"] == "ctx-rain"
    assert [r["run_id"] for r in thread["runs"]] == [one.json()["result"]["task"]["id"], task["id"]]
    assert "The sun comes back at noon." in run["plan"][0]["input"]["prompt"]


async def test_a_thread_of_queued_runs_keeps_their_order(mesh: Mesh) -> None:
    await mesh.register(_writer(mesh))
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = await _thread(c, mesh.url)
        bodies = [
            {"plan": plan({"task_id": "t", "input": {"tokens": [str(i)]}}), "thread_id": thread_id}
            for i in range(3)
        ]
        answers = await asyncio.gather(*(c.post(mesh.url + "/orchestrate", json=b) for b in bodies))
        runs = (await c.get(f"{mesh.url}/v1/threads/{thread_id}")).json()["runs"]
    assert all(a.json()["status"] == "completed" for a in answers)
    assert len(runs) == 3
    # started at once, they were ordered on the thread: each after the one before it
    assert runs[0]["after_run"] is None
    for before, after in itertools.pairwise(runs):
        assert after["after_run"] == before["run_id"]
        assert before["finished_at"] <= after["finished_at"]
