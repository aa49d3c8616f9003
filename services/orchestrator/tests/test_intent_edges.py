"""The intent planner's learned edge model: opt-in, generic pair features, its decoding."""

from __future__ import annotations

from mesh_contracts import AgentDescriptor, CapabilitiesManifest, manifest_of
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import (
    EDGE_WEIGHTS,
    EdgeModel,
    Origin,
    pair_features,
)


def _agent(agent_id: str, caps: list[str], props: dict[str, object]) -> AgentDescriptor:
    return AgentDescriptor(
        agent_id=agent_id,
        instance_id=agent_id,
        name=agent_id,
        endpoint="http://127.0.0.1:9",
        capabilities=caps,
        input_schema={"type": "object", "properties": props},
    )


def _manifest() -> CapabilitiesManifest:
    text = {"prompt": {"type": "string"}}
    return manifest_of(
        [
            _agent("writer", ["text_generation", "summarization", "translation"], text),
            _agent("lookup", ["search"], {"query": {"type": "string"}}),
            _agent("painter", ["image_generation"], text),
        ],
        index=1,
    )


def _shape(planner: IntentPlanner, query: str) -> list[tuple[str, list[str]]]:
    plan = planner.plan_sync(query, _manifest())
    ids = {t.task_id: str(i + 1) for i, t in enumerate(plan.tasks)}
    return [(t.capability, [ids[d] for d in t.depends_on]) for t in plan.tasks]


def _origins(*specs: tuple[str, int, str]) -> list[Origin]:
    return [
        Origin(f"t{k + 1}", cap, group, text, "then" if k else "start")
        for k, (cap, group, text) in enumerate(specs)
    ]


def test_rules_decide_unless_the_model_is_asked_for() -> None:
    assert IntentPlanner().edges is None
    assert isinstance(IntentPlanner(edges="learned").edges, EdgeModel)


def test_the_shipped_weights_are_small_and_load() -> None:
    assert EDGE_WEIGHTS.stat().st_size < 16_000
    model = IntentPlanner(edges="learned").edges
    assert model is not None and 0 < model.threshold < 1 and "bias" in model.weights


def test_pairs_span_segments_only_and_carry_the_rules_decision() -> None:
    origins = _origins(
        ("search", 0, "find the tallest mountain in Peru"),
        ("translation", 1, "translate it into French"),
        ("translation", 1, "translate it into German"),
    )
    origins[1].rule_deps = ["t1"]
    pairs = {(i, j): f for i, j, f in pair_features(origins)}
    assert set(pairs) == {(0, 1), (0, 2)}  # no pair inside the fan-out
    assert pairs[0, 1]["rule"] == 1.0 and pairs[0, 2]["rule"] == 0.0
    assert pairs[0, 1]["pronoun"] == 1.0 and pairs[0, 1]["prev"] == 1.0
    assert pairs[0, 1]["pair_search_translation"] == 1.0


def test_single_keeps_the_best_candidate_unless_the_clause_says_both() -> None:
    model = EdgeModel({"bias": 1.0, "prev": 1.0}, threshold=0.5, single=True)
    chain = _origins(
        ("search", 0, "who wrote Dune"),
        ("search", 1, "who wrote Emma"),
        ("text_generation", 2, "write a poem about it"),
    )
    assert model.decide(chain)["t3"] == ["t2"]  # both score over 0.5: the nearer wins
    both = _origins(
        ("search", 0, "who wrote Dune"),
        ("search", 1, "who wrote Emma"),
        ("text_generation", 2, "compare both"),
    )
    assert model.decide(both)["t3"] == ["t1", "t2"]
    assert EdgeModel({"bias": -5.0}).decide(chain) == {"t1": [], "t2": [], "t3": []}


def test_the_learned_model_wires_a_chain_and_leaves_parallel_jobs_apart() -> None:
    learned = IntentPlanner(edges="learned")
    assert _shape(
        learned,
        "Find out how discovery treats a worker that stops heartbeating, then explain it to "
        "me in French in two sentences",
    ) == [("search", []), ("translation", ["1"])]
    assert _shape(learned, "What's the tallest mountain in Peru? Write a haiku about it.") == [
        ("search", []),
        ("text_generation", ["1"]),
    ]
    assert _shape(learned, "Write a poem about the sea and draw a lighthouse") == [
        ("text_generation", []),
        ("image_generation", []),
    ]


def test_the_same_nodes_with_or_without_the_model() -> None:
    rules, learned = IntentPlanner(edges=None), IntentPlanner(edges="learned")
    query = "Look up who painted the Mona Lisa, summarize it, and draw a sketch of the painter"
    assert [c for c, _ in _shape(rules, query)] == [c for c, _ in _shape(learned, query)]
