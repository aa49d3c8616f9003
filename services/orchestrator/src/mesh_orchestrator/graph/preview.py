"""Plan-only: what a run of a query would do, without running it (``POST /v1/plans``).

``PlanPreview.plan`` asks the same planning facade as the graph's ``plan`` node (the LLM
first when one is configured, with the no-LLM plan as its hint and fallback), against the
capabilities available now; then the resolver says, per task, which instances could serve
it and why each one is or is not a candidate (``Resolver.explain``), and which tasks nobody
can run now. Nothing is stored and no worker is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mesh_contracts import ExecutionPlan
from mesh_orchestrator.graph.nodes import GraphDeps, available_manifest
from mesh_orchestrator.planning.facade import PlanOutcome
from mesh_orchestrator.synthesis.decline import decline_answer


@dataclass
class Preview:
    """A planning outcome and what would run it. ``unresolvable_tasks``: task_id -> why no
    instance can run it now; ``routes``: task_id -> the resolver's candidates."""

    outcome: PlanOutcome
    answer: str | None = None  # the honest answer when nothing can be planned
    unresolvable_tasks: dict[str, str] = field(default_factory=dict)
    routes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON answer of ``POST /v1/plans``."""
        o = self.outcome
        tasks = []
        plan: ExecutionPlan | None = o.plan
        for t in plan.tasks if plan is not None else []:
            row = t.model_dump(mode="json")
            candidates = self.routes.get(t.task_id, [])
            row["candidates"] = candidates
            row["would_pick"] = next((c["instance_id"] for c in candidates if c["pick"]), None)
            if t.task_id in self.unresolvable_tasks:
                row["unresolvable"] = self.unresolvable_tasks[t.task_id]
            tasks.append(row)
        body: dict[str, Any] = {
            "planner": o.planner,
            "reasons": o.reasons,
            "rejected": [
                {"planner": r.planner, "attempt": r.attempt, "reason": r.reason} for r in o.rejected
            ],
            "unresolvable": o.unresolvable,
            "tasks": tasks,
            "plan": plan.model_dump(mode="json") if plan is not None else None,
        }
        if self.answer is not None:
            body["answer"] = self.answer
        return body


class PlanPreview:
    """Plans a query as a run would, for ``POST /v1/plans``. ``outcome.error`` set (nothing
    registered, an empty request) is for the route to turn into a 422."""

    def __init__(self, deps: GraphDeps) -> None:
        self.deps = deps

    async def plan(self, query: str) -> Preview:
        d = self.deps
        manifest = available_manifest(d.manifest(), d.resolver)
        outcome = await d.planning.plan(query, manifest)
        if outcome.plan is None:
            answer = decline_answer(outcome.unresolvable, manifest) if outcome.declined else None
            return Preview(outcome, answer)
        resolver = d.resolver
        routes: dict[str, list[dict[str, Any]]] = {}
        for t in outcome.plan.tasks:
            pick = resolver.pick(t)
            routes[t.task_id] = [
                c | {"pick": pick is not None and c["instance_id"] == pick.instance_id}
                for c in resolver.explain(t)
            ]
        return Preview(
            outcome,
            unresolvable_tasks=resolver.unresolvable(outcome.plan),
            routes=routes,
        )
