"""The edge model's training harness: labels from the scorer's matching, a deterministic fit."""

from __future__ import annotations

from bench.planning.__main__ import load_manifest
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
    assert names[0] == "requests" and names[1:] == [f"batch{k}" for k in range(1, len(names))]
