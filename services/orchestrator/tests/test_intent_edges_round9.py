"""Round 9's edge features and the model trained on them: the consumer's clause read whole
(a reference anywhere, "then", an ordinal or a noun naming one earlier task), the producer's
(a question) and the pair's structure (a fan-out from one source after a chain step).

The requests are written for these tests (none is a benchmark request), one list per class of
edge failure read in blind batches 17-18 and the leave-one-batch-out errors: each was planned
wrong by round 8's shipped edge model and by the rules alone."""

from __future__ import annotations

import pytest
from intent_cases import manifest_with_trainer, shape_of

from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.edges import (
    EdgeModel,
    Origin,
    _clause,
    pair_features,
)

# the four agents and an adapter trainer, as in test_intent_edges
_AGENTS = manifest_with_trainer()

# "the first tagline", "el primer eslogan", "the first one": an ordinal picks an earlier task,
# not the latest one
ORDINAL = [
    (
        "Write a tagline for a cat café. Write another one for a dog park. Then draw a logo "
        "that fits the first tagline.",
        [("text_generation", []), ("text_generation", []), ("image_generation", ["1"])],
    ),
    (
        "Escribe un eslogan para una panadería vegana. Escribe otro para una heladería. "
        "Después dibuja un logo inspirado en el primer eslogan.",
        [("text_generation", []), ("text_generation", []), ("image_generation", ["1"])],
    ),
    (
        "Scrivi uno slogan per una pizzeria. Scrivine un altro per una gelateria. Poi disegna "
        "un logo per il primo slogan.",
        [("text_generation", []), ("text_generation", []), ("image_generation", ["1"])],
    ),
]
# "Then shorten it, and make a cover for it": the step joined by "and" to a chain step reads
# what that step read (the story), not the chain step's output
FANOUT = [
    (
        "Write a bedtime story about a brave snail. Then condense it into two sentences for "
        "the blurb, and paint a cover picture for it.",
        [("text_generation", []), ("summarization", ["1"]), ("image_generation", ["1"])],
    ),
    (
        "Escribe un cuento sobre un pingüino curioso. Luego resúmelo en dos frases para la "
        "contraportada, y haz una ilustración de portada para él.",
        [("text_generation", []), ("summarization", ["1"]), ("image_generation", ["1"])],
    ),
    (
        "Écris une petite histoire sur un renard timide. Ensuite résume-la en deux phrases, "
        "et dessine une couverture pour elle.",
        [("text_generation", []), ("summarization", ["1"]), ("image_generation", ["1"])],
    ),
    (
        "Find out how the cache evicts old entries. Then explain it to me in plain words, and "
        "also make a diagram that shows the idea.",
        [("search", []), ("text_generation", ["1"]), ("image_generation", ["1"])],
    ),
]
# a question on a pasted table, then a new sentence opening with "then": the note reads the
# analysis
TABLE = [
    (
        "region,units,returns\nnorth,540,12\nsouth,610,15\neast,580,61\n"
        "Which region is off? Then write a short heads-up for the managers.",
        [("data_analysis", []), ("text_generation", ["1"])],
    ),
]
CASES = ORDINAL + FANOUT + TABLE


@pytest.mark.parametrize(("query", "shape"), CASES)
def test_the_shipped_model_wires_round_nines_classes(
    query: str, shape: list[tuple[str, list[str]]]
) -> None:
    assert shape_of(query, _AGENTS, planner=IntentPlanner()) == shape


def test_the_rules_alone_get_none_of_them_right() -> None:
    rules = IntentPlanner(edges=None)
    for query, shape in CASES:
        got = shape_of(query, _AGENTS, planner=rules)
        assert [c for c, _ in got] == [c for c, _ in shape], query  # the same tasks
        assert got != shape, query


@pytest.mark.parametrize(
    ("text", "loose", "then", "ordinal", "enum"),
    [
        ("I'd like to train an adapter on those so it sounds grumpy", True, False, 0, False),
        ("then write a short note for the managers", False, True, 0, False),
        ("Dann schreib eine kurze Notiz", False, True, 0, False),
        ("draw a logo for the first tagline", False, False, 1, False),
        ("dibuja un logo para el segundo eslogan", False, False, 2, False),
        ("vertaal de eerste naar het Engels", False, False, 1, False),
        # an ordinal opening the clause is a list marker: parallel jobs
        ("Seconda, un disegno di una volpe", False, False, 0, True),
        ("2) a drawing of an owl", False, False, 0, True),
        ("write a poem about the sea", False, False, 0, False),
    ],
)
def test_a_clause_read_whole(text: str, loose: bool, then: bool, ordinal: int, enum: bool) -> None:
    got = _clause(text)
    assert got[:4] == (loose, then, ordinal, enum)


def test_a_noun_after_a_determiner_names_an_earlier_task() -> None:
    origins = [
        Origin("t1", "text_generation", 0, "schrijf een gedichtje over de herfst", "start"),
        Origin("t2", "text_generation", 1, "schrijf een tweet voor de bakker", "sentence"),
        Origin("t3", "translation", 2, "vertaal het gedichtje naar het Frans", "sentence"),
    ]
    pairs = {(i, j): f for i, j, f in pair_features(origins)}
    assert pairs[0, 2]["names_i"] == 1.0 and pairs[0, 2]["names_last"] == 1.0
    assert pairs[1, 2]["names_i"] == 0.0 and pairs[1, 2]["names_other"] == 1.0


def test_a_sibling_of_a_chain_step_sees_its_source() -> None:
    origins = [
        Origin("t1", "text_generation", 0, "write a story about a snail", "start"),
        Origin("t2", "summarization", 1, "then shorten it", "then"),
        Origin("t3", "image_generation", 2, "draw a cover for it", "and"),
    ]
    origins[1].rule_deps = ["t1"]
    pairs = {(i, j): f for i, j, f in pair_features(origins)}
    assert pairs[0, 2]["sib_and"] == 1.0  # the step before read t1, and t3 is joined by "and"
    assert pairs[1, 2]["prev_reads_and"] == 1.0  # t2 read something: t3 may be its sibling
    assert pairs[0, 1]["sib_and"] == 0.0


def test_a_choice_model_shares_one_softmax_per_task_with_none() -> None:
    model = EdgeModel({"bias": 1.0, "prev": 2.0}, threshold=0.5, single=True, choice=True)
    origins = [
        Origin("t1", "search", 0, "who wrote Dune", "start"),
        Origin("t2", "search", 1, "who wrote Emma", "then"),
        Origin("t3", "text_generation", 2, "write a poem about it", "then"),
    ]
    by_j = model.candidates(pair_features(origins))
    assert 0.0 < sum(c[0] for c in by_j[2]) < 1.0  # "none" keeps a share
    assert model.decide(origins)["t3"] == ["t2"]
    again = EdgeModel.from_json(model.to_json())
    assert again.choice and again.decide(origins) == model.decide(origins)
