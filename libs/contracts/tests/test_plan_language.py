"""The plan language: conditions parse, evaluate over outputs and are checked by the plan."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_contracts import ConditionError, ExecutionPlan, parse_condition

ENV: dict[str, Any] = {
    "tasks": {
        "review": {
            "output": {"approved": False, "score": 7, "tags": ["a", "b"], "items": [{"n": 1}]},
            "text": "needs work on the ending",
            "status": "completed",
        },
        "t-2": {"output": "yes", "text": "yes", "status": "completed"},
    },
    "output": {"done": True},
    "iteration": 2,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.review.output.approved == false", True),
        ("$.review.output.approved", False),
        ("not $.review.output.approved", True),
        ("tasks.review.output.score >= 7 and tasks.review.output.score < 8", True),
        ("tasks.review.output.score > 7 or $.t-2.text == 'yes'", True),
        ("'ending' in tasks.review.text", True),
        ('"b" in $.review.output.tags', True),
        ("'c' not in $.review.output.tags", True),
        ("tasks.review.status in ['completed', 'failed']", True),
        ("$.review.output.items[0].n == 1", True),
        ('$.review.output["score"] != 7', False),
        ("$.review.output.missing.deeper == null", True),
        ("$.review.output.score > 'x'", False),  # incomparable types: false, not an error
        ("$.review.output.approved == 0", False),  # JSON: false is not 0
        ("output.done and iteration >= 2", True),
        ("(not (iteration == 1)) and ($.t-2.output == 'yes')", True),
        ("'approved' in $.review.output", True),
    ],
)
def test_conditions_evaluate_over_json_outputs(text: str, expected: bool) -> None:
    assert parse_condition(text).evaluate(ENV) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("$.review.output.score >", "expected a value"),
        ("__import__('os').system('x')", "unknown name"),
        ("$.review.output.score = 3", "unexpected character"),
        ("$.review", "after the task id comes one of output, text, lower, status"),
        ("$.review.output ; drop", "unexpected character"),
        ("iteration.x == 1", "no fields"),
        ("x" * 501, "longer than 500"),
        ("(" * 40 + "true" + ")" * 40, "nested deeper"),
        ("[$.review.output] == 1", "literals only"),
        ("$.review.output == 1 2", "expected the end"),
    ],
)
def test_bad_conditions_are_refused_with_where(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse_condition(text)


def test_values_say_what_each_path_read() -> None:
    cond = parse_condition("$.review.output.approved == true or 'x' in tasks.review.text")
    assert cond.values(ENV) == {
        "$.review.output.approved": False,
        "tasks.review.text": "needs work on the ending",
    }


def _plan(*tasks: dict[str, Any]) -> ExecutionPlan:
    base = {"capability": "text_generation"}
    return ExecutionPlan.model_validate({"tasks": [{**base, **t} for t in tasks]})


def test_a_branching_plan_with_a_join_validates() -> None:
    plan = _plan(
        {"task_id": "review"},
        {"task_id": "yes", "depends_on": ["review"], "when": "$.review.output.approved"},
        {"task_id": "no", "depends_on": ["review"], "when": "not $.review.output.approved"},
        {"task_id": "join", "depends_on": ["yes", "no"], "accept_skipped": True},
    )
    assert plan.task("join").accept_skipped


@pytest.mark.parametrize(
    ("tasks", "problem"),
    [
        (
            [{"task_id": "a"}, {"task_id": "b", "when": "$.a.output.ok"}],
            "'b': when reads 'a', which is not upstream of it",
        ),
        ([{"task_id": "a", "when": "$.zz.output.ok"}], "when reads unknown task 'zz'"),
        ([{"task_id": "a", "when": "output.ok"}], "only repeat_until may"),
        ([{"task_id": "a", "when": "$.a.output.ok == "}], "'a': when: expected a value"),
        ([{"task_id": "a", "max_iterations": 3}], "max_iterations without repeat_until"),
        (
            [{"task_id": "a"}, {"task_id": "b", "repeat_tasks": ["a"], "depends_on": ["a"]}],
            "repeat_tasks without repeat_until",
        ),
        (
            [
                {"task_id": "a"},
                {"task_id": "b", "depends_on": ["a"], "repeat_until": "output.ok"},
                {"task_id": "c", "repeat_until": "output.ok", "repeat_tasks": ["a"]},
            ],
            "repeat_tasks names 'a', not upstream of it",
        ),
        (
            [
                {"task_id": "draft"},
                {"task_id": "review", "depends_on": ["draft"], "repeat_until": "output.ok",
                 "repeat_tasks": ["draft"]},
                {"task_id": "side", "depends_on": ["draft"]},
            ],
            "task 'side' depends on 'draft' of the loop of 'review'",
        ),
    ],
)  # fmt: skip
def test_the_plan_validator_checks_every_reference(
    tasks: list[dict[str, Any]], problem: str
) -> None:
    with pytest.raises(ValueError) as err:  # pydantic's ValidationError around a PlanError
        _plan(*tasks)
    assert problem in str(err.value)


def test_max_iterations_is_bounded_by_the_contract() -> None:
    with pytest.raises(ValueError, match="less than or equal to 10"):
        _plan({"task_id": "a", "repeat_until": "output.ok", "max_iterations": 11})
    assert _plan({"task_id": "a", "repeat_until": "output.ok"}).task("a").iterations == 3
