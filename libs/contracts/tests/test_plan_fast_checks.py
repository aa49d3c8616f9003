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


def test_a_run_answers_data_is_as_before() -> None:
    """``RunAnswer.data`` dumps its results once: the same keys in the same order as when
    they were dumped with ``exclude_none`` and then again without it."""
    import json

    from mesh_contracts.run_events import RunAnswer, TaskOutcomeData

    def before(a: RunAnswer) -> dict[str, Any]:
        body = a.model_dump(mode="json", exclude_none=True)
        body["results"] = {k: v.model_dump(mode="json") for k, v in a.results.items()}
        return body

    outcome = TaskOutcomeData(status="completed", output={"x": None}, agent_id="w")
    failed = TaskOutcomeData.model_validate({"status": "failed", "error": "e", "more": None})
    for a in (
        RunAnswer(
            answer="a", status="completed", results={"t": outcome}, synthesis="deterministic"
        ),
        RunAnswer.model_validate(
            {"answer": "", "status": "failed", "results": {"t": failed}, "extra": "z", "gone": None}
        ),
        RunAnswer(answer="", status="completed"),
    ):
        assert json.dumps(a.data()) == json.dumps(before(a))
        assert list(a.data()) == list(before(a))
