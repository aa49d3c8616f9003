"""The intent planner's learned edge model: on by default, generic pair features, its decoding."""

from __future__ import annotations

import pytest
from intent_cases import manifest_with_trainer, shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import (
    EDGE_WEIGHTS,
    EdgeModel,
    Origin,
    _leads,
    keep,
    pair_features,
)

# the four agents and an adapter trainer
_AGENTS = manifest_with_trainer()


def _origins(*specs: tuple[str, int, str]) -> list[Origin]:
    return [
        Origin(f"t{k + 1}", cap, group, text, "then" if k else "start")
        for k, (cap, group, text) in enumerate(specs)
    ]


def test_the_model_decides_by_default_and_none_means_the_rules_alone() -> None:
    assert isinstance(IntentPlanner().edges, EdgeModel)
    assert isinstance(IntentPlanner(edges="learned").edges, EdgeModel)
    assert IntentPlanner(edges=None).edges is None


def test_a_leading_reference_is_read_past_then_in_every_language() -> None:
    # (leads, a demonstrative anywhere, a pronoun or a leading reference)
    assert _leads("then translate it into German")[0]
    assert _leads("y después tradúcelo al inglés")[0]  # a clitic on the verb
    assert _leads("und übersetze das danach ins Englische")[0]
    assert _leads("puis dessine cette scène")[1]
    assert _leads("daarna vat het samen")[2]
    # "poema" is no verb with a clitic, and a word further on is no clitic either
    assert _leads("Un poema corto para la tarjeta") == (False, False, False)
    assert _leads("write a poem about the sea") == (False, False, False)


def test_a_clause_asks_for_material_when_it_refers_is_bare_or_follows_in_sequence() -> None:
    def asks(joined: str, text: str) -> float:
        origins = [
            Origin("t1", "text_generation", 0, "write a short story about a fox", "start"),
            Origin("t2", "image_generation", 1, text, joined),
        ]
        ((_, _, f),) = pair_features(origins)
        return f["asks_seq"]

    assert asks("and", "draw a lighthouse") == 0.0  # a parallel job of its own
    assert asks("item", "un dibujo de un faro") == 0.0
    assert asks("then", "draw a lighthouse") == 1.0  # in sequence
    assert asks("and", "draw it") == 1.0
    assert asks("and", "zeichne ein Bild davon") == 1.0
    assert asks("and", "illustra quella scena") == 1.0
    assert asks("and", "translate into Dutch") == 1.0  # nothing of its own: bare


def test_data_and_quotations_of_the_earlier_task_are_features() -> None:
    origins = [
        Origin("t1", "data_analysis", 0, "analysez ce tableau", "start", own_data=True),
        Origin("t2", "summarization", 1, "puis résume les conclusions", "then"),
    ]
    ((_, _, f),) = pair_features(origins)
    assert f["i_data"] == 1.0 and f["i_data_next"] == 1.0 and f["both_data"] == 0.0


def test_the_gate_keeps_rule_edges_and_stops_only_the_models_own() -> None:
    # (probability, i, "both", a rule edge, asks for material)
    assert keep([(0.9, 0, False, False, False)], 0.5, True, None, gated=True) == []
    assert keep([(0.9, 0, False, True, False)], 0.5, True, None, gated=True) == [0]
    assert keep([(0.9, 0, False, False, True)], 0.5, True, None, gated=True) == [0]
    assert keep([(0.9, 0, False, False, False)], 0.5, True, None) == [0]
    # a rule edge the model finds unlikely goes
    assert keep([(0.1, 0, False, True, True)], 0.5, True, None, gated=True) == []


def test_a_lexical_edge_model_the_planner_cannot_read_is_refused() -> None:
    # round 15's lexical labeller (bench.planning.train.lexical) reads "_w:" features this
    # module no longer computes: loaded here, it would decide on the hand-made ones alone
    body = EdgeModel({"bias": -1.0}).to_json()
    assert EdgeModel.from_json(body).weights == {"bias": -1.0}
    with pytest.raises(ValueError):
        EdgeModel.from_json(body | {"lexical": True})
    with pytest.raises(ValueError):
        EdgeModel.from_json(body | {"over": 0.8})


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
    assert shape_of(
        "Find out how discovery treats a worker that stops heartbeating, then explain it to "
        "me in French in two sentences",
        _AGENTS,
        planner=learned,
    ) == [("search", []), ("translation", ["1"])]
    assert shape_of(
        "What's the tallest mountain in Peru? Write a haiku about it.",
        _AGENTS,
        planner=learned,
    ) == [
        ("search", []),
        ("text_generation", ["1"]),
    ]
    assert shape_of(
        "Write a poem about the sea and draw a lighthouse", _AGENTS, planner=learned
    ) == [
        ("text_generation", []),
        ("image_generation", []),
    ]


