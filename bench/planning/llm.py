"""The LLM planner in the benchmark: ``llm`` and ``llm+fallback``.

``llm`` is one attempt of ``LLMPlanner`` against an OpenAI-compatible ``/v1`` with the no-LLM
(intent) plan as its hint, exactly as a run asks it; a refused answer counts as no plan.
``llm+fallback`` is what a run then does (the planning facade): that LLM plan when it was
accepted, the intent plan otherwise. The second reuses the first's answers, so the LLM is
asked once per request.
"""

from __future__ import annotations

from typing import Any

from mesh_contracts import CapabilitiesManifest, ExecutionPlan
from mesh_orchestrator.planning.deterministic import Planner
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.planning.llm import LLMPlanner, PlanRejected


class _Once:
    """The LLM's answer per request, asked once (a refusal is kept as its reason)."""

    def __init__(self, planner: LLMPlanner) -> None:
        self.planner = planner
        self.answers: dict[str, ExecutionPlan | str] = {}

    async def plan(
        self, query: str, manifest: CapabilitiesManifest, hint: ExecutionPlan | None = None
    ) -> ExecutionPlan:
        if query not in self.answers:
            try:
                self.answers[query] = await self.planner.plan(query, manifest, hint)
            except PlanRejected as exc:
                self.answers[query] = exc.reason
        answer = self.answers[query]
        if isinstance(answer, str):
            raise PlanRejected(answer)
        return answer.model_copy(deep=True)


class _Facade:
    """A ``Planner`` over the facade: its plan, or ``PlanRejected`` when it has none."""

    def __init__(self, planning: Planning, alone: bool) -> None:
        self.planning = planning
        self.alone = alone

    async def plan(self, query: str, manifest: CapabilitiesManifest) -> ExecutionPlan:
        out = await self.planning.plan(query, manifest)
        if out.plan is None or (self.alone and out.planner != "llm"):
            reason = "; ".join(r.reason for r in out.rejected) or out.error or "declined"
            raise PlanRejected(reason)
        return out.plan


def llm_planners(url: str, model: str, intent: Planner) -> dict[str, Any]:
    from mesh_orchestrator.llm import build_chat_model
    from mesh_orchestrator.settings import Settings

    # twice a run's limit (a small model on a shared CPU), for the planner and the client alike
    slow = Settings().llm_timeout_seconds * 2
    settings = Settings(
        llm_base_url=url, llm_model=model, llm_temperature=0.0, llm_timeout_seconds=slow
    )
    once = _Once(
        LLMPlanner(
            build_chat_model(settings, max_tokens=settings.llm_plan_max_tokens),
            timeout_seconds=settings.llm_timeout_seconds,
        )
    )
    planning = Planning(intent, once, attempts=1)
    return {"llm": _Facade(planning, alone=True), "llm+fallback": _Facade(planning, alone=False)}
