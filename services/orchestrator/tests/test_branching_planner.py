"""The no-LLM planner's branches: "if ... then ... otherwise ..." requests become a check,
two branches behind ``when`` conditions, each part planned by the intent planner."""

from __future__ import annotations

from typing import Any

import pytest
from test_planning_facade import _manifest

from mesh_contracts import ExecutionPlan, parse_condition
from mesh_orchestrator.planning.branching import read
from mesh_orchestrator.planning.facade import Planning
from mesh_orchestrator.planning.intent import IntentPlanner
from mesh_orchestrator.planning.llm import plan_schema


def _env(check: str, output: Any) -> dict[str, Any]:
    text = output if isinstance(output, str) else str(output)
    tasks = {check: {"output": output, "text": text, "lower": text.lower(), "status": "completed"}}
    return {"tasks": tasks}


async def test_an_if_then_otherwise_request_plans_a_check_and_two_guarded_branches() -> None:
    query = (
        "Look up the weather in Oslo. If it is rainy, write a poem about rain, "
        "otherwise write a poem about the sun."
    )
    outcome = await Planning(IntentPlanner()).plan(query, _manifest())
    plan = outcome.plan
    assert plan is not None
    by_id = {t.task_id: t for t in plan.tasks}
    check = [t for t in plan.tasks if t.task_id.startswith("check-")]
    then = [t for t in plan.tasks if t.task_id.startswith("then-")]
    other = [t for t in plan.tasks if t.task_id.startswith("else-")]
    assert [t.capability for t in check] == ["search"]
    assert [t.capability for t in then] == ["text_generation"] == [t.capability for t in other]
    assert "rain" in str(then[0].input) and "sun" in str(other[0].input)
    assert then[0].depends_on == other[0].depends_on == [check[0].task_id]
    assert then[0].when and other[0].when
    # The branches exclude each other over what the check says.
    cid = check[0].task_id
    for said, taken in (("Rainy, 9 degrees", "then"), ("Sunny and dry, not rainy", "else")):
        env = _env(cid, said)
        assert parse_condition(by_id[then[0].task_id].when or "").evaluate(env) is (taken == "then")
        assert parse_condition(by_id[other[0].task_id].when or "").evaluate(env) is (
            taken == "else"
        )
    assert any("branch: if 'it is rainy'" in n for n in outcome.reasons)


@pytest.mark.parametrize(
    ("query", "word", "negated"),
    [
        ("Review the story; if it is approved, write the characters, otherwise revise it", "approved", False),
        ("Check the build, unless it passed then open a ticket, else close the ticket", "passed", True),
        ("If the analysis is not positive then write an apology else write a memo", "positive", True),
    ],
)  # fmt: skip
def test_the_condition_word_and_its_negation_are_read(query: str, word: str, negated: bool) -> None:
    b = read(query)
    assert b is not None and (b.word, b.negated) == (word, negated)


def test_requests_without_both_branches_are_left_to_the_planner() -> None:
    assert read("Write a haiku about rain") is None
    assert read("If it rains, write a haiku") is None  # no otherwise: not a branch


def test_the_llm_planners_schema_can_express_conditions_and_loops() -> None:
    schema = plan_schema(_manifest())
    t2 = schema["$defs"]["t2"]["anyOf"][0]["properties"]
    assert t2["when"] == {"type": "string", "maxLength": 500}
    assert t2["accept_skipped"] == {"type": "boolean"}
    t1 = schema["$defs"]["t1"]["anyOf"][0]["properties"]
    assert "when" not in t1 and t1["max_iterations"]["maximum"] == 10
    plan = ExecutionPlan.model_validate(
        {"tasks": [{"task_id": "t1", "capability": "search", "input": {"query": "x"}},
                   {"task_id": "t2", "capability": "text_generation", "depends_on": ["t1"],
                    "input": {"prompt": "y"}, "when": "'x' in tasks.t1.text"}]}
    )  # fmt: skip
    assert plan.task("t2").when == "'x' in tasks.t1.text"