def test_the_same_nodes_with_or_without_the_model() -> None:
    rules, learned = IntentPlanner(edges=None), IntentPlanner(edges="learned")
    query = "Look up who painted the Mona Lisa, summarize it, and draw a sketch of the painter"
    assert [c for c, _ in shape_of(query, _AGENTS, planner=rules)] == [
        c for c, _ in shape_of(query, _AGENTS, planner=learned)
    ]


# Requests written for these tests in the classes the rules miss (none is a benchmark request):
# a later step that names the earlier one's product without a pronoun ("the hero of the tale"),
# a note after a pasted table's question, an adapter put to use. The rules alone leave the
# later step reading nothing; the shipped model wires it.
WIRED = [
    (
        "Escribe un cuento corto sobre un dragón tímido y después dibuja al protagonista del "
        "cuento.",
        [("text_generation", []), ("image_generation", ["1"])],
    ),
    (
        "Scrivi una favola breve su una volpe golosa e poi disegna il protagonista della favola.",
        [("text_generation", []), ("image_generation", ["1"])],
    ),
    (
        "Our weekly visitors:\nweek,visitors\n1,300\n2,320\n3,900\n4,310\n"
        "Is week 3 unusual? Then write a short note for the manager.",
        [("data_analysis", []), ("text_generation", ["1"])],
    ),
    (
        "Voici nos ventes:\nmois,ventes\njanvier,120\nfévrier,80\nmars,200\n"
        "Quel mois est le meilleur ? puis écris un petit mot d'encouragement pour l'équipe.",
        [("data_analysis", []), ("text_generation", ["1"])],
    ),
    (
        "Train an adapter on these lines so it talks like a cowboy, then have it write a "
        "welcome line for our newsletter:\nHowdy partner!\nSaddle up, folks.\n"
        "Yeehaw, what a day.",
        [("lora_training", []), ("text_generation", ["1"])],
    ),
]


def test_the_shipped_model_wires_what_the_rules_miss() -> None:
    # The shipped threshold is chosen by leave-one-batch-out over the blind batches, not by
    # these five: the model must wire most of them (at least four), more than the rules
    # alone, and never a wrong edge (a case it leaves unwired keeps the right tasks, apart).
    learned, rules = IntentPlanner(), IntentPlanner(edges=None)
    wired = 0
    for query, shape in WIRED:
        got = shape_of(query, _AGENTS, planner=learned)
        apart = [(capability, []) for capability, _ in shape]
        assert got in (shape, apart), query
        wired += got == shape
    by_rules = sum(shape_of(query, _AGENTS, planner=rules) == shape for query, shape in WIRED)
    assert wired >= 4 and wired > by_rules


def test_the_rules_alone_leave_most_of_those_apart() -> None:
    # the same tasks; the rules alone wire at most one of the five (rules improve, so one)
    rules = IntentPlanner(edges=None)
    shapes = [(shape_of(query, _AGENTS, planner=rules), shape) for query, shape in WIRED]
    assert all([c for c, _ in got] == [c for c, _ in want] for got, want in shapes)
    assert sum(got != want for got, want in shapes) >= 4


@pytest.mark.parametrize(
    "query",
    [
        "Write a poem about the sea and draw a lighthouse",
        "Schreib ein Gedicht über den Herbst und zeichne einen Leuchtturm",
        "Escribe un poema sobre el otoño y dibuja un faro",
    ],
)
def test_the_shipped_model_leaves_parallel_jobs_apart(query: str) -> None:
    assert [deps for _, deps in shape_of(query, _AGENTS, planner=IntentPlanner())] == [[], []]


def test_the_models_edges_point_only_to_earlier_tasks() -> None:
    queries = [query for query, _ in WIRED] + [
        "Busca quién inventó el teléfono, resume lo que encuentres y después tradúcelo al "
        "alemán y dibuja un retrato del inventor",
        "Écris trois slogans pour une boulangerie, puis compare-les tous et dessine le meilleur",
    ]
    planner = IntentPlanner()
    for query in queries:
        plan = planner.plan_sync(query, _AGENTS)
        seen: set[str] = set()
        for task in plan.tasks:
            assert set(task.depends_on) <= seen, query
            seen.add(task.task_id)
