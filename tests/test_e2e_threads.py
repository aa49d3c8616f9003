"""A follow-up on a thread, end to end on real processes: discovery, the analyst and the
writer (its real local model) and the orchestrator on loopback, over real HTTP.

"now translate the second paragraph into German" after an analysis is planned against the
earlier answer on each of the three surfaces that carry a conversation: the native API
(``thread_id``), the OpenAI-compatible endpoint (the whole ``messages`` list) and A2A (one
``contextId``). The follow-up's translation task gets the second paragraph of the earlier
answer (not the first) as its input, and the writer process runs it.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import httpx
import pytest

from mesh_testkit.mesh import ProcessMesh

WORKERS = {
    "lookup": "mesh_worker_lookup",
    "analyst": "mesh_worker_analyst",
    "writer": "mesh_worker_writer",
}
CSV = "city,temp,rain\nOslo,4,80\nRome,18,40\nCairo,30,2\nLima,19,1\n"
FIRST = f"Look up the speed of light. Analyze this CSV:\n{CSV}"
FOLLOW_UP = "now translate the second paragraph into German"
A2A = {"A2A-Version": "1.0"}

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in WORKERS.values()),
    reason="a worker package (lookup, analyst, writer) is not importable",
)


@pytest.fixture(scope="module")
def mesh(model_mesh: ProcessMesh) -> ProcessMesh:
    """The session's mesh (``model_mesh`` in conftest.py): every worker, the writer's model
    generating at most 12 tokens, shared with the orchestrator's tests."""
    return model_mesh


def paragraphs(text: str) -> list[str]:
    """A text's paragraphs: its blocks between blank lines."""
    return [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]


def text_lines(paragraph: str) -> list[str]:
    """A paragraph's lines but the ``[t2 data_analysis] <request>`` one naming its step."""
    return [ln for ln in paragraph.splitlines() if not re.match(r"\[t\d+ \w+\]", ln)]


def translation_task(run: dict[str, Any]) -> dict[str, Any]:
    """The follow-up run's translation task (as ``GET /v1/runs/{id}`` shows its plan)."""
    tasks = [t for t in run["plan"] if t["capability"] == "translation"]
    assert len(tasks) == 1, run["plan"]
    return tasks[0]


def check_follow_up(run: dict[str, Any], earlier_answer: str) -> None:
    """The follow-up was planned against ``earlier_answer``: its second paragraph (not its
    first) is the translation's input, and the writer process ran it. A paragraph of the
    answer is a sub-task's output under a ``[t1 search] <request>`` line; its text (each of
    its other lines) is what must be (or must not be) in the task's input."""
    first, second = (text_lines(p) for p in paragraphs(earlier_answer)[:2])
    task = translation_task(run)
    prompt = str(task["input"]["prompt"])
    assert first and second
    assert all(line in prompt for line in second), (second, prompt)
    assert not any(line in prompt for line in first), (first, prompt)
    assert "German" in prompt
    assert run["status"] == "completed", run
    assert task["status"] == "completed"


async def test_a_native_follow_up_on_a_thread_plans_against_the_earlier_answer(
    mesh: ProcessMesh,
) -> None:
    async with httpx.AsyncClient(timeout=300) as c:
        r = await c.post(mesh.url + "/v1/threads", json={})
        assert r.status_code == 201, r.text
        thread_id = r.json()["thread_id"]
        one = await c.post(mesh.url + "/orchestrate", json={"query": FIRST, "thread_id": thread_id})
        assert one.status_code == 200 and one.json()["status"] == "completed", one.text
        two = await c.post(
            mesh.url + "/orchestrate", json={"query": FOLLOW_UP, "thread_id": thread_id}
        )
        assert two.status_code == 200, two.text
        earlier = (await c.get(f"{mesh.url}/v1/runs/{one.json()['run_id']}")).json()
        run = (await c.get(f"{mesh.url}/v1/runs/{two.json()['run_id']}")).json()
        thread = (await c.get(f"{mesh.url}/v1/threads/{thread_id}")).json()
    assert [t["run_id"] for t in thread["runs"]] == [earlier["run_id"], run["run_id"]]
    assert len(paragraphs(earlier["answer"])) >= 2
    check_follow_up(run, earlier["answer"])


async def test_an_openai_chat_follow_up_plans_against_the_earlier_assistant_message(
    mesh: ProcessMesh,
) -> None:
    """A chat client's conversation: the first answer comes from the endpoint itself, and
    the next request sends the whole chat back (system, user, assistant, user)."""
    chat: list[dict[str, str]] = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": FIRST},
    ]
    async with httpx.AsyncClient(timeout=300) as c:
        body = {"model": "mesh", "messages": chat}
        one = await c.post(mesh.url + "/v1/chat/completions", json=body)
        assert one.status_code == 200, one.text
        answer = one.json()["choices"][0]["message"]["content"]
        chat += [{"role": "assistant", "content": answer}, {"role": "user", "content": FOLLOW_UP}]
        body = {"model": "mesh", "messages": chat}
        two = await c.post(mesh.url + "/v1/chat/completions", json=body)
        assert two.status_code == 200, two.text
        run = (await c.get(f"{mesh.url}/v1/runs/{two.json()['mesh']['run_id']}")).json()
    assert run["query"] == FOLLOW_UP
    assert len(paragraphs(answer)) >= 2
    check_follow_up(run, answer)


async def test_an_a2a_follow_up_with_the_same_context_id_plans_against_the_earlier_task(
    mesh: ProcessMesh,
) -> None:
    def send(text: str, n: int) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": n,
            "method": "SendMessage",
            "params": {
                "message": {
                    "messageId": f"e2e-threads-{n}",
                    "role": "ROLE_USER",
                    "contextId": "ctx-e2e-analysis",
                    "parts": [{"text": text}],
                }
            },
        }

    async with httpx.AsyncClient(timeout=300) as c:
        one = await c.post(mesh.url + "/a2a", json=send(FIRST, 1), headers=A2A)
        assert "result" in one.json(), one.text
        first_task = one.json()["result"]["task"]
        two = await c.post(mesh.url + "/a2a", json=send(FOLLOW_UP, 2), headers=A2A)
        assert "result" in two.json(), two.text
        task = two.json()["result"]["task"]
        earlier = (await c.get(f"{mesh.url}/v1/runs/{first_task['id']}")).json()
        run = (await c.get(f"{mesh.url}/v1/runs/{task['id']}")).json()
        thread = (await c.get(mesh.url + "/v1/threads/ctx-e2e-analysis")).json()
    assert first_task["contextId"] == task["contextId"] == "ctx-e2e-analysis"
    assert [t["run_id"] for t in thread["runs"]] == [first_task["id"], task["id"]]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    check_follow_up(run, earlier["answer"])
