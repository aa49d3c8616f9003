"""The planning benchmark's scoring: alternatives, languages and kinds, as test.yaml uses them."""

from __future__ import annotations

import pytest

from bench.planning.score import Expected, score_outcome, summarize
from mesh_contracts import ExecutionPlan


def _plan(*caps: str, edge: bool = False) -> ExecutionPlan:
    tasks = [
        {"task_id": f"t{i + 1}", "capability": c, "input": {"prompt": "p"}}
        for i, c in enumerate(caps)
    ]
    if edge:
        tasks[1]["depends_on"] = ["t1"]
    return ExecutionPlan.model_validate({"tasks": tasks})


def test_either_alternative_of_a_task_matches_and_keeps_its_edge() -> None:
    req = Expected.parse(
        {
            "id": "x",
            "kind": "chain",
            "lang": "fr",
            "request": "...",
            "expect": ["search", "translation|text_generation <- 1"],
        }
    )
    assert req.lang == "fr" and req.edges == {(1, 0)}
    for second in ("translation", "text_generation"):
        out = score_outcome(req, _plan("search", second, edge=True), None, None, 1.0)
        assert out.exact and out.edge_tp == 1 and out.node_fp == 0
    wrong = score_outcome(req, _plan("search", "summarization", edge=True), None, None, 1.0)
    assert not wrong.exact and wrong.node_fn == 1
    assert summarize([wrong])["requests"] == 1


def test_an_unknown_kind_or_language_is_refused() -> None:
    base = {"id": "x", "request": "r", "expect": []}
    with pytest.raises(ValueError, match="kind"):
        Expected.parse({**base, "kind": "poem"})
    with pytest.raises(ValueError, match="lang"):
        Expected.parse({**base, "kind": "single", "lang": "xx"})
    assert Expected.parse({**base, "kind": "smalltalk"}).lang == "en"
