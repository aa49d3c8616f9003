"""The run's LangGraph: plan -> resolve -> execute -> synthesize, policy in the edges.

Every routing decision is a conditional edge with a named predicate, so the Mermaid diagram
drawn from the compiled graph (``python -m mesh_orchestrator.diagram``) is the whole policy:

* ``plan_is_valid`` / ``plan_is_invalid`` after ``plan``;
* ``all_tasks_resolvable``, ``should_replan`` (some task has no healthy agent and a replan
  is left: plan again with only the available capabilities), ``replans_exhausted`` (go
  through ``accept_partial``: the unresolvable tasks fail in place, the rest complete)
  after ``resolve``;
* ``run_failed`` / ``has_results`` after ``execute``.

Nodes never route; they do one job and write the state keys they own. Worker events leave
through LangGraph's custom stream (``get_stream_writer``) while ``execute`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Checkpointer

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, ManifestCapability
from mesh_orchestrator.executor import Executor, draft
from mesh_orchestrator.planner import DeterministicPlanner, Planner, PlanningFailed
from mesh_orchestrator.resolver import Resolver
from mesh_orchestrator.synthesizer import Synthesizer, run_status


class RunState(TypedDict, total=False):
    run_id: str
    query: str
    client_plan: dict[str, Any] | None
    timeout_seconds: float | None
    plan: dict[str, Any] | None
    planner: str
    reason: str
    plan_error: str | None
    replans: int
    max_replans: int
    unresolvable: dict[str, str]
    results: dict[str, dict[str, Any]]
    status: str
    answer: str


@dataclass
class GraphDeps:
    """What the nodes use; shared by every run."""

    manifest: Any  # Callable[[], CapabilitiesManifest]
    resolver: Resolver
    executor: Executor
    planner: Planner
    synthesizer: Synthesizer
    fallback_planner: Planner


# ---- predicates (the policy) -------------------------------------------------------------


def plan_is_valid(state: RunState) -> bool:
    return state.get("plan") is not None and not state.get("plan_error")


def all_tasks_resolvable(state: RunState) -> bool:
    return not state.get("unresolvable")


def should_replan(state: RunState) -> bool:
    """Unresolvable tasks, a planner-made plan, and a replan left."""
    return (
        not all_tasks_resolvable(state)
        and state.get("planner") != "client"
        and state.get("replans", 0) < state.get("max_replans", 1)
    )


def run_failed(state: RunState) -> bool:
    results = state.get("results") or {}
    return not any(r.get("status") == "completed" for r in results.values())


def route_after_plan(state: RunState) -> str:
    return "plan_is_valid" if plan_is_valid(state) else "plan_is_invalid"


def route_after_resolve(state: RunState) -> str:
    if all_tasks_resolvable(state):
        return "all_tasks_resolvable"
    return "should_replan" if should_replan(state) else "replans_exhausted"


def route_after_execute(state: RunState) -> str:
    return "run_failed" if run_failed(state) else "has_results"


# ---- nodes ---------------------------------------------------------------------------------


def _available(manifest: CapabilitiesManifest, resolver: Resolver) -> CapabilitiesManifest:
    keep = resolver.available_capabilities()
    caps: list[ManifestCapability] = [c for c in manifest.capabilities if c.name in keep]
    return CapabilitiesManifest(index=manifest.index, capabilities=caps)


async def _make_plan(deps: GraphDeps, query: str) -> tuple[ExecutionPlan, str]:
    """The planner's plan, or the deterministic one when it fails (reason says so)."""
    manifest = _available(deps.manifest(), deps.resolver)
    if deps.planner is not deps.fallback_planner:
        try:
            plan = await deps.planner.plan(query, manifest)
            return plan, plan.reasoning or "planned by the LLM"
        except Exception as exc:
            plan = await deps.fallback_planner.plan(query, manifest)
            return plan, f"LLM planner failed ({exc}); deterministic plan: {plan.reasoning}"
    plan = await deps.fallback_planner.plan(query, manifest)
    return plan, plan.reasoning


