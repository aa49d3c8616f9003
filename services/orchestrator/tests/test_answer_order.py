"""Answers read as answers: the plan's final steps first, upstream results as short sources."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from mesh_contracts import ExecutionPlan
from mesh_orchestrator.synthesis.deterministic import merge
from mesh_orchestrator.synthesis.llm import build_messages

LOOKUP = {
    "query": "heartbeats",
    "results": [
        {
            "source": "discovery.md",
            "title": "Leases",
            "passage": "An instance that misses its heartbeats past the TTL is marked critical.",
            "score": 7.31,
        },
        {"source": "workers.md", "title": "Workers", "passage": "Workers register.", "score": 2.0},
    ],
    "message": "2 passages found",
}
FRENCH = "Une instance qui ne bat plus est marquée critique, puis retirée."


def _chain() -> ExecutionPlan:
    return ExecutionPlan.model_validate(
        {
            "tasks": [
                {"task_id": "t1", "capability": "search", "input": {"query": "q"}},
                {
                    "task_id": "t2",
                    "capability": "translation",
                    "description": "explain it in French",
                    "input": {"prompt": "p"},
                    "depends_on": ["t1"],
                },
            ]
        }
    )


def _done(output: object) -> dict[str, object]:
    return {"status": "completed", "output": output, "agent_id": "a"}


def test_the_answer_starts_with_the_last_steps_output_and_cites_the_lookup_briefly() -> None:
    answer = merge(_chain(), {"t1": _done(LOOKUP), "t2": _done(FRENCH)})
    assert answer.startswith(FRENCH)
    sources = answer.split("Sources:", 1)[1]
    assert "marked critical" in sources and "discovery.md" in sources
    assert "score" not in answer and "{" not in answer  # no raw JSON
    assert "Workers register" not in answer  # the best passage only


def test_several_final_steps_are_each_labelled_and_a_failure_is_stated() -> None:
    plan = ExecutionPlan.model_validate(
        {
            "tasks": [
                {"task_id": "t1", "capability": "text_generation", "input": {"prompt": "poem"}},
                {"task_id": "t2", "capability": "image_generation", "input": {"prompt": "fox"}},
            ]
        }
    )
    image = {"url": "http://img/artifacts/fox.png", "width": 512, "height": 512}
    answer = merge(plan, {"t1": _done("Snow on pines."), "t2": _done(image)})
    assert answer.startswith("[t1 text_generation]") and "Snow on pines." in answer
    assert "image: http://img/artifacts/fox.png" in answer and "Sources" not in answer
    failed = merge(plan, {"t1": _done("Snow."), "t2": {"status": "failed", "error": "GPU gone"}})
    assert failed.startswith("[t1 text_generation]")  # what completed still leads
    assert "1 of 2 sub-tasks did not complete" in failed and "GPU gone" in failed


def test_the_llm_synthesis_prompt_puts_the_final_results_before_their_sources() -> None:
    results = {
        "t2": {**_done(FRENCH), "description": "explain it in French", "source": False},
        "t1": {**_done(LOOKUP), "description": "look it up", "source": True},
    }
    (human,) = [m for m in build_messages("q", results) if isinstance(m, HumanMessage)]
    text = str(human.content)
    assert text.index(FRENCH) < text.index("Sources they were made from") < text.index("critical")
    assert "7.31" not in text  # the lookup as its best passage, not its JSON
