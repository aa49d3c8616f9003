"""The LLM paths of the run graph, end to end over HTTP with fake workers and a fake LLM.

The LLM is langchain's ``FakeListChatModel``: it answers the planner and then the
synthesizer from a script, so each test reads as the conversation the orchestrator has.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import collect


def _plan(*tasks: dict[str, Any]) -> str:
    return json.dumps(
        {
            "reasoning": "scripted",
            "tasks": [
                {"capability": "text_generation", "input": {"prompt": "p"}, "depends_on": [], **t}
                for t in tasks
            ],
        }
    )


def _of(
    events: list[dict[str, Any]], type_: str, task_id: str | None = None
) -> list[dict[str, Any]]:
    return [
        e for e in events if e["type"] == type_ and (task_id is None or e["task_id"] == task_id)
    ]


def _planning(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in _of(events, "status") if e["data"].get("phase") == "plan"]


async def _mesh(mesh_factory: Any, *replies: str) -> Mesh:
    mesh: Mesh = await mesh_factory(llm=FakeListChatModel(responses=list(replies)))
    await mesh.register(writer_like(mesh.workers[0].url))
    return mesh


async def test_llm_plan_runs_and_the_synthesis_streams_token_by_token(mesh_factory: Any) -> None:
    mesh = await _mesh(mesh_factory, _plan({"task_id": "t1"}), "The sea is calm.")
    events = await collect(mesh.url, {"query": "write about the sea"})
    plan = _of(events, "plan")[0]["data"]
    assert plan["planner"] == "llm" and plan["plan"]["tasks"][0]["task_id"] == "t1"
    tokens = [e["data"]["token"] for e in _of(events, "token", "synthesis")]
    assert len(tokens) > 5 and "".join(tokens) == "The sea is calm."
    result = _of(events, "result")[-1]
    assert result["task_id"] is None and result["data"]["synthesis"] == "llm"
    assert result["data"]["answer"] == "The sea is calm."
    # the synthesis tokens come after the worker's result and before the final result
    seqs = [e["seq"] for e in _of(events, "token", "synthesis")]
    assert _of(events, "result", "t1")[0]["seq"] < seqs[0] and seqs[-1] < result["seq"]


async def test_garbage_is_retried_once_then_the_no_llm_plan_takes_over(
    mesh_factory: Any,
) -> None:
    mesh = await _mesh(mesh_factory, "no idea", '{"tasks": [', "Answer.")
    events = await collect(mesh.url, {"query": "write a poem about the sea"})
    rejected = [d for d in _planning(events) if d["status"] == "rejected"]
    assert [d["attempt"] for d in rejected] == [1, 2]
    assert "no JSON object" in rejected[0]["reason"]
    assert "malformed or truncated" in rejected[1]["reason"]
    plan = _of(events, "plan")[0]["data"]
    assert plan["planner"] == "intent"  # the no-LLM fallback (ORCH_PLANNER=auto)
    assert plan["reason"].startswith("LLM plan rejected (attempt 1: ")
    assert events[-1]["data"]["status"] == "completed"


async def test_a_second_attempt_can_succeed(mesh_factory: Any) -> None:
    cyclic = _plan({"task_id": "a", "depends_on": ["b"]}, {"task_id": "b", "depends_on": ["a"]})
    mesh = await _mesh(mesh_factory, cyclic, _plan({"task_id": "only"}), "Done.")
    events = await collect(mesh.url, {"query": "write"})
    rejected = [d for d in _planning(events) if d["status"] == "rejected"]
    assert len(rejected) == 1 and "cycle" in rejected[0]["reason"]
    plan = _of(events, "plan")[0]["data"]
    assert plan["planner"] == "llm" and [t["task_id"] for t in plan["plan"]["tasks"]] == ["only"]


async def test_an_invented_capability_never_reaches_the_executor(mesh_factory: Any) -> None:
    invented = _plan({"task_id": "t1", "capability": "teleportation"})
    mesh = await _mesh(mesh_factory, invented, invented, "Answer.")
    events = await collect(mesh.url, {"query": "write a poem"})
    assert all(
        "teleportation" in d["reason"] for d in _planning(events) if d["status"] == "rejected"
    )
    plan = _of(events, "plan")[0]["data"]
    assert plan["planner"] == "intent"  # the no-LLM fallback (ORCH_PLANNER=auto)
    assert all(t["capability"] != "teleportation" for t in plan["plan"]["tasks"])


async def test_unsatisfiable_requirement_triggers_one_replan_that_the_stream_shows(
    mesh_factory: Any,
) -> None:
    needs_gpu = _plan({"task_id": "big", "requires": {"gpu": True}})
    mesh = await _mesh(mesh_factory, needs_gpu, _plan({"task_id": "small"}), "Answer.")
    events = await collect(mesh.url, {"query": "write"})
    replanning = [d for d in _planning(events) if d["status"] == "replanning"]
    assert len(replanning) == 1 and "big" in replanning[0]["reason"]
    plan = _of(events, "plan")[0]["data"]
    assert [t["task_id"] for t in plan["plan"]["tasks"]] == ["small"]
    assert plan["reason"].startswith("replanned with the capabilities available now")
    assert events[-1]["data"]["status"] == "completed"


class _DownLLM(FakeListChatModel):
    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection refused")
        yield  # pragma: no cover - makes this an async generator


async def test_unreachable_llm_falls_back_for_both_planning_and_synthesis(
    mesh_factory: Any,
) -> None:
    mesh: Mesh = await mesh_factory(llm=_DownLLM(responses=["unused"]))
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "write a poem about the sea"})
    assert _of(events, "plan")[0]["data"]["planner"] == "intent"
    synth = [e["data"] for e in _of(events, "status", "synthesis")]
    assert [d["status"] for d in synth] == ["running", "failed"]
    assert "deterministic merge" in synth[-1]["reason"]
    result = _of(events, "result")[-1]["data"]
    assert result["synthesis"] == "deterministic" and "hello world" in result["answer"]
    assert events[-1]["data"]["status"] == "completed"


async def test_a_failed_sub_task_is_acknowledged_by_the_synthesis_prompt(mesh_factory: Any) -> None:
    seen: list[str] = []

    class _Recording(FakeListChatModel):
        async def _astream(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(messages[-1].content))
            async for chunk in super()._astream(messages, *args, **kwargs):
                yield chunk

    plan = _plan({"task_id": "ok"}, {"task_id": "bad", "input": {"prompt": "p", "fail": True}})
    mesh: Mesh = await mesh_factory(llm=_Recording(responses=[plan, "Partial answer."]))
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "write"})
    assert events[-1]["data"]["status"] == "partial"
    synthesis_prompt = seen[-1]  # the first call was the planner's
    assert "[bad]" in synthesis_prompt and "FAILED: model exploded" in synthesis_prompt
