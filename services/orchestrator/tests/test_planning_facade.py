"""The planning facade: which planner plans, the LLM's attempts with the no-LLM hint, the
fallback, honest refusals, and the plan-only route that asks the same facade."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import collect
from test_orchestrator_approval import post

from mesh_contracts import AgentDescriptor, CapabilitiesManifest, ExecutionPlan, manifest_of
from mesh_orchestrator.planning.choice import llm_plans
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.facade import INLINE_CHARS, Planning
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.llm import PlanRejected
from mesh_orchestrator.settings import Settings


def _manifest() -> CapabilitiesManifest:
    writer = AgentDescriptor(
        agent_id="writer",
        instance_id="writer-1",
        name="writer",
        endpoint="http://127.0.0.1:9",
        capabilities=["text_generation", "translation"],
        input_schema={"type": "object", "properties": {"prompt": {"type": "string"}}},
    )
    lookup = AgentDescriptor(
        agent_id="lookup",
        instance_id="lookup-1",
        name="lookup",
        endpoint="http://127.0.0.1:9",
        capabilities=["search"],
        input_schema={"type": "object", "properties": {"query": {"type": "string"}}},
    )
    return manifest_of([writer, lookup], index=1)


class ScriptedLLM:
    """A fake LLM planner (unit tests only): answers from a script, records each hint."""

    def __init__(self, *answers: ExecutionPlan | str) -> None:
        self.answers = list(answers)
        self.hints: list[ExecutionPlan | None] = []

    async def plan(
        self, query: str, manifest: CapabilitiesManifest, hint: ExecutionPlan | None = None
    ) -> ExecutionPlan:
        self.hints.append(hint)
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            raise PlanRejected(answer)
        return answer


def _one(cap: str) -> ExecutionPlan:
    return ExecutionPlan.model_validate(
        {"tasks": [{"task_id": "t1", "capability": cap, "input": {"prompt": "p"}}]}
    )


async def test_without_an_llm_the_no_llm_planner_plans_and_says_why_per_task() -> None:
    out = await Planning(IntentPlanner()).plan("Look up who built the Colosseum", _manifest())
    assert out.planner == "intent" and out.plan is not None
    assert [t.capability for t in out.plan.tasks] == ["search"]
    assert out.reasons and out.reasons[0].startswith("t1 search")
    assert out.rejected == [] and out.unresolvable == []


async def test_the_llm_plans_first_and_sees_the_no_llm_plan_as_its_hint() -> None:
    llm = ScriptedLLM(_one("text_generation"))
    out = await Planning(IntentPlanner(), llm).plan("Busca quién fundó Roma", _manifest())
    assert out.planner == "llm" and out.plan is not None and out.plan.planner == "llm"
    (hint,) = llm.hints
    assert hint is not None and [t.capability for t in hint.tasks] == ["search"]


async def test_refused_llm_plans_fall_back_to_the_no_llm_plan_with_each_refusal_kept() -> None:
    llm = ScriptedLLM("the model answered in prose", "invalid plan: cycle")
    seen: list[tuple[int, str, str | None]] = []
    out = await Planning(IntentPlanner(), llm, attempts=2).plan(
        "write a haiku about moss", _manifest(), lambda *a: seen.append(a)
    )
    assert out.planner == "intent" and out.plan is not None
    assert [(r.attempt, r.reason) for r in out.rejected] == [
        (1, "the model answered in prose"),
        (2, "invalid plan: cycle"),
    ]
    assert [s[1] for s in seen] == ["running", "rejected", "running", "rejected"]
    assert "attempt 2: invalid plan: cycle" in out.summary()


class TimingOutLLM(ScriptedLLM):
    """A fake LLM planner (unit tests only) whose first attempt times out."""

    async def plan(
        self, query: str, manifest: CapabilitiesManifest, hint: ExecutionPlan | None = None
    ) -> ExecutionPlan:
        if not self.hints:
            self.hints.append(hint)
            raise PlanRejected("the LLM did not answer within 60s", retry=False)
        return await super().plan(query, manifest, hint)


async def test_a_timed_out_llm_is_not_tried_again_and_the_draft_wins_at_once() -> None:
    llm = TimingOutLLM(_one("text_generation"))
    out = await Planning(IntentPlanner(), llm, attempts=2).plan(
        "write a haiku about moss", _manifest()
    )
    assert out.planner == "intent" and len(llm.hints) == 1
    assert [(r.attempt, r.reason) for r in out.rejected] == [
        (1, "the LLM did not answer within 60s")
    ]


async def test_a_request_nobody_serves_is_declined_with_its_parts_named() -> None:
    out = await Planning(IntentPlanner()).plan("Book me a table and pay my gas bill", _manifest())
    assert out.plan is None and out.declined and out.error is None
    assert any("book me a table" in p.lower() for p in out.unresolvable)
    assert any("pay my gas bill" in p.lower() for p in out.unresolvable)


async def test_nothing_registered_is_an_error_not_a_refusal() -> None:
    empty = CapabilitiesManifest(index=0, capabilities=[])
    out = await Planning(IntentPlanner()).plan("write a poem", empty)
    assert out.plan is None and not out.declined and out.error is not None


def test_the_embedded_smollm2_does_not_plan_under_auto_but_a_capable_llm_does() -> None:
    assert not llm_plans(Settings(llm_base_url="http://x/v1"))
    assert llm_plans(Settings(llm_base_url="http://x/v1", llm_model="gpt-4o-mini"))
    assert llm_plans(Settings(llm_base_url="http://x/v1", planner="llm"))
    assert not llm_plans(Settings(llm_base_url="http://x/v1", llm_model="m", planner="intent"))


def test_the_old_llm_switches_still_work_and_say_they_are_deprecated(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ORCH_LLM_PLANNING", "false")
    monkeypatch.setenv("ORCH_LLM_SYNTHESIS", "false")
    with caplog.at_level(logging.WARNING):
        s = Settings()
    assert s.planner == "intent" and s.synthesis == "deterministic"
    assert "ORCH_LLM_PLANNING is deprecated" in caplog.text
    assert "ORCH_LLM_SYNTHESIS is deprecated" in caplog.text
    monkeypatch.setenv("ORCH_PLANNER", "semantic")
    assert Settings().planner == "intent"


async def test_the_plan_route_declines_an_unservable_request_with_an_honest_answer(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    r = await post(mesh.url + "/v1/plans", {"query": "Order two pizzas to my office"})
    body = r.json()
    assert r.status_code == 200 and body["plan"] is None and body["tasks"] == []
    assert any("order two pizzas" in p.lower() for p in body["unresolvable"])
    assert body["answer"].startswith("No agent in this mesh can do this")
    assert "text generation" in body["answer"]  # what the mesh can do


async def test_the_plan_route_shows_the_llm_refusals_before_the_fallback(mesh_factory: Any) -> None:
    mesh: Mesh = await mesh_factory(llm=FakeListChatModel(responses=["no idea", "still prose"]))
    await mesh.register(writer_like(mesh.workers[0].url))
    body = (await post(mesh.url + "/v1/plans", {"query": "write a poem about rain"})).json()
    assert body["planner"] == "intent"
    assert [r["attempt"] for r in body["rejected"]] == [1, 2]


async def test_an_unservable_run_completes_with_an_honest_answer_not_a_failure(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "Transfer 50 euros to Anna and call my dentist"})
    types = [e["type"] for e in events]
    assert "error" not in types and "plan" not in types
    result = [e for e in events if e["type"] == "result"][-1]["data"]
    assert result["status"] == "completed"
    assert "No agent in this mesh can do this" in result["answer"]
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed"
    assert mesh.worker(0).calls == []


async def test_small_talk_is_answered_by_the_writer(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "Hello!"})
    plan = next(e for e in events if e["type"] == "plan")["data"]["plan"]
    assert [t["capability"] for t in plan["tasks"]] == ["text_generation"]
    assert len(mesh.worker(0).calls) == 1


def test_an_empty_request_is_refused_by_the_planner() -> None:
    with pytest.raises(PlanningFailed):
        IntentPlanner().plan_sync("   ", _manifest())


class _TwoWays:
    """A planner that drafts either on the caller's thread (``draft_sync``) or as a
    coroutine (``draft``, the intent planner's thread), and says which ran."""

    name = "two-ways"

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.inner = IntentPlanner()

    def draft_sync(self, query: str, manifest: CapabilitiesManifest) -> Any:
        self.ran.append("sync")
        return self.inner.draft_sync(query, manifest)

    async def draft(self, query: str, manifest: CapabilitiesManifest) -> Any:
        self.ran.append("thread")
        return self.inner.draft_sync(query, manifest)

    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        raise AssertionError("the facade asks for a draft")


async def test_a_short_request_is_drafted_without_a_thread_and_a_long_one_in_one() -> None:
    planner = _TwoWays()
    planning = Planning(planner)
    short = await planning.plan("Write a short poem about the sea.", _manifest())
    assert short.plan is not None and planner.ran == ["sync"]
    long_query = "Write a short poem about the sea, " + "and the waves " * (INLINE_CHARS // 10)
    assert len(long_query) > INLINE_CHARS
    long = await planning.plan(long_query, _manifest())
    assert long.plan is not None and planner.ran == ["sync", "thread"]