def build_graph(deps: GraphDeps | None = None, checkpointer: Checkpointer = None) -> Any:
    """Compile the run graph. ``deps`` may be None only to draw the diagram."""

    def need() -> GraphDeps:
        assert deps is not None, "graph built without dependencies"
        return deps

    async def plan(state: RunState) -> RunState:
        if state.get("client_plan"):
            return {
                "plan": state["client_plan"],
                "planner": "client",
                "reason": "plan supplied by the client",
                "plan_error": None,
            }
        try:
            p, reason = await _make_plan(need(), state["query"])
        except PlanningFailed as exc:
            return {"plan": None, "plan_error": str(exc)}
        return {"plan": p.model_dump(mode="json"), "planner": p.planner, "reason": reason}

    async def resolve(state: RunState) -> RunState:
        p = ExecutionPlan.model_validate(state["plan"])
        return {"unresolvable": need().resolver.unresolvable(p)}

    async def replan(state: RunState) -> RunState:
        replans = state.get("replans", 0) + 1
        missing = ", ".join(f"{k}: {v}" for k, v in (state.get("unresolvable") or {}).items())
        try:
            p, reason = await _make_plan(need(), state["query"])
        except PlanningFailed as exc:
            return {"replans": replans, "reason": f"replan failed ({exc}); {missing}"}
        return {
            "plan": p.model_dump(mode="json"),
            "planner": p.planner,
            "reason": f"replanned with available capabilities ({missing}): {reason}",
            "replans": replans,
        }

    async def accept_partial(state: RunState) -> RunState:
        missing = "; ".join(f"{k}: {v}" for k, v in (state.get("unresolvable") or {}).items())
        reason = state.get("reason", "")
        return {"reason": f"{reason} (running without unresolvable tasks: {missing})".strip()}

    async def execute(state: RunState) -> RunState:
        d = need()
        writer = get_stream_writer()
        p = ExecutionPlan.model_validate(state["plan"])
        data = {
            "plan": state["plan"],
            "planner": state.get("planner"),
            "reason": state.get("reason", ""),
        }
        writer(draft("plan", data))
        outcomes = await d.executor.run(
            p, writer, run_id=state.get("run_id"), timeout_seconds=state.get("timeout_seconds")
        )
        return {"results": {k: o.public() for k, o in outcomes.items()}}

    async def synthesize(state: RunState) -> RunState:
        writer = get_stream_writer()
        p = ExecutionPlan.model_validate(state["plan"])
        results = state.get("results") or {}

        async def on_token(token: str) -> None:
            writer(draft("token", {"token": token}))

        answer = await need().synthesizer.synthesize(state["query"], p, results, on_token)
        status = run_status(results)
        writer(draft("result", {"answer": answer, "status": status, "results": results}))
        return {"answer": answer, "status": status}

    async def fail(state: RunState) -> RunState:
        writer = get_stream_writer()
        results = state.get("results") or {}
        if state.get("plan_error"):
            answer = f"The request could not be planned: {state['plan_error']}"
            writer(draft("error", {"error": answer, "code": "planning_failed"}))
        else:
            errors = "; ".join(f"{k}: {r.get('error')}" for k, r in results.items())
            answer = f"Every sub-task failed. {errors}"
        writer(draft("result", {"answer": answer, "status": "failed", "results": results}))
        return {"answer": answer, "status": "failed"}

    g: StateGraph[RunState] = StateGraph(RunState)
    g.add_node("plan", plan)
    g.add_node("resolve", resolve)
    g.add_node("replan", replan)
    g.add_node("accept_partial", accept_partial)
    g.add_node("execute", execute)
    g.add_node("synthesize", synthesize)
    g.add_node("fail", fail)
    g.add_edge(START, "plan")
    g.add_conditional_edges(
        "plan", route_after_plan, {"plan_is_valid": "resolve", "plan_is_invalid": "fail"}
    )
    g.add_conditional_edges(
        "resolve",
        route_after_resolve,
        {
            "all_tasks_resolvable": "execute",
            "should_replan": "replan",
            "replans_exhausted": "accept_partial",
        },
    )
    g.add_edge("replan", "resolve")
    g.add_edge("accept_partial", "execute")
    g.add_conditional_edges(
        "execute", route_after_execute, {"has_results": "synthesize", "run_failed": "fail"}
    )
    g.add_edge("synthesize", END)
    g.add_edge("fail", END)
    return g.compile(checkpointer=checkpointer)


__all__ = [
    "DeterministicPlanner",
    "GraphDeps",
    "RunState",
    "build_graph",
    "plan_is_valid",
    "run_failed",
    "should_replan",
]
