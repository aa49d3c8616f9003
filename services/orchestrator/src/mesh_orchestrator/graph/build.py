"""The run's LangGraph: plan -> resolve -> execute -> synthesize, policy in the edges.

Every routing decision is a conditional edge with a named predicate, so the Mermaid diagram
drawn from the compiled graph (``make diagram``, ``scripts/diagram.py``) is the whole policy:

* from ``START``: ``has_client_plan`` (the run starts with the client's plan in its state:
  straight to ``resolve``) or ``needs_plan``; ``replan`` goes back to ``plan``;
* after ``plan`` (the planning facade: the planner choice, the LLM's attempts and the fallback
  are inside it, ``planning/facade.py``): ``plan_is_valid``, ``request_unservable`` (no agent
  serves any part of it: ``decline`` answers honestly, saying what the mesh can do) or
  ``plan_is_invalid`` (nothing registered, an empty request: ``fail``);
* after ``resolve``: ``all_tasks_resolvable``, ``should_replan`` (some task has no healthy
  agent and a replan is left: plan again with only the available capabilities),
  ``replans_exhausted`` (through ``accept_partial``: unresolvable tasks fail in place),
  ``approval_required`` (``options.approval = "required"``: to ``await_approval``, which
  announces the plan and interrupts the graph; the run is taken up again on approval);
* after ``accept_partial``: ``approval_required`` or ``run_what_resolves``;
* after ``execute``: ``run_failed``, ``llm_synthesis_configured`` or ``deterministic_synthesis``;
* after ``synthesize_llm``: ``synthesis_streamed`` or ``synthesis_unavailable`` (fall back to
  the deterministic merge).

Nodes (``graph.nodes``) never route; they do one job and write the state keys they own. Every
event leaves through the run's emitter in the config (``EMITTER``), not LangGraph's stream.

The graph is compiled without a checkpointer. Nothing reads a run's checkpoint: a resumed
run (another replica's, after a restart, after a pause or an answer) and an approved run
start the graph again from the run's stored event log (``runs.resume``), which is in the
shared run store and carries the epoch's fencing, while a checkpoint thread was per epoch
and, on SQLite, per machine. ``await_approval``'s ``interrupt`` needs none either: the
graph's stream yields ``__interrupt__`` and ends, and approval never resumes the node in
place (no ``Command(resume=...)``). A checkpoint written at every run's end cost a third of
the store's work of a short run on SQLite and ~11% of its CPU on Postgres (bench/README.md,
"Run throughput").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from mesh_orchestrator.graph.nodes import SYNTHESIS_TASK, GraphDeps, Node, make_nodes
from mesh_orchestrator.graph.policy import (
    RunState,
    plan_is_valid,
    route_after_partial,
    route_after_plan,
    route_after_resolve,
    route_after_synthesis,
    run_failed,
    should_replan,
)

NODE_NAMES = (
    "plan",
    "decline",
    "resolve",
    "replan",
    "accept_partial",
    "await_approval",
    "execute",
    "synthesize_llm",
    "synthesize",
    "fail",
)


def make_routers(deps: GraphDeps | None) -> dict[str, Any]:
    """Routing functions; those that depend on configuration close over ``deps``."""
    llm_synth = deps is not None and deps.llm_synthesizer is not None

    def route_planner(state: RunState) -> str:
        if state.get("client_plan") and not state.get("replans"):
            return "has_client_plan"
        return "needs_plan"

    def route_after_execute(state: RunState) -> str:
        if run_failed(state):
            return "run_failed"
        return "llm_synthesis_configured" if llm_synth else "deterministic_synthesis"

    return {"route_planner": route_planner, "route_after_execute": route_after_execute}


def _inline(route: Callable[[RunState], str]) -> Callable[[RunState], Awaitable[str]]:
    """A router LangGraph runs on the event loop: a sync one goes through a thread pool
    (a thread hop per edge, ~1 ms on a busy machine, before the first worker call)."""

    async def run(state: RunState) -> str:
        return route(state)

    run.__name__ = route.__name__
    return run


def _placeholders() -> dict[str, Node]:
    """Nodes that only have names: enough to draw the diagram (every optional node is
    drawn, since the diagram documents the policy, not one configuration)."""

    async def never(state: RunState, config: RunnableConfig) -> RunState:
        raise RuntimeError("graph built without dependencies: draw it, do not run it")

    return dict.fromkeys(NODE_NAMES, never)


def build_graph(deps: GraphDeps | None = None) -> Any:
    """Compile the run graph. ``deps`` may be None only to draw the diagram (every optional
    node is drawn, since the diagram documents the policy, not one configuration); no
    checkpointer (see the module docstring)."""

    nodes = make_nodes(deps) if deps is not None else _placeholders()
    routers = make_routers(deps)
    planners: dict[Hashable, str] = {"has_client_plan": "resolve", "needs_plan": "plan"}
    g: StateGraph[RunState] = StateGraph(RunState)
    for name, fn in nodes.items():
        if deps is not None:  # the phase's span around it (``NO_TRACER``: the node itself)
            fn = deps.tracer.node(name, fn)
        g.add_node(name, fn)  # type: ignore[call-overload]
    g.add_conditional_edges(START, _inline(routers["route_planner"]), planners)
    g.add_conditional_edges(
        "plan",
        _inline(route_after_plan),
        {"plan_is_valid": "resolve", "request_unservable": "decline", "plan_is_invalid": "fail"},
    )
    g.add_conditional_edges(
        "resolve",
        _inline(route_after_resolve),
        {
            "all_tasks_resolvable": "execute",
            "approval_required": "await_approval",
            "should_replan": "replan",
            "replans_exhausted": "accept_partial",
        },
    )
    g.add_edge("replan", "plan")
    g.add_conditional_edges(
        "accept_partial",
        _inline(route_after_partial),
        {"approval_required": "await_approval", "run_what_resolves": "execute"},
    )
    g.add_edge("await_approval", "execute")
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
    g.add_edge("decline", END)
    g.add_edge("fail", END)
    return g.compile()


__all__ = [
    "SYNTHESIS_TASK",
    "GraphDeps",
    "RunState",
    "build_graph",
    "make_routers",
    "plan_is_valid",
    "route_after_partial",
    "route_after_plan",
    "route_after_resolve",
    "route_after_synthesis",
    "run_failed",
    "should_replan",
]
