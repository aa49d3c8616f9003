"""The README's graph diagram is the one LangGraph draws from the compiled graph."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from mesh_orchestrator.graph.build import (
    GraphDeps,
    RunState,
    make_routers,
    route_after_plan,
    route_after_resolve,
    route_after_synthesis,
)

_SPEC = importlib.util.spec_from_file_location(
    "mesh_diagram", Path(__file__).resolve().parents[3] / "scripts" / "diagram.py"
)
assert _SPEC is not None and _SPEC.loader is not None
diagram = importlib.util.module_from_spec(_SPEC)
sys.modules["mesh_diagram"] = diagram
_SPEC.loader.exec_module(diagram)


def test_the_checked_in_diagram_matches_the_compiled_graph() -> None:
    assert diagram.README.read_text() == diagram.render(diagram.README.read_text()), (
        "run: make diagram"
    )
    assert diagram.block() in diagram.README.read_text()


def test_every_routing_predicate_appears_as_an_edge_label() -> None:
    text = diagram.mermaid()
    for label in (
        "plan_is_valid",
        "plan_is_invalid",
        "all_tasks_resolvable",
        "should_replan",
        "replans_exhausted",
        "run_failed",
        "has_client_plan",
        "needs_plan",
        "request_unservable",
        "llm_synthesis_configured",
        "deterministic_synthesis",
        "synthesis_streamed",
        "synthesis_unavailable",
    ):
        assert label in text


def test_routes_follow_the_named_predicates() -> None:
    assert route_after_plan({"plan": None, "plan_error": "x"}) == "plan_is_invalid"
    unservable: RunState = {"plan": None, "plan_error": "x", "unservable": ["'book a table'"]}
    assert route_after_plan(unservable) == "request_unservable"
    assert route_after_plan({"plan": {"tasks": []}}) == "plan_is_valid"
    missing: RunState = {"unresolvable": {"t1": "no agent"}, "planner": "deterministic"}
    assert route_after_resolve({**missing, "replans": 0, "max_replans": 1}) == "should_replan"
    assert route_after_resolve({**missing, "replans": 1, "max_replans": 1}) == "replans_exhausted"
    assert route_after_resolve({**missing, "planner": "client"}) == "replans_exhausted"
    assert route_after_resolve({"unresolvable": {}}) == "all_tasks_resolvable"
    assert route_after_synthesis({"synthesis_error": "down"}) == "synthesis_unavailable"
    assert route_after_synthesis({"synthesis_error": None}) == "synthesis_streamed"


def _deps(llm: bool) -> GraphDeps:
    sentinel: Any = object()
    return GraphDeps(
        manifest=None,
        resolver=sentinel,
        executor=sentinel,
        planning=sentinel,
        synthesizer=sentinel,
        llm_synthesizer=sentinel if llm else None,
    )


def test_synthesis_routes_depend_on_whether_an_llm_is_configured() -> None:
    with_llm, without = make_routers(_deps(True)), make_routers(_deps(False))
    fresh: RunState = {"query": "q"}
    assert with_llm["route_planner"](fresh) == "needs_plan"
    assert without["route_planner"](fresh) == "needs_plan"  # the facade picks the planner
    client: RunState = {"client_plan": {"tasks": []}}
    assert with_llm["route_planner"](client) == "has_client_plan"
    # a replan of a client plan is never routed back to the client's plan
    assert with_llm["route_planner"]({**client, "replans": 1}) == "needs_plan"
    done: RunState = {"results": {"t1": {"status": "completed"}}}
    assert with_llm["route_after_execute"](done) == "llm_synthesis_configured"
    assert without["route_after_execute"](done) == "deterministic_synthesis"
    failed: RunState = {"results": {"t1": {"status": "failed"}}}
    assert with_llm["route_after_execute"](failed) == "run_failed"
