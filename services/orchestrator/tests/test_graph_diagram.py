"""The README's graph diagram is the one LangGraph draws from the compiled graph."""

from __future__ import annotations

from mesh_orchestrator import diagram
from mesh_orchestrator.graph import (
    RunState,
    route_after_execute,
    route_after_plan,
    route_after_resolve,
)


def test_the_checked_in_diagram_matches_the_compiled_graph() -> None:
    assert diagram.README.read_text() == diagram.render(diagram.README.read_text()), (
        "run: python -m mesh_orchestrator.diagram"
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
        "has_results",
    ):
        assert label in text


def test_routes_follow_the_named_predicates() -> None:
    assert route_after_plan({"plan": None, "plan_error": "x"}) == "plan_is_invalid"
    assert route_after_plan({"plan": {"tasks": []}}) == "plan_is_valid"
    missing: RunState = {"unresolvable": {"t1": "no agent"}, "planner": "deterministic"}
    assert route_after_resolve({**missing, "replans": 0, "max_replans": 1}) == "should_replan"
    assert route_after_resolve({**missing, "replans": 1, "max_replans": 1}) == "replans_exhausted"
    assert route_after_resolve({**missing, "planner": "client"}) == "replans_exhausted"
    assert route_after_resolve({"unresolvable": {}}) == "all_tasks_resolvable"
    assert route_after_execute({"results": {"t1": {"status": "failed"}}}) == "run_failed"
    assert route_after_execute({"results": {"t1": {"status": "completed"}}}) == "has_results"
