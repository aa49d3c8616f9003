"""A plan's DAG check skips the work that cannot find anything (``bench/README.md``, "Round
10: a run's Python steps"): Kahn's walk when every dependency is on a task before it, the
condition language's checks when no task uses it. What they find is found as before."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mesh_contracts import plan as plan_module
from mesh_contracts.plan import ExecutionPlan


def _plan(*tasks: dict[str, Any]) -> ExecutionPlan:
    return ExecutionPlan.model_validate({"tasks": list(tasks)})


def _refuse(*_: Any) -> Any:
    raise AssertionError("called")


def test_a_plan_in_dependency_order_without_conditions_skips_both_walks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plan_module, "_find_cycle", _refuse)
    monkeypatch.setattr(plan_module, "_check_language", _refuse)
    _plan({"task_id": "gen", "capability": "c", "input": {"tokens": 16}})
    _plan(
        {"task_id": "a", "capability": "c"},
        {"task_id": "b", "capability": "c", "depends_on": ["a"]},
        {"task_id": "c", "capability": "c", "depends_on": ["a", "b"]},
    )


def test_a_dependency_on_a_later_task_is_still_walked() -> None:
    ok = _plan(
        {"task_id": "b", "capability": "c", "depends_on": ["a"]},
        {"task_id": "a", "capability": "c"},
    )
    assert [t.task_id for t in ok.tasks] == ["b", "a"]
    with pytest.raises(ValidationError, match="dependency cycle: a -> b -> a"):
        _plan(
            {"task_id": "a", "capability": "c", "depends_on": ["b"]},
            {"task_id": "b", "capability": "c", "depends_on": ["a"]},
        )
    with pytest.raises(ValidationError, match="depends on itself"):
        _plan({"task_id": "a", "capability": "c", "depends_on": ["a"]})


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"when": "tasks.x.output == 1"}, "reads unknown task"),
        ({"repeat_until": "output.n > ("}, "repeat_until"),
        ({"max_iterations": 3}, "max_iterations without repeat_until"),
        ({"repeat_tasks": ["a"]}, "repeat_tasks without repeat_until"),
    ],
)
def test_a_task_using_the_language_is_still_checked(extra: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        _plan({"task_id": "a", "capability": "c"}, {"task_id": "b", "capability": "c",
                                                     "depends_on": ["a"], **extra})  # fmt: skip
