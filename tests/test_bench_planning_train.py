"""The intent model's training: dev clauses labelled from plan-level labels, reproducible files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.planning.__main__ import load_manifest
from bench.planning.score import Expected
from bench.planning.train.__main__ import save
from bench.planning.train.dev import examples
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.model import CLASSES, IntentModel


@pytest.fixture(scope="module")
def planner() -> IntentPlanner:
    p = IntentPlanner()
    p.warm()
    return p


def _labels(planner: IntentPlanner, request: str, expect: list[str], kind: str) -> list[Any]:
    req = Expected.parse({"id": "x", "kind": kind, "request": request, "expect": expect})
    return [(e.text, e.label) for e in examples(planner, load_manifest(), req)]


def test_a_clause_the_expected_plan_gives_a_job_is_labelled_with_that_job(
    planner: IntentPlanner,
) -> None:
    got = _labels(
        planner,
        "What's the speed of light? Explain it to my 8 year old",
        ["search", "text_generation <- 1"],
        "chain",
    )
    assert got == [
        ("What's the speed of light?", "search"),
        ("Explain it to my 8 year old", "text_generation"),
    ]


def test_the_extra_task_is_the_clause_the_model_was_less_sure_of(planner: IntentPlanner) -> None:
    got = dict(
        _labels(planner, "Write a haiku about rain. Thanks a lot!", ["text_generation"], "single")
    )
    assert got["Write a haiku about rain"] == "text_generation"
    assert got.get("Thanks a lot!", "none") == "none"


def test_every_clause_of_an_unservable_request_is_an_action(planner: IntentPlanner) -> None:
    got = _labels(planner, "Lock the front door and turn off the lights", [], "unservable")
    assert [label for _, label in got] == ["action", "action"]


def test_saved_weights_are_the_same_bytes_every_time_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1 << 17, len(CLASSES))).astype(np.float32)
    b = rng.normal(size=len(CLASSES)).astype(np.float32)
    save(tmp_path / "a.npz", w, b)
    save(tmp_path / "b.npz", w, b)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    model = IntentModel.load(tmp_path / "a.npz")
    assert np.array_equal(model.bias, b.astype(np.float16).astype(np.float32))
    assert model.openers and model.action_openers
