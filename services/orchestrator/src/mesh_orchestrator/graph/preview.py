"""Plan-only: what a run of a query would do, without running it (``POST /v1/plans``).

``PlanPreview.plan`` follows the graph's planning edges with the same dependencies: the LLM
planner first when one is configured (up to ``max_llm_attempts``, each rejection kept as a
reason), else or then the planner that needs no LLM, against the capabilities available
now; then the resolver says, per task, which instances could serve it and why each one is
or is not a candidate (``Resolver.explain``), and which tasks nobody can run now. Nothing is
stored and no worker is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mesh_contracts import ExecutionPlan
from mesh_orchestrator.graph.nodes import GraphDeps, available_manifest
from mesh_orchestrator.planning.llm import PlanRejected

# What a planner's ``reasoning`` puts before the clauses no capability serves.
_UNRESOLVABLE = "unresolvable (no capability serves it, left out): "


@dataclass
class Preview:
    """A plan and what would run it. ``reasons``: why this planner and this plan (LLM
    rejections, the planner's own notes); ``unresolvable_clauses``: parts of the request no
    capability serves (left out of the plan); ``unresolvable_tasks``: task_id -> why no
    instance can run it now; ``routes``: task_id -> the resolver's candidates."""

    plan: ExecutionPlan
    planner: str
    reasons: list[str] = field(default_factory=list)
    unresolvable_clauses: list[str] = field(default_factory=list)
    unresolvable_tasks: dict[str, str] = field(default_factory=dict)
    routes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON answer of ``POST /v1/plans``."""
        tasks = []
        for t in self.plan.tasks:
            row = t.model_dump(mode="json")
            candidates = self.routes.get(t.task_id, [])
            row["candidates"] = candidates
            row["would_pick"] = next((c["instance_id"] for c in candidates if c["pick"]), None)
            if t.task_id in self.unresolvable_tasks:
                row["unresolvable"] = self.unresolvable_tasks[t.task_id]
            tasks.append(row)
        return {
            "planner": self.planner,
            "reasons": self.reasons,
            "unresolvable": self.unresolvable_clauses,
            "tasks": tasks,
            "plan": self.plan.model_dump(mode="json"),
        }


class PlanPreview:
    """Plans a query as a run would, for ``POST /v1/plans``. ``PlanningFailed`` propagates
    (nothing in the request can be served, nothing is registered)."""

    def __init__(self, deps: GraphDeps, max_llm_attempts: int = 2) -> None:
        self.deps = deps
        self.max_llm_attempts = max_llm_attempts

    async def plan(self, query: str) -> Preview:
        d = self.deps
        manifest = available_manifest(d.manifest(), d.resolver)
        reasons: list[str] = []
        plan: ExecutionPlan | None = None
        if d.llm_planner is not None:
            for attempt in range(1, self.max_llm_attempts + 1):
                try:
                    plan = await d.llm_planner.plan(query, manifest)
                    plan.planner = "llm"
                    break
                except PlanRejected as exc:
                    reasons.append(f"LLM plan rejected (attempt {attempt}): {exc.reason}")
        if plan is None:
            plan = await d.planner.plan(query, manifest)
        reasoning, _, left_out = plan.reasoning.partition(_UNRESOLVABLE)
        reasons.extend(r for r in reasoning.strip().rstrip(";").split("; ") if r)
        clauses = [c for c in left_out.split("; ") if c] if left_out else []
        if clauses:
            reasons.append(_UNRESOLVABLE + "; ".join(clauses))
        resolver = d.resolver
        routes: dict[str, list[dict[str, Any]]] = {}
        for t in plan.tasks:
            pick = resolver.pick(t)
            routes[t.task_id] = [
                c | {"pick": pick is not None and c["instance_id"] == pick.instance_id}
                for c in resolver.explain(t)
            ]
        return Preview(
            plan=plan,
            planner=plan.planner,
            reasons=reasons,
            unresolvable_clauses=clauses,
            unresolvable_tasks=resolver.unresolvable(plan),
            routes=routes,
        )
