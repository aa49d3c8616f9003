"""``GraphRunner`` drives a run through the graph's table as LangGraph's ``astream`` does
(``graph.build``): for every route of the policy, the same nodes in the same order, the
same updates, the same state seen by each node and each router, and the same interrupt at
``await_approval``. Both are built from one ``Wiring`` whose nodes are stand-ins that record
what they saw and answer what each scenario needs."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphInterrupt
from langgraph.graph import START, StateGraph
from langgraph.types import Interrupt

from mesh_orchestrator.graph.build import (
    NODE_NAMES,
    GraphRunner,
    Wiring,
    _inline,
    build_graph,
    wiring,
)
from mesh_orchestrator.graph.policy import RunState

# What each stand-in node returns, per scenario (missing: an empty update).
SCENARIOS: dict[str, dict[str, Any]] = {
    "client plan, all resolve": {"_start": {"client_plan": "p", "plan": "p"}},
    "planned, all resolve": {"plan": {"plan": "p", "plan_error": None}},
    "planned, unservable": {"plan": {"plan": None, "plan_error": "x", "unservable": ["a"]}},
    "planned, invalid": {"plan": {"plan": None, "plan_error": "nothing"}},
    "replanned once then partial": {
        "plan": {"plan": "p", "plan_error": None},
        "resolve": {"unresolvable": {"t": "none"}},
        "_start": {"max_replans": 1},
    },
    "approval required": {
        "_start": {"client_plan": "p", "plan": "p", "approval": "required"},
        "await_approval": "interrupt",
    },
    "approved": {
        "_start": {"client_plan": "p", "plan": "p", "approval": "required", "approved": True}
    },
    "run failed": {
        "_start": {"client_plan": "p", "plan": "p"},
        "execute": {"results": {"t": {"status": "failed"}}},
    },
}


DEFAULTS: dict[str, Any] = {
    "execute": {"results": {"t": {"status": "completed"}}},
    "synthesize": {"status": "completed", "answer": "a"},
}


def stand_ins(answers: dict[str, Any], seen: list[tuple[str, dict[str, Any]]]) -> Wiring:
    real = wiring(None)

    def node(name: str) -> Any:
        async def fn(state: RunState, config: RunnableConfig) -> Any:
            seen.append((name, dict(state)))
            answer = answers.get(name, DEFAULTS.get(name, {}))
            if answer == "interrupt":
                raise GraphInterrupt((Interrupt(value={"awaiting": "approval"}),))
            if name == "replan":
                return {"replans": state.get("replans", 0) + 1}
            return answer

        return fn

    def watched(name: str, route: Any) -> Any:
        def fn(state: RunState) -> str:
            seen.append((f"route:{name}", dict(state)))
            return str(route(state))

        return fn

    branches = {k: (watched(k, r), paths) for k, (r, paths) in real.branches.items()}
    route, paths = real.start
    return Wiring(
        nodes={name: node(name) for name in NODE_NAMES},
        start=(watched("start", route), paths),
        branches=branches,
        edges=real.edges,
    )


def langgraph_of(w: Wiring) -> Any:
    g: StateGraph[RunState] = StateGraph(RunState)
    for name, fn in w.nodes.items():
        g.add_node(name, fn)  # type: ignore[call-overload]
    g.add_conditional_edges(START, _inline(w.start[0]), w.start[1])  # type: ignore[arg-type]
    for source, (route, paths) in w.branches.items():
        g.add_conditional_edges(source, _inline(route), paths)  # type: ignore[arg-type]
    for source, target in w.edges.items():
        g.add_edge(source, target)
    return g.compile()


async def drive(graph: Any, state: dict[str, Any]) -> list[Any]:
    chunks = []
    config = {"configurable": {}}
    async for chunk in graph.astream(state, config, stream_mode="updates"):
        if "__interrupt__" in chunk:
            chunk = {"__interrupt__": [i.value for i in chunk["__interrupt__"]]}
        chunks.append(chunk)
    return chunks


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_the_runner_takes_langgraphs_path_with_the_same_states(scenario: str) -> None:
    answers = SCENARIOS[scenario]
    state = {"run_id": "r", "query": "q", "replans": 0, "max_replans": 0,
             **answers.get("_start", {})}  # fmt: skip
    seen_lg: list[tuple[str, dict[str, Any]]] = []
    seen_runner: list[tuple[str, dict[str, Any]]] = []
    by_langgraph = await drive(langgraph_of(stand_ins(answers, seen_lg)), state)
    by_runner = await drive(GraphRunner(stand_ins(answers, seen_runner)), state)
    assert by_runner == by_langgraph
    assert seen_runner == seen_lg
    assert len(by_runner) >= 2


def test_the_diagram_is_drawn_from_the_same_table() -> None:
    w = wiring(None)
    drawn = build_graph().get_graph()
    edges = {(e.source, e.target) for e in drawn.edges}
    table = {("__start__", t) for t in w.start[1].values()}
    table |= {(s, t) for s, (_, paths) in w.branches.items() for t in paths.values()}
    table |= set(w.edges.items())
    assert edges == table
