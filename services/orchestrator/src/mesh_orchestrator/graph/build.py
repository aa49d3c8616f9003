"""The run's LangGraph: plan -> resolve -> execute -> synthesize, policy in the edges.

Every routing decision is a conditional edge with a named predicate, so the Mermaid diagram
drawn from the compiled graph (``python -m mesh_orchestrator.diagram``) is the whole policy:

* from ``START`` and after ``replan``: ``has_client_plan`` (the run starts with the client's
  plan in its state: straight to ``resolve``), ``llm_planner_configured`` or ``no_llm_planner``;
* after ``plan_llm``: ``llm_plan_is_valid``, ``llm_attempt_left`` (ask the LLM once more),
  ``llm_plan_failed`` (fall back to ``plan_deterministic``);
* after ``plan_deterministic``: ``plan_is_valid`` / ``plan_is_invalid``;
* after ``resolve``: ``all_tasks_resolvable``, ``should_replan`` (some task has no healthy
  agent and a replan is left: plan again with only the available capabilities),
  ``replans_exhausted`` (through ``accept_partial``: unresolvable tasks fail in place);
* after ``execute``: ``run_failed``, ``llm_synthesis_configured`` or ``deterministic_synthesis``;
* after ``synthesize_llm``: ``synthesis_streamed`` or ``synthesis_unavailable`` (fall back to
  the deterministic merge).

Nodes never route; they do one job and write the state keys they own. Worker events leave
through LangGraph's custom stream (``get_stream_writer``) while ``execute`` runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Checkpointer

from mesh_contracts import CapabilitiesManifest, ExecutionPlan, ManifestCapability
from mesh_orchestrator.graph.policy import (
    RunState,
    plan_is_valid,
    route_after_llm_plan,
    route_after_plan,
    route_after_resolve,
    route_after_synthesis,
    run_failed,
    should_replan,
)
from mesh_orchestrator.planning.deterministic import DeterministicPlanner, Planner, PlanningFailed
from mesh_orchestrator.planning.llm import LLMPlanner, PlanRejected
from mesh_orchestrator.relay.executor import Executor, draft
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.synthesis.deterministic import Synthesizer, run_status
from mesh_orchestrator.synthesis.llm import LLMSynthesizer, SynthesisUnavailable
from mesh_orchestrator.tracing import RunTracer

SYNTHESIS_TASK = "synthesis"
# A run's live channel (an ``Emit``) in its config's ``configurable``: ``execute`` hands it
# to the executor, so worker events go straight to the run's multiplexer, not through
# LangGraph's stream queue (a loop wake-up per event). Without it, the custom stream.
LIVE_EMIT = "mesh_live_emit"


@dataclass
class GraphDeps:
    """What the nodes use; shared by every run. ``llm_*`` are None when no LLM is set up."""

    manifest: Any  # Callable[[], CapabilitiesManifest]
    resolver: Resolver
    executor: Executor
    planner: Planner  # the deterministic planner (or a test's), also the LLM's fallback
    synthesizer: Synthesizer  # the deterministic synthesis, also the LLM's fallback
    llm_planner: LLMPlanner | None = None
    llm_synthesizer: LLMSynthesizer | None = None
    tracer: RunTracer | None = None  # phase spans (plan, execute, synthesize) when set


def make_routers(deps: GraphDeps | None) -> dict[str, Any]:
    """Routing functions; those that depend on configuration close over ``deps``."""
    llm_plans = deps is not None and deps.llm_planner is not None
    llm_synth = deps is not None and deps.llm_synthesizer is not None

    def route_planner(state: RunState) -> str:
        if state.get("client_plan") and not state.get("replans"):
            return "has_client_plan"
        return "llm_planner_configured" if llm_plans else "no_llm_planner"

    def route_after_execute(state: RunState) -> str:
        if run_failed(state):
            return "run_failed"
        return "llm_synthesis_configured" if llm_synth else "deterministic_synthesis"

    return {"route_planner": route_planner, "route_after_execute": route_after_execute}


# ---- nodes ---------------------------------------------------------------------------------


def _inline(route: Callable[[RunState], str]) -> Callable[[RunState], Awaitable[str]]:
    """A router LangGraph runs on the event loop: a sync one goes through a thread pool
    (a thread hop per edge, ~1 ms on a busy machine, before the first worker call)."""

    async def run(state: RunState) -> str:
        return route(state)

    run.__name__ = route.__name__
    return run


def _available(manifest: CapabilitiesManifest, resolver: Resolver) -> CapabilitiesManifest:
    keep = resolver.available_capabilities()
    caps: list[ManifestCapability] = [c for c in manifest.capabilities if c.name in keep]
    return CapabilitiesManifest(index=manifest.index, capabilities=caps)


def _replan_note(state: RunState) -> str:
    if not state.get("replans"):
        return ""
    missing = ", ".join(f"{k}: {v}" for k, v in (state.get("unresolvable") or {}).items())
    return f"replanned with the capabilities available now ({missing}); "


def build_graph(deps: GraphDeps | None = None, checkpointer: Checkpointer = None) -> Any:
    """Compile the run graph. ``deps`` may be None only to draw the diagram (every optional
    node is drawn, since the diagram documents the policy, not one configuration)."""

    def need() -> GraphDeps:
        assert deps is not None, "graph built without dependencies"
        return deps

    async def plan_llm(state: RunState) -> RunState:
        d = need()
        assert d.llm_planner is not None
        attempt = state.get("llm_attempts", 0) + 1
        writer = get_stream_writer()
        writer(
            draft(
                "status",
                {"phase": "plan", "planner": "llm", "attempt": attempt, "status": "running"},
            )
        )
        try:
            p = await d.llm_planner.plan(state["query"], _available(d.manifest(), d.resolver))
        except PlanRejected as exc:
            writer(
                draft(
                    "status",
                    {
                        "phase": "plan",
                        "planner": "llm",
                        "attempt": attempt,
                        "status": "rejected",
                        "reason": exc.reason,
                    },
                )
            )
            rejections = [*state.get("llm_rejections", []), f"attempt {attempt}: {exc.reason}"]
            return {
                "plan": None,
                "plan_error": exc.reason,
                "llm_attempts": attempt,
                "llm_rejections": rejections,
            }
        reason = _replan_note(state) + (p.reasoning or "planned by the LLM")
        return {
            "plan": p.model_dump(mode="json"),
            "planner": "llm",
            "reason": reason,
            "plan_error": None,
            "llm_attempts": attempt,
        }

    async def plan_deterministic(state: RunState) -> RunState:
        d = need()
        try:
            p = await d.planner.plan(state["query"], _available(d.manifest(), d.resolver))
        except PlanningFailed as exc:
            return {"plan": None, "plan_error": str(exc)}
        reason = _replan_note(state) + p.reasoning
        if state.get("llm_rejections"):
            reason = "LLM plan rejected (" + "; ".join(state["llm_rejections"]) + "); " + reason
        return {
            "plan": p.model_dump(mode="json"),
            "planner": p.planner,
            "reason": reason,
            "plan_error": None,
        }

    async def resolve(state: RunState) -> RunState:
        p = ExecutionPlan.model_validate(state["plan"])
        return {"unresolvable": need().resolver.unresolvable(p)}

    async def replan(state: RunState) -> RunState:
        missing = ", ".join(f"{k}: {v}" for k, v in (state.get("unresolvable") or {}).items())
        get_stream_writer()(
            draft("status", {"phase": "plan", "status": "replanning", "reason": missing})
        )
        return {"replans": state.get("replans", 0) + 1, "llm_attempts": 0, "llm_rejections": []}

    async def accept_partial(state: RunState) -> RunState:
        missing = "; ".join(f"{k}: {v}" for k, v in (state.get("unresolvable") or {}).items())
        reason = state.get("reason", "")
        return {"reason": f"{reason} (running without unresolvable tasks: {missing})".strip()}

    async def execute(state: RunState, config: RunnableConfig) -> RunState:
        d = need()
        writer = (config.get("configurable") or {}).get(LIVE_EMIT) or get_stream_writer()
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

    async def synthesize_llm(state: RunState) -> RunState:
        d = need()
        assert d.llm_synthesizer is not None
        writer = get_stream_writer()
        p = ExecutionPlan.model_validate(state["plan"])
        results = state.get("results") or {}
        model = d.llm_synthesizer.model_name

        def status(s: str, **extra: Any) -> None:
            writer(
                draft("status", {"status": s, "agent_id": model, **extra}, SYNTHESIS_TASK, model)
            )

        async def on_token(token: str) -> None:
            writer(draft("token", {"token": token}, SYNTHESIS_TASK, model))

        status("running")
        try:
            answer = await d.llm_synthesizer.synthesize(state["query"], p, results, on_token)
        except SynthesisUnavailable as exc:
            status(
                "failed", reason=f"LLM synthesis unavailable ({exc}); using the deterministic merge"
            )
            return {"synthesis_error": str(exc)}
        status("completed")
        out = run_status(results)
        writer(
            draft(
                "result", {"answer": answer, "status": out, "results": results, "synthesis": "llm"}
            )
        )
        return {"answer": answer, "status": out, "synthesis_error": None}

    async def synthesize(state: RunState) -> RunState:
        writer = get_stream_writer()
        p = ExecutionPlan.model_validate(state["plan"])
        results = state.get("results") or {}

        async def on_token(token: str) -> None:
            writer(draft("token", {"token": token}, SYNTHESIS_TASK))

        answer = await need().synthesizer.synthesize(state["query"], p, results, on_token)
        status = run_status(results)
        writer(
            draft(
                "result",
                {
                    "answer": answer,
                    "status": status,
                    "results": results,
                    "synthesis": "deterministic",
                },
            )
        )
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

    routers = make_routers(deps)
    planners: dict[Hashable, str] = {
        "has_client_plan": "resolve",
        "llm_planner_configured": "plan_llm",
        "no_llm_planner": "plan_deterministic",
    }
    g: StateGraph[RunState] = StateGraph(RunState)
    for name, fn in [
        ("plan_llm", plan_llm),
        ("plan_deterministic", plan_deterministic),
        ("resolve", resolve),
        ("replan", replan),
        ("accept_partial", accept_partial),
        ("execute", execute),
        ("synthesize_llm", synthesize_llm),
        ("synthesize", synthesize),
        ("fail", fail),
    ]:
        if deps is not None and deps.tracer is not None:
            fn = deps.tracer.node(name, fn)
        g.add_node(name, fn)  # type: ignore[call-overload]
    g.add_conditional_edges(START, _inline(routers["route_planner"]), planners)
    g.add_conditional_edges(
        "plan_llm",
        _inline(route_after_llm_plan),
        {
            "llm_plan_is_valid": "resolve",
            "llm_attempt_left": "plan_llm",
            "llm_plan_failed": "plan_deterministic",
        },
    )
    g.add_conditional_edges(
        "plan_deterministic",
        _inline(route_after_plan),
        {"plan_is_valid": "resolve", "plan_is_invalid": "fail"},
    )
    g.add_conditional_edges(
        "resolve",
        _inline(route_after_resolve),
        {
            "all_tasks_resolvable": "execute",
            "should_replan": "replan",
            "replans_exhausted": "accept_partial",
        },
    )
    g.add_conditional_edges(
        "replan",
        _inline(routers["route_planner"]),
        {k: v for k, v in planners.items() if k != "has_client_plan"},
    )
    g.add_edge("accept_partial", "execute")
    g.add_conditional_edges(
        "execute",
        _inline(routers["route_after_execute"]),
        {
            "run_failed": "fail",
            "llm_synthesis_configured": "synthesize_llm",
            "deterministic_synthesis": "synthesize",
        },
    )
    g.add_conditional_edges(
        "synthesize_llm",
        _inline(route_after_synthesis),
        {"synthesis_streamed": END, "synthesis_unavailable": "synthesize"},
    )
    g.add_edge("synthesize", END)
    g.add_edge("fail", END)
    return g.compile(checkpointer=checkpointer)


__all__ = [
    "DeterministicPlanner",
    "GraphDeps",
    "RunState",
    "SYNTHESIS_TASK",
    "build_graph",
    "make_routers",
    "plan_is_valid",
    "route_after_llm_plan",
    "route_after_plan",
    "route_after_resolve",
    "route_after_synthesis",
    "run_failed",
    "should_replan",
]
