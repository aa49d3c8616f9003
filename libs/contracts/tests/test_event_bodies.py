"""The fixed-shape event bodies made as plain dicts (``mesh_contracts.event_bodies``) are byte
for byte the models' dumps, keys in the same order, over varied inputs: None fields, nested
dicts holding None, floats, ints a float field makes floats of, extras, and the values whose
dump is not themselves (tuples, ``inf``, enums of another kind, non-``str`` keys), which go
through the model; what the model refuses is refused the same way."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from mesh_contracts import event_bodies as eb
from mesh_contracts.plan import ExecutionPlan, NodeStatus, PlanNode, SubTask
from mesh_contracts.run_events import (
    BudgetStatus,
    PlanChosen,
    RunAnswer,
    RunEnded,
    RunStarted,
    RunStatus,
    TaskOutput,
    TaskStatus,
)


class _Color(Enum):
    RED = "red"


def _same(fast: dict[str, Any], model: dict[str, Any]) -> None:
    # The same keys in the same order, the same values of the same types: json.dumps keeps
    # the order and tells 1 from 1.0; orjson is what the frames and the store write.
    assert json.dumps(fast) == json.dumps(model)
    assert _orjson(fast) == _orjson(model)
    assert fast == model or json.dumps(fast) == json.dumps(model)  # nan != nan


def _orjson(value: Any) -> bytes | str:
    try:
        return orjson.dumps(value)
    except TypeError as exc:  # past 64 bits: the encoders take the pydantic path, alike
        return str(exc)


# Values of a field of type Any: plain ones, and ones whose dump is not themselves.
ANYS: list[Any] = [
    None, "", "text", "ü\u2028😀", 0, -7, 2**70, True, False, 1.5, -0.0, 1e300,
    [], [None], [1, "a", None, [2.5, {"k": None}]], {}, {"a": None}, {"a": {"b": None, "c": [None]}},
    (1, 2), {"t": (1,)}, float("inf"), float("nan"), [float("-inf")], {1: "int key"},
    {"a": [1, {"b": float("nan")}]}, [{"k": [2.5, float("inf")]}], {"a": {"b": {2: None}}},
    [[1, [2, (3,)]]], {"e": _Color.RED}, [b"bytes"], {"f": 0.1, "g": [True, None, -1.5e-300]},
    _Color.RED, NodeStatus.COMPLETED, {"s": {1, 2}} if False else {"s": [1, 2]},
]  # fmt: skip


@pytest.mark.parametrize("trace", [None, "0" * 32])
@pytest.mark.parametrize("span", [None, "1" * 16])
@pytest.mark.parametrize("query", ["", "a query", 'ü\n"q"'])
def test_run_started(trace: str | None, span: str | None, query: str) -> None:
    model = RunStarted(run_id="r1", query=query, trace_id=trace, span_id=span).data()
    _same(eb.run_started("r1", query, trace, span), model)


CANDIDATES: list[Any] = [
    None, [], [{"instance_id": "i", "healthy": True, "fits": True, "priority": 0,
                "load": 0.0, "breaker": "closed", "admits": True}],
    [{"a": None, "b": {"c": None}}], [{"load": float("inf")}], [{"t": (1, 2)}],
]  # fmt: skip


@pytest.mark.parametrize("status", list(NodeStatus))
@pytest.mark.parametrize("candidates", CANDIDATES)
def test_task_status(status: NodeStatus, candidates: Any) -> None:
    for kw in (
        {},
        {"reason": "why"},
        {"agent_id": "a", "instance_id": "i", "endpoint": "http://x", "started_at": 1.25,
         "attempt": 2, "key": "r:t:1@1", "candidates": candidates},
        {"reason": None, "agent_id": "a", "started_at": None, "attempt": None,
         "candidates": candidates},
        {"started_at": 1796631551.4857366, "attempt": 1},
        {"started_at": 3},  # an int: the model makes it 3.0
        {"started_at": float("inf")},
    ):  # fmt: skip
        _same(eb.task_status(status, **kw), TaskStatus(status=status, **kw).data())


def test_task_status_of_a_plain_string_status_is_the_models() -> None:
    _same(eb.task_status("completed"), TaskStatus(status="completed").data())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        eb.task_status("no such status")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        eb.task_status(NodeStatus.RUNNING, attempt="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("output", ANYS)
def test_task_output(output: Any) -> None:
    _same(eb.task_output(output), TaskOutput(output=output).data())


@pytest.mark.parametrize(
    ("used", "limits", "status", "exhausted"),
    [
        ({"max_tasks": 1, "wall_s": 0.005, "tokens": 16, "gpu_s": 0.0}, {}, "used", None),
        ({"max_tasks": 1.0, "wall_s": 12.0, "tokens": 0, "gpu_s": 0.5},
         {"tokens": 1000, "wall_s": 2.5}, "exhausted", "tokens"),
        ({"a": True}, {}, "used", None),  # a bool: what the model makes of it
        ({"a": float("inf")}, {}, "used", None),
        ({"a": 2**60}, {}, "used", None),
        ({"a": "1.5"}, {}, "used", None),
        ({}, {"b": -3}, "used", None),
    ],
)  # fmt: skip
def test_budget_status(used: Any, limits: Any, status: str, exhausted: str | None) -> None:
    model = BudgetStatus(used=used, limits=limits, status=status, exhausted=exhausted).data()  # type: ignore[arg-type]
    _same(eb.budget_status(used, limits, status, exhausted), model)


def test_budget_status_refuses_what_the_model_refuses() -> None:
    with pytest.raises(ValidationError):
        eb.budget_status({}, {}, "spent")
    with pytest.raises(ValidationError):
        eb.budget_status({"a": "many"}, {})


def _outcomes() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for output in ANYS:
        out.append({"status": "completed", "output": output, "error": None, "agent_id": "a"})
    out += [
        {"status": "failed", "output": None, "error": "boom", "agent_id": None},
        {"status": "skipped", "output": None, "error": "no", "agent_id": None, "not_taken": True},
        {"not_taken": True, "status": "completed"},  # an extra first; fields missing
        {"status": NodeStatus.FAILED, "error": "x"},
        {"status": "completed", "extra": {"k": None}, "more": (1,)},
    ]
    return out


@pytest.mark.parametrize("outcome", _outcomes())
@pytest.mark.parametrize("synthesis", [None, "deterministic", "llm"])
def test_run_answer(outcome: dict[str, Any], synthesis: str | None) -> None:
    results = {"gen": outcome, "other": {"status": "completed", "output": "x"}}
    for status in (RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.BUDGET_EXHAUSTED):
        model = RunAnswer(answer="the answer", status=status, results=results, synthesis=synthesis)  # type: ignore[arg-type]
        _same(eb.run_answer("the answer", status, results, synthesis), model.data())
    empty = RunAnswer(answer="", status=RunStatus.COMPLETED, results={}).data()
    _same(eb.run_answer("", RunStatus.COMPLETED, {}), empty)


def test_run_answer_refuses_what_the_model_refuses() -> None:
    with pytest.raises(ValidationError):
        eb.run_answer("a", RunStatus.COMPLETED, {"t": {"status": "no such status"}})
    with pytest.raises(ValidationError):
        eb.run_answer("a", RunStatus.COMPLETED, {"t": {"output": 1}})  # no status
    with pytest.raises(ValidationError):
        eb.run_answer("a", RunStatus.COMPLETED, {}, "other")


@pytest.mark.parametrize("status", list(RunStatus))
def test_run_ended(status: RunStatus) -> None:
    _same(eb.run_ended(status), RunEnded(status=status).data())
    _same(eb.run_ended(status.value), RunEnded(status=status.value).data())  # type: ignore[arg-type]


PLANS: list[dict[str, Any]] = [
    {"tasks": [{"task_id": "gen", "capability": "text_generation", "agent_id": "bench-fast",
                "input": {"tokens": 16}}]},
    {"tasks": [
        {"task_id": "a", "capability": "c", "input": {"x": None, "y": {"z": None}},
         "requires": {"gpu": True, "min_vram_mb": 2048}, "description": "ü"},
        {"task_id": "b", "capability": "c", "depends_on": ["a"], "when": "$.a.output.ok",
         "accept_skipped": True},
        {"task_id": "c", "capability": "c", "depends_on": ["b"], "repeat_until": "output.ok",
         "max_iterations": 3, "repeat_tasks": ["b"]},
    ], "reasoning": "why", "planner": "llm"},
]  # fmt: skip


@pytest.mark.parametrize("raw", PLANS)
def test_node_rows_are_the_projections_validated_nodes(raw: dict[str, Any]) -> None:
    plan = ExecutionPlan.model_validate(raw)
    body = PlanChosen.model_construct(plan=plan, planner="client", reason="r").data()
    tasks = body["plan"]["tasks"]
    models = [PlanNode.model_validate(t).model_dump(mode="json") for t in tasks]
    fast = eb.node_rows(tasks)
    for a, b in zip(fast, models, strict=True):
        _same(a, b)
    # New dicts at the top and for ``requires``: changing a row changes no event's body.
    assert all(
        r is not t and r["requires"] is not t["requires"] for r, t in zip(fast, tasks, strict=True)
    )


def test_node_rows_know_every_nested_model_of_a_sub_task() -> None:
    # ``node_rows`` fills the None fields back in for ``SubTask`` and ``requires`` only: a
    # new nested model field would need its own (exclude_none left its None fields out).
    nested = [
        name for name, f in SubTask.model_fields.items()
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)
    ]  # fmt: skip
    assert nested == ["requires"]
    new_node = PlanNode(task_id="t", capability="c").model_dump(mode="json")
    assert {k: v for k, v in new_node.items() if k not in SubTask.model_fields} == eb.NODE_DEFAULTS


@pytest.mark.parametrize("raw", PLANS)
@pytest.mark.parametrize("reason", ["", "plan supplied by the client", None])
def test_plan_chosen(raw: dict[str, Any], reason: str | None) -> None:
    plan = ExecutionPlan.model_validate(raw)
    made = eb.plan_chosen(plan, "client", reason)  # type: ignore[arg-type]
    constructed = PlanChosen.model_construct(plan=plan, planner="client", reason=reason)
    assert type(made) is eb.PlanMade and made.TYPE == "plan"
    _same(made.data(), constructed.data())
    if reason is not None:
        _same(made.data(), PlanChosen(plan=plan, planner="client", reason=reason).data())
