"""Hostile input: a long run of blanks and tabs is read once by the segmenter's separators
("and", "then", "but", commas, slashes, dashes). Before round 14 each of them handed blanks
back and forth between two quantifiers at every start in the run, so "x." followed by 200
blank-and-tab pairs took over 20 s to split (cubic in the run's length). Bounded by the
suite's timeout, never by a timing assertion."""

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.intent.segment import Segmenter

BLANKS = [
    "x." + " \t" * 5_000 + "a",
    "write a poem" + " " * 10_000 + ", and" + "\t" * 10_000 + "then draw it",
    "summarize this" + " ," * 5_000 + " but" + " " * 5_000,
    "translate it" + " \u2014" * 3_000 + " / " * 3_000,
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", BLANKS, ids=["dot-tabs", "and-runs", "comma-runs", "dashes"])
def test_a_run_of_blanks_is_split_in_one_reading(text: str) -> None:
    parts = Segmenter(frozenset()).split(text)
    assert parts  # the text is kept, whatever its pieces


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", BLANKS, ids=["dot-tabs", "and-runs", "comma-runs", "dashes"])
def test_a_run_of_blanks_plans_or_fails_cleanly(text: str) -> None:
    try:
        plan = IntentPlanner().plan_sync(text, load_manifest())
    except PlanningFailed:
        return
    assert len(plan.tasks) <= 8


@pytest.mark.parametrize(
    ("text", "caps"),
    [
        ("write a poem about rain \t and  then draw it", ["text_generation", "image_generation"]),
        (
            "look up the tallest tree ,  and translate the answer into Dutch",
            ["search", "translation"],
        ),
    ],
)
def test_blanks_around_a_separator_still_split(text: str, caps: list[str]) -> None:
    plan = IntentPlanner().plan_sync(text, load_manifest())
    assert [t.capability for t in plan.tasks] == caps
