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

The table above is data, written once (``wiring``): ``build_graph`` makes a LangGraph of it
(the diagram), and ``GraphRunner`` (``build_runner``) drives runs through the same table,
one node after another, with LangGraph's answers (updates, interrupt, recursion limit):
see its docstring for why, and ``tests/test_graph_runner.py`` for the check that both take
the same paths with the same states.

Neither has a checkpointer. Nothing reads a run's checkpoint: a resumed run (another
replica's, after a restart, after a pause or an answer) and an approved run start the graph
again from the run's stored event log (``runs.resume``), which is in the shared run store
and carries the epoch's fencing, while a checkpoint thread was per epoch and, on SQLite,
per machine. ``await_approval``'s interrupt needs none either: the stream yields
``__interrupt__`` and ends, and approval never resumes the node in place (no
``Command(resume=...)``). A checkpoint written at every run's end cost a third of
the store's work of a short run on SQLite and ~11% of its CPU on Postgres (bench/README.md,
"Run throughput").
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from langgraph.constants import END, START

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

if TYPE_CHECKING:  # LangGraph's graph and errors cost ~1 s of CPU to import; runs need neither
    from langchain_core.runnables import RunnableConfig
    from langgraph.errors import GraphInterrupt

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


Route = Callable[[RunState], str]
Branch = tuple[Route, dict[str, str]]  # a router and where each of its answers goes


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


@dataclass(frozen=True)
class Wiring:
    """The graph as data, written once: its nodes, the router from ``START``, each node's
    router (``branches``) or its one successor (``edges``). ``build_graph`` makes the
    LangGraph of it (the diagram), ``build_runner`` the runner that drives runs."""

    nodes: dict[str, Node]
    start: Branch
    branches: dict[str, Branch]
    edges: dict[str, str]


def wiring(deps: GraphDeps | None) -> Wiring:
    """The one table of the graph's policy (see the module docstring)."""
    nodes = make_nodes(deps) if deps is not None else _placeholders()
    if deps is not None:  # the phase's span around each (``NO_TRACER``: the node itself)
        nodes = {name: deps.tracer.node(name, fn) for name, fn in nodes.items()}
    routers = make_routers(deps)
    return Wiring(
        nodes=nodes,
        start=(routers["route_planner"], {"has_client_plan": "resolve", "needs_plan": "plan"}),
        branches={
            "plan": (
                route_after_plan,
                {
                    "plan_is_valid": "resolve",
                    "request_unservable": "decline",
                    "plan_is_invalid": "fail",
                },
            ),
            "resolve": (
                route_after_resolve,
                {
                    "all_tasks_resolvable": "execute",
                    "approval_required": "await_approval",
                    "should_replan": "replan",
                    "replans_exhausted": "accept_partial",
                },
            ),
            "accept_partial": (
                route_after_partial,
                {"approval_required": "await_approval", "run_what_resolves": "execute"},
            ),
            "execute": (
                routers["route_after_execute"],
                {
                    "run_failed": "fail",
                    "llm_synthesis_configured": "synthesize_llm",
                    "deterministic_synthesis": "synthesize",
                },
            ),
            "synthesize_llm": (
                route_after_synthesis,
                {"synthesis_streamed": END, "synthesis_unavailable": "synthesize"},
            ),
        },
        edges={
            "replan": "plan",
            "await_approval": "execute",
            "synthesize": END,
            "decline": END,
            "fail": END,
        },
    )


def _inline(route: Route) -> Callable[[RunState], Awaitable[str]]:
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
    """Compile the run graph as a LangGraph: what ``make diagram`` draws (``deps`` None:
    every optional node is drawn, since the diagram documents the policy, not one
    configuration). No checkpointer (see the module docstring)."""
    from langgraph.graph import StateGraph

    w = wiring(deps)
    g: StateGraph[RunState] = StateGraph(RunState)
    for name, fn in w.nodes.items():
        g.add_node(name, fn)  # type: ignore[call-overload]
    route, paths = w.start
    g.add_conditional_edges(START, _inline(route), cast(dict[Hashable, str], paths))
    for source, (route, paths) in w.branches.items():
        g.add_conditional_edges(source, _inline(route), cast(dict[Hashable, str], paths))
    for source, target in w.edges.items():
        g.add_edge(source, target)
    return g.compile()


