"""A verb the model places nowhere, on an object, joined by "and" to an act no agent performs,
is an act too: the refusal names both, and the training labels both as actions (round 12: the
retrained model put "Lock the front door" at none 0.40, action 0.15, and the refusal named half
of the request)."""

from __future__ import annotations

import pytest

from bench.planning.__main__ import load_manifest
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent import IntentPlanner

PLANNER = IntentPlanner()


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Lock the front door and turn off the lights", "Lock the front door"),
        ("Sluit de voordeur af en doe het licht uit", "Sluit de voordeur af"),
    ],
)
def test_the_refusal_names_the_act_before_another(query: str, first: str) -> None:
    with pytest.raises(PlanningFailed) as err:
        PLANNER.build_sync(query, load_manifest(), None)
    assert first in str(err.value)


@pytest.mark.parametrize(
    ("query", "caps", "left_out"),
    [
        # a job beside the act: the job stays, the act alone is left out
        ("Write a poem about doors and turn off the lights", ["text_generation"], 1),
        # a lookup before an act is no act
        ("What is the tallest tree in Europe and turn off the lights", ["search"], 1),
    ],
)
def test_a_job_beside_an_act_stays_a_job(query: str, caps: list[str], left_out: int) -> None:
    draft = PLANNER.build_sync(query, load_manifest(), None)[0]
    assert [t.capability for t in draft.plan.tasks] == caps
    assert len(draft.unresolvable) == left_out
