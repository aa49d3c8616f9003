"""Actions in the world that no agent performs are refused by the intent planner, never
handed to the writer or the lookup; the servable parts around them are still planned."""

from __future__ import annotations

import pytest
from intent_cases import PLANNER, caps_of, manifest_without_summaries

from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.intent.model import shared

# no analyst, and a writer that writes code but makes no summaries
_AGENTS = manifest_without_summaries()


@pytest.mark.parametrize(
    "query",
    [
        "Reboot the router in the hallway.",  # a verb no job starts with, on a thing
        "Set the thermostat to 21 degrees.",  # a verb the training phrasings only act with
        "Run this Python script and tell me what it prints.",  # running code, not writing it
    ],
)
def test_an_action_in_the_world_is_refused_not_chatted_about(query: str) -> None:
    with pytest.raises(PlanningFailed) as refused:
        PLANNER.draft_sync(query, _AGENTS)
    assert refused.value.unresolvable
    assert "no agent performs" in refused.value.unresolvable[0]


def test_the_servable_part_beside_running_code_is_planned_alone() -> None:
    draft = PLANNER.draft_sync(
        "Write a limerick about a cat, then run this script for me.", _AGENTS
    )
    assert [t.capability for t in draft.plan.tasks] == ["text_generation"]
    assert any("run this script" in part for part in draft.unresolvable)


def test_a_job_the_model_is_unsure_of_is_not_taken_for_an_action() -> None:
    caps = caps_of("Grab the definition of photosynthesis and simplify it", _AGENTS)
    assert caps == ["search", "text_generation"]


def test_small_talk_is_still_answered_by_the_writer() -> None:
    assert caps_of("Good night, see you tomorrow", _AGENTS) == ["text_generation"]


def test_the_shipped_model_knows_which_verbs_open_only_actions() -> None:
    model = shared()
    assert {"book", "pay", "bel", "paga"} <= model.action_openers
    assert not {"write", "trans", "draw", "find"} & model.action_openers


def test_running_code_asked_as_a_question_is_refused() -> None:
    with pytest.raises(PlanningFailed):
        PLANNER.draft_sync("Could you execute this script on the staging box?", _AGENTS)


def test_a_listed_thing_to_make_is_no_action_whatever_it_is_for() -> None:
    draft = PLANNER.draft_sync(
        "I need two things:\n- a watercolor of a fox\n- a caption for my Instagram post about it",
        _AGENTS,
    )
    assert [t.capability for t in draft.plan.tasks] == ["image_generation", "text_generation"]
    assert not draft.unresolvable


def test_a_jobs_verb_wins_over_a_weak_guess_of_an_action() -> None:
    # the model leans to "action" on the words after the verb; "tell" opens only jobs
    assert len(caps_of("Tell me a riddle, I am waiting for the bus", _AGENTS)) == 1