def build_runner(deps: GraphDeps) -> GraphRunner:
    """The runner that drives runs through the same table (``GraphRunner``)."""
    return GraphRunner(wiring(deps))


class GraphRunner:
    """Drives a run through the graph's table, one node after another, as LangGraph's
    ``astream(..., stream_mode="updates")`` would and with its answers: each node gets the
    state with every earlier update applied (every key of ``RunState`` keeps its last
    value, as LangGraph's channels here do), its update is yielded as ``{node: update}``,
    its router (or its one edge) picks the next; a node that raises ``GraphInterrupt``
    (``await_approval``) ends the stream with ``{"__interrupt__": (...)}``; more than
    ``RECURSION_LIMIT`` steps raise ``GraphRecursionError``, as LangGraph's default limit.

    Why not LangGraph's own loop: the graph is a chain (one node at a time, no fan-out: the
    executor schedules sub-tasks itself), its state has no reducers, and no run reads a
    checkpoint; for that LangGraph's supersteps (channels copied for every router, a
    callback manager and tasks per node) cost ~1.6 ms of CPU per run, a quarter of a
    pinned run's (bench/README.md, "Run throughput"). The policy stays in one place, this
    table, which ``build_graph`` draws; ``tests/test_graph_runner.py`` checks that both
    take the same paths."""

    RECURSION_LIMIT = 25

    def __init__(self, w: Wiring) -> None:
        self.wiring = w

    async def astream(
        self, state: RunState, config: RunnableConfig, stream_mode: str = "updates"
    ) -> AsyncIterator[dict[str, Any]]:
        if stream_mode != "updates":
            raise ValueError("GraphRunner streams updates only")
        w = self.wiring
        values: dict[str, Any] = dict(state)
        del state  # (copied: only ``values`` is held while a node runs)
        route, paths = w.start
        node = paths[route(cast(RunState, values))]
        steps = 0
        while node != END:
            steps += 1
            if steps > self.RECURSION_LIMIT:
                from langgraph.errors import GraphRecursionError

                raise GraphRecursionError(f"Recursion limit of {self.RECURSION_LIMIT} reached")
            try:
                update = await w.nodes[node](cast(RunState, dict(values)), config)
            except _graph_interrupt() as exc:
                yield {"__interrupt__": exc.args[0] if exc.args else ()}
                return
            if update:
                values.update(update)
            yield {node: update or None}  # LangGraph's answer for a node that wrote nothing
            del update  # (in ``values``: not held twice while the next node runs)
            branch = w.branches.get(node)
            if branch is None:
                node = w.edges[node]
            else:
                route, paths = branch
                node = paths[route(cast(RunState, values))]


def _graph_interrupt() -> type[GraphInterrupt] | tuple[()]:
    """``GraphInterrupt`` once LangGraph's errors are imported, else nothing to catch: a node
    imports them to raise one (``await_approval``), so a run that never interrupts never
    pays for the import (~0.6 s of CPU, on the event loop), not even when it is cancelled."""
    errors = sys.modules.get("langgraph.errors")
    return () if errors is None else cast("type[GraphInterrupt]", errors.GraphInterrupt)


__all__ = [
    "SYNTHESIS_TASK",
    "GraphDeps",
    "GraphRunner",
    "RunState",
    "Wiring",
    "build_graph",
    "build_runner",
    "make_routers",
    "plan_is_valid",
    "route_after_partial",
    "route_after_plan",
    "route_after_resolve",
    "route_after_synthesis",
    "run_failed",
    "should_replan",
]
