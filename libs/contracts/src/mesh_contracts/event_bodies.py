"""The ``data`` of a run's fixed-shape events, made as plain dicts: byte for byte what the
models of ``run_events`` dump (``Model(...).data()``), without building or dumping a model.

A run makes eight of these events at least (``run``, ``plan``, a task's ``running`` and
``completed`` statuses and output, the budget's use, the answer, ``done``): building and
dumping their models was ~10% of a pinned run's Python (``bench/README.md``, "Round 11").
Each function here writes the model's dump itself, keys in the model's field order, the
``None`` fields left out as ``exclude_none`` leaves them, when every value is of a type whose
dump is itself (``str``, ``int``, ``bool``, ``None``, a finite ``float``, lists and dicts of
them with ``str`` keys; enum members of the model's enum); anything else (a tuple, an enum
of another kind, ``inf``, a non-``str`` key, a value the model would refuse) goes through
the model as before, so the body, and any error, is the model's
(``libs/contracts/tests/test_event_bodies.py`` holds each against its model).
"""

from __future__ import annotations

from typing import Any

from mesh_contracts.plan import ExecutionPlan, NodeStatus, PlanNode, Requirements, SubTask
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

# The run-time fields of a plan node, as ``PlanNode`` dumps a new one (pending, nothing set).
_TASK_FIELDS = tuple(SubTask.model_fields)
_REQUIRES_FIELDS = tuple(Requirements.model_fields)
NODE_DEFAULTS: dict[str, Any] = {
    k: v
    for k, v in PlanNode(task_id="t", capability="text_generation").model_dump(mode="json").items()
    if k not in SubTask.model_fields
}
_NODE_STATUSES = frozenset(s.value for s in NodeStatus)


_LEAVES = frozenset({str, int, bool, type(None)})  # what dumps to itself, whatever its value


def plain(value: Any) -> bool:
    """``value`` dumps (``mode="json"``, as a field of type ``Any``) to itself."""
    t = type(value)
    if t in _LEAVES:
        return True
    if t is float:
        return bool(value - value == 0.0)  # finite: inf and nan dump as None
    if t is dict:
        for k, v in value.items():  # the leaves looked at here, no call a value
            tv = type(v)
            if type(k) is not str or not (
                tv in _LEAVES or (v - v == 0.0 if tv is float else plain(v))
            ):
                return False
        return True
    if t is list:
        for v in value:
            tv = type(v)
            if not (tv in _LEAVES or (v - v == 0.0 if tv is float else plain(v))):
                return False
        return True
    return False


def _opt_str(value: Any) -> bool:
    return value is None or type(value) is str


def run_started(
    run_id: str, query: str, trace_id: str | None = None, span_id: str | None = None
) -> dict[str, Any]:
    """``RunStarted(run_id=..., query=..., trace_id=..., span_id=...).data()``."""
    if (
        type(run_id) is not str
        or type(query) is not str
        or not (_opt_str(trace_id) and _opt_str(span_id))
    ):
        return RunStarted(run_id=run_id, query=query, trace_id=trace_id, span_id=span_id).data()
    body: dict[str, Any] = {"run_id": run_id, "query": query, "status": "running"}
    if trace_id is not None:
        body["trace_id"] = trace_id
    if span_id is not None:
        body["span_id"] = span_id
    return body


