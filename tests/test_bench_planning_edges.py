"""The edge model's training harness: labels from the scorer's matching, a deterministic fit."""

from __future__ import annotations

from bench.planning.__main__ import HERE, load_manifest
from bench.planning.edges import THRESHOLDS, dev_batches, fit, pairs_of
from bench.planning.score import Expected
from mesh_orchestrator.planning.intent import IntentPlanner


def _req(request: str, expect: list[str]) -> Expected:
    return Expected.parse({"id": "x", "kind": "chain", "request": request, "expect": expect})


def test_pairs_are_labelled_through_the_scorers_matching() -> None:
    planner, manifest = IntentPlanner(), load_manifest()
    chain = _req(
        "Look up who built the Eiffel Tower, then write a poem about him",
        [
            "search",
            "text_generation <- 1",
        ],
    )
    (pair,) = pairs_of(planner, manifest, chain)
    assert pair[:2] == (0, 1) and pair[3] == 1 and pair[2]["rule"] == 1.0
    apart = _req(
        "Look up who built the Eiffel Tower, then write a poem about him",
        [
            "search",
            "text_generation",
        ],
    )
    assert [p[3] for p in pairs_of(planner, manifest, apart)] == [0]


def test_the_fit_is_deterministic_and_learns_a_separable_feature() -> None:
    reqs = [
        [(0, 1, {"bias": 1.0, "pronoun": 1.0}, 1)],
        [(0, 1, {"bias": 1.0, "pronoun": 0.0}, 0)],
    ] * 20
    a, b = fit(reqs, rule=False), fit(reqs, rule=False)
    assert a.weights == b.weights and a.threshold == b.threshold
    assert a.weights["pronoun"] > 1 and a.threshold in THRESHOLDS
    dropped = fit([[(0, 1, {"bias": 1.0, "rule": 1.0}, 1)], [(0, 1, {"bias": 1.0}, 0)]], rule=False)
    assert "rule" not in dropped.weights


def test_every_dev_file_is_a_fold_and_no_test_split_is() -> None:
    names = list(dev_batches())
    files = sorted(p.stem for p in (HERE / "dev").glob("*.yaml"))
    assert names[0] == "requests" and sorted(names[1:]) == files
    numbers = [int(n.removeprefix("batch")) for n in names[1:]]
    # In order, the written batches (1, 2, ...) before the earlier test splits (101, ...).
    assert numbers == sorted(set(numbers)) and numbers[:3] == [1, 2, 3]
    assert not any(n.startswith("test") for n in names)


def test_round_8s_training_is_deterministic_and_its_gate_holds() -> None:
    from bench.planning.train.edges import Variant, decode, train

    def pair(pronoun: float, asks: float, lab: int) -> list[tuple[int, int, dict[str, float], int]]:
        f = {"bias": 1.0, "pronoun": pronoun, "asks_seq": asks, "rule": 0.0, "all": 0.0}
        return [(0, 1, f, lab)]

    reqs = [pair(1.0, 1.0, 1), pair(0.0, 0.0, 0), pair(1.0, 0.0, 0)] * 10
    v = Variant("old", 1.0, "single", gate="asks_seq")
    a, b = train(reqs, v), train(reqs, v)
    assert a == b and a.gate == "asks_seq" and a.weights["pronoun"] > 0
    assert decode(a, pair(1.0, 1.0, 1)) == {(0, 1)}
    assert decode(a, pair(1.0, 0.0, 0)) == set()  # the clause asks for nothing: no edge


def test_only_the_blind_files_are_held_out() -> None:
    from bench.planning.train.edges import TRAIN_ONLY, Variant, cross_validate

    req = _req("Look up who built the Eiffel Tower, then write a poem about him", ["search"])
    f = {"bias": 1.0, "rule": 1.0, "all": 0.0}
    data = {name: [(req, [(0, 1, f, 0)])] for name in ["requests", "batch1", "batch4", "batch5"]}
    folds = cross_validate(data, [Variant("old", 1.0, "single")])
    assert set(folds) == {"batch4", "batch5"} and not set(folds) & TRAIN_ONLY


def test_round_9s_choice_fit_is_deterministic_and_no_mark_is_a_weight() -> None:
    from bench.planning.edges import ENDS
    from bench.planning.train.edges import Variant, decode, fit_choice, train

    def req(pronoun: float, ends: float) -> list[tuple[int, int, dict[str, float], int]]:
        # two candidates for task 2: task 1 (the nearer, read when the clause refers back)
        # and task 0
        near = {"bias": 1.0, "pronoun": pronoun, "prev": 1.0, "all": 0.0, "rule": 0.0}
        far = {"bias": 1.0, "pronoun": pronoun, "prev": 0.0, "all": 0.0, "rule": 0.0}
        return [
            (0, 2, {**far, ENDS: ends}, 0),
            (1, 2, {**near, ENDS: ends}, int(pronoun > 0 and ends > 0)),
        ]

    reqs = [req(1.0, 1.0), req(0.0, 1.0), req(1.0, 0.0)] * 10
    a, b = fit_choice(reqs), fit_choice(reqs)
    assert a == b and a.choice and ENDS not in a.weights and a.weights["prev"] > 0
    model = train(reqs, Variant("all", 1.0, "choice"))
    assert model.choice and decode(model, req(1.0, 1.0)) == {(1, 2)}
    assert decode(model, req(0.0, 1.0)) == set()  # "none" wins the softmax
    # ``clean``: the weights from the pairs whose ends match only (the third kind drops out)
    clean = train(reqs, Variant("all", 1.0, "single", clean=True))
    assert ENDS not in clean.weights and clean.weights["pronoun"] > 0
