"""The deterministic planner: clauses, capability matching, dependencies, worker inputs."""

from __future__ import annotations

import pytest

from mesh_contracts import AgentDescriptor, Skill, manifest_of
from mesh_orchestrator.planning.clauses import split_clauses
from mesh_orchestrator.planning.deterministic import DeterministicPlanner, PlanningFailed

WRITER = AgentDescriptor(
    agent_id="writer",
    endpoint="http://127.0.0.1:1",
    capabilities=["text_generation", "summarization", "translation"],
    streaming_mode="dynamic_events",
    description="Writes text with a small language model.",
    input_schema={"type": "object", "properties": {"prompt": {"type": "string"}}},
)
ANALYST = AgentDescriptor(
    agent_id="analyst",
    endpoint="http://127.0.0.1:2",
    capabilities=["data_analysis"],
    streaming_mode="dynamic_messages",
    description="Analyses tabular data (CSV or JSON records).",
    skills=[Skill(id="correlate", description="Pearson correlations", tags=["correlation"])],
    input_schema={"type": "object", "properties": {"data": {}, "question": {"type": "string"}}},
)
LOOKUP = AgentDescriptor(
    agent_id="lookup",
    endpoint="http://127.0.0.1:3",
    capabilities=["search"],
    description="Looks up facts in a small knowledge base.",
    input_schema={"type": "object", "properties": {"query": {"type": "string"}}},
)
MANIFEST = manifest_of([WRITER, ANALYST, LOOKUP])


def plan(query: str):  # type: ignore[no-untyped-def]
    return DeterministicPlanner().plan_sync(query, MANIFEST)


def test_clauses_split_on_then_semicolons_sentences_and_verb_phrases() -> None:
    got = [
        c.text
        for c in split_clauses("Look up bees and summarize it; then translate it. Write a poem")
    ]
    assert got == ["Look up bees", "summarize it", "translate it", "Write a poem"]


def test_and_between_nouns_does_not_split() -> None:
    assert [c.text for c in split_clauses("Find facts about bees and honey")] == [
        "Find facts about bees and honey"
    ]


def test_inline_csv_is_lifted_out_whole_and_given_to_the_analyst() -> None:
    p = plan("Analyze this CSV:\nx,y\n1,2\n3,5; 7\n4,9\nand write a poem about rain")
    # "3,5; 7" breaks the CSV shape, so only the lines up to it form the table.
    assert p.tasks[0].capability == "data_analysis"
    assert p.tasks[0].input["data"].startswith("x,y\n1,2")
    assert p.tasks[1].capability == "text_generation"


def test_a_csv_header_on_the_same_line_as_the_request_is_still_found() -> None:
    p = plan("Write a poem about rain and analyze this CSV: city,temp\nOslo,4\nRome,18")
    assert [t.capability for t in p.tasks] == ["text_generation", "data_analysis"]
    assert p.tasks[1].input["data"] == "city,temp\nOslo,4\nRome,18"


def test_a_query_for_three_workers_gets_three_tasks_with_their_inputs() -> None:
    p = plan(
        'Look up the capital of France. Analyze [{"a": 1, "b": 2}, {"a": 2, "b": 4}] '
        "and write a haiku about Paris"
    )
    assert [(t.capability, t.depends_on) for t in p.tasks] == [
        ("search", []),
        ("data_analysis", []),
        ("text_generation", []),
    ]
    assert p.tasks[0].input == {"query": "Look up the capital of France"}
    assert p.tasks[1].input["data"] == '[{"a": 1, "b": 2}, {"a": 2, "b": 4}]'
    assert p.tasks[2].input == {"prompt": "write a haiku about Paris"}
    assert p.planner == "deterministic"


def test_a_clause_referring_to_earlier_output_depends_on_it() -> None:
    p = plan(
        "Look up the history of tea and then summarize it, then translate the summary to French"
    )
    assert [(t.capability, t.depends_on) for t in p.tasks] == [
        ("search", []),
        ("summarization", ["t1"]),
        ("translation", ["t2"]),
    ]


def test_both_refers_to_every_earlier_task() -> None:
    p = plan("Look up bees. Look up wasps. Summarize both")
    assert p.tasks[2].depends_on == ["t1", "t2"]


def test_a_clause_nothing_matches_falls_back_to_text_generation() -> None:
    assert plan("hello there").tasks[0].capability == "text_generation"


def test_the_same_query_always_gives_the_same_plan() -> None:
    q = "Find facts about owls and write a story about them"
    assert plan(q) == plan(q)


def test_only_manifest_capabilities_are_used() -> None:
    only_lookup = manifest_of([LOOKUP])
    p = DeterministicPlanner().plan_sync("write a poem and draw a cat", only_lookup)
    assert {t.capability for t in p.tasks} == {"search"}


def test_an_empty_registry_or_request_cannot_be_planned() -> None:
    with pytest.raises(PlanningFailed, match="no agents"):
        DeterministicPlanner().plan_sync("write a poem", manifest_of([]))
    with pytest.raises(PlanningFailed, match="empty"):
        plan(" ;; ")