def task_status(
    status: NodeStatus,
    *,
    reason: str | None = None,
    agent_id: str | None = None,
    instance_id: str | None = None,
    endpoint: str | None = None,
    started_at: float | None = None,
    attempt: int | None = None,
    key: str | None = None,
    candidates: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``TaskStatus(status=..., ...).data()``."""
    if not (
        type(status) is NodeStatus
        and _opt_str(reason)
        and _opt_str(agent_id)
        and _opt_str(instance_id)
        and _opt_str(endpoint)
        and (started_at is None or (type(started_at) is float and plain(started_at)))
        and (attempt is None or type(attempt) is int)
        and _opt_str(key)
        and (candidates is None or (type(candidates) is list and plain(candidates)
                                    and all(type(c) is dict for c in candidates)))
    ):  # fmt: skip
        return TaskStatus(
            status=status, reason=reason, agent_id=agent_id, instance_id=instance_id,
            endpoint=endpoint, started_at=started_at, attempt=attempt, key=key,
            candidates=candidates,
        ).data()  # fmt: skip
    body: dict[str, Any] = {"status": status.value}
    for name, value in (
        ("reason", reason), ("agent_id", agent_id), ("instance_id", instance_id),
        ("endpoint", endpoint), ("started_at", started_at), ("attempt", attempt),
        ("key", key), ("candidates", candidates),
    ):  # fmt: skip
        if value is not None:
            body[name] = value
    return body


def task_output(output: Any) -> dict[str, Any]:
    """``TaskOutput(output=...).data()``."""
    if output is None:
        return {}
    if not plain(output):
        return TaskOutput(output=output).data()
    return {"output": output}


def _floats(values: Any) -> dict[str, float] | None:
    """A ``dict[str, float]`` field's dump of ``values`` when it is plain, else None."""
    if type(values) is not dict:
        return None
    out: dict[str, float] = {}
    for k, v in values.items():
        t = type(v)
        if type(k) is not str:
            return None
        if t is float and v - v == 0.0:
            out[k] = v
        elif t is int and -(2**53) <= v <= 2**53:  # the model makes it a float, exactly
            out[k] = float(v)
        else:
            return None
    return out


def budget_status(
    used: dict[str, float],
    limits: dict[str, float],
    status: str = "used",
    exhausted: str | None = None,
) -> dict[str, Any]:
    """``BudgetStatus(used=..., limits=..., status=..., exhausted=...).data()``."""
    u, lim = _floats(used), _floats(limits)
    if (
        u is None
        or lim is None
        or type(status) is not str
        or status not in ("used", "exhausted")
        or not _opt_str(exhausted)
    ):
        model = BudgetStatus(used=used, limits=limits, status=status, exhausted=exhausted)  # type: ignore[arg-type]
        return model.data()
    body: dict[str, Any] = {"phase": "budget", "status": status, "used": u, "limits": lim}
    if exhausted is not None:
        body["exhausted"] = exhausted
    return body


def _outcome(r: Any) -> dict[str, Any] | None:
    """``TaskOutcomeData.model_validate(r).model_dump(mode="json")`` when ``r`` is plain."""
    if type(r) is not dict:
        return None
    status = r.get("status")
    if type(status) is NodeStatus:
        status = status.value
    elif type(status) is not str or status not in _NODE_STATUSES:
        return None
    output, error, agent = r.get("output"), r.get("error"), r.get("agent_id")
    if not (plain(output) and _opt_str(error) and _opt_str(agent)):
        return None
    out: dict[str, Any] = {"status": status, "output": output, "error": error, "agent_id": agent}
    for k, v in r.items():  # extras after the fields, in their order (extra="allow")
        if k not in out:
            if type(k) is not str or not plain(v):
                return None
            out[k] = v
    return out


def run_answer(
    answer: str,
    status: RunStatus,
    results: dict[str, Any],
    synthesis: str | None = None,
) -> dict[str, Any]:
    """``RunAnswer(answer=..., status=..., results=..., synthesis=...).data()``; each of
    ``results`` a ``TaskOutcomeData``'s fields (``TaskOutcome.public()``)."""
    outcomes: dict[str, Any] | None = {} if type(results) is dict else None
    if outcomes is not None:
        for k, r in results.items():
            o = _outcome(r)
            if o is None or type(k) is not str:
                outcomes = None
                break
            outcomes[k] = o
    if (
        outcomes is None
        or type(answer) is not str
        or type(status) is not RunStatus
        or synthesis not in (None, "llm", "deterministic")
    ):
        model = RunAnswer(answer=answer, status=status, results=results, synthesis=synthesis)
        return model.data()
    body: dict[str, Any] = {"answer": answer, "status": status.value, "results": outcomes}
    if synthesis is not None:
        body["synthesis"] = synthesis
    return body


def run_ended(status: RunStatus) -> dict[str, Any]:
    """``RunEnded(status=...).data()``."""
    if type(status) is not RunStatus:
        return RunEnded(status=status).data()
    return {"status": status.value}


def node_rows(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan's nodes as ``PlanNode.model_validate(t).model_dump(mode="json")`` makes
    them, from ``tasks``: a ``plan`` event's tasks as ``PlanChosen.data()`` dumped them
    from a validated plan (every field of a ``SubTask`` there unless it was None, which
    ``exclude_none`` left out). Only for such tasks: anything else must be validated."""
    rows: list[dict[str, Any]] = []
    for t in tasks:
        row = {k: t.get(k) for k in _TASK_FIELDS}
        requires = t.get("requires")
        if requires is not None:
            row["requires"] = {k: requires.get(k) for k in _REQUIRES_FIELDS}
        row.update(NODE_DEFAULTS)
        rows.append(row)
    return rows


class Made:
    """An event's type and its ``data`` made here: what ``Emitter.emit`` takes beside a
    ``run_events`` model (``TYPE`` and ``data()``, as a model has them)."""

    __slots__ = ("TYPE", "_data")

    def __init__(self, type_: str, data: dict[str, Any]) -> None:
        self.TYPE = type_
        self._data = data

    def data(self) -> dict[str, Any]:
        return self._data

    def __repr__(self) -> str:
        return f"Made({self.TYPE!r}, {self._data!r})"


class PlanMade(Made):
    """A ``plan`` event's body made by ``plan_chosen`` from a validated ``ExecutionPlan``:
    its tasks are a validated plan's dump (what ``RunProjection.planned`` may take as they
    are)."""

    __slots__ = ()


def plan_chosen(plan: ExecutionPlan, planner: str, reason: str) -> PlanMade:
    """``PlanChosen.model_construct(plan=plan, planner=..., reason=...)``'s event: its body
    the plan's own dump (``exclude_none``), without making the ``PlanChosen`` (a
    ``model_construct`` costs more than the dump)."""
    if type(plan) is not ExecutionPlan or type(planner) is not str or not _opt_str(reason):
        model = PlanChosen.model_construct(plan=plan, planner=planner, reason=reason)
        return PlanMade(PlanChosen.TYPE, model.data())
    body: dict[str, Any] = {"plan": plan.model_dump(mode="json", exclude_none=True)}
    body["planner"] = planner
    if reason is not None:
        body["reason"] = reason
    return PlanMade(PlanChosen.TYPE, body)
