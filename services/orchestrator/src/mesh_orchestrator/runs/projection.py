"""A run's state as its events describe it: the plan's nodes, their status, output and timing.

The multiplexer only numbers, fans out and stores events; this projection is the one place
that reads their meaning. The run service applies every event that changes state (``plan``,
``status``, ``result``, ``error``) as it is emitted, so ``GET /v1/runs/{id}`` and the stored
row always show the nodes as the stream has told them, and reading a run changes nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from mesh_contracts import NodeStatus, PlanNode
from mesh_contracts.event_bodies import node_rows
from mesh_orchestrator.runs.store.base import RunRecord

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def _json(value: Any) -> Any:
    """``value`` as ``PlanNode.model_dump(mode="json")`` writes a field of type Any: a string
    or None as it is (what that dump gives them; a task's agent and instance ids, three a
    run), anything else through pydantic."""
    if value is None or type(value) is str:
        return value
    return _ANY.dump_python(value, mode="json")


# Event types that change a plan node or the run's row (the rest only append to the log).
STATEFUL = frozenset({"plan", "status", "result", "error"})


class RunProjection:
    """Keeps ``record.plan`` (a list of PlanNode dicts, JSON-ready) current for one run.

    The nodes are kept as those dicts only, not as ``PlanNode`` models beside them (~2 KB
    of every open stream for a one-task plan: the model, its fields-set, its requirements).
    A change makes a new list with a new dict for the node it changed (a list handed out
    before, to the store's flush or a reader, never changes under it); ``nodes`` and
    ``unfinished`` read the dicts into models when asked (a pause, a run's end)."""

    __slots__ = ("_rows", "record")

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        # The record's plan now, read into node dicts when first asked for: a new run's
        # first event that touches a node is its ``plan``, which makes them anew
        # (validating the client's plan a second time cost a run ~15 us for nothing).
        self._rows: list[dict[str, Any]] | None = None

    def _current(self) -> list[dict[str, Any]]:
        rows = self._rows
        if rows is None:  # as ``PlanNode`` dumps them: every field, JSON values
            plan = self.record.plan or ()
            rows = self._rows = [PlanNode.model_validate(n).model_dump(mode="json") for n in plan]
        return rows

    @property
    def nodes(self) -> dict[str, PlanNode]:
        """The plan's nodes by task id, as models read now (the record's plan as it was at
        the start, until a ``plan`` event)."""
        return {r["task_id"]: PlanNode.model_validate(r) for r in self._current()}

    def apply(self, type_: str, data: dict[str, Any], task_id: str | None, ts: float) -> bool:
        """Fold one event in; True when the record changed."""
        if type_ == "plan":
            tasks = data.get("plan", {}).get("tasks", [])
            made = {t["task_id"]: PlanNode.model_validate(t).model_dump(mode="json") for t in tasks}
            self._commit(list(made.values()))
            return True
        rows = self._current()
        i = next((i for i, row in enumerate(rows) if row["task_id"] == task_id), None)
        if i is None:
            return False
        node = dict(rows[i])
        if type_ == "status":
            if "phase" in data:
                return False
            said = data.get("status")
            if said == "retrying":  # still running, on another attempt
                node["error"] = node["output"] = None
            elif said == "condition":  # a when / repeat_until was evaluated
                node["condition"] = _json(
                    {
                        k: data.get(k)
                        for k in ("kind", "expression", "result", "values", "iteration")
                    }
                )
            elif said == "answered":  # its question was answered: it runs again
                node["status"] = NodeStatus.PENDING.value
            elif said == "iterating":  # a loop runs it again
                node["iteration"] = _json(data.get("iteration"))
                node["status"] = NodeStatus.RUNNING.value
                node["error"] = node["output"] = None
            else:
                status = NodeStatus(data.get("status", node["status"]))
                node["status"] = status.value
                if status is NodeStatus.RUNNING:
                    node["assigned_agent"] = _json(data.get("agent_id"))
                    node["assigned_instance"] = _json(data.get("instance_id"))
                    node["started_at"] = ts
                elif status.terminal:
                    node["finished_at"] = ts
                    reason = data.get("reason")
                    if reason and node["error"] is None and status is not NodeStatus.COMPLETED:
                        node["error"] = _json(reason)
        elif type_ == "result":
            node["output"] = _json(data.get("output"))
        elif type_ == "error":
            node["error"] = _json(data.get("error"))
        else:
            return False
        rows = list(rows)
        rows[i] = node
        self._commit(rows)
        return True

    def planned(self, tasks: list[dict[str, Any]]) -> bool:
        """``apply`` of a ``plan`` event whose ``tasks`` were dumped from a validated plan
        (``PlanChosen.data()``): the nodes made from them as they are
        (``event_bodies.node_rows``), what validating each as a ``PlanNode`` and dumping it
        again made (~15 us a task)."""
        self._commit(node_rows(tasks))
        return True

    def unfinished(self) -> list[PlanNode]:
        return [
            PlanNode.model_validate(r)
            for r in self._current()
            if not NodeStatus(r["status"]).terminal
        ]

    def _commit(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows
        # Straight in the record's ``__dict__``: what pydantic's ``__setattr__`` does for a
        # plain field (``RunRecord`` validates no assignment), less its handler's look-up and
        # the fields-set ``add`` that nothing reads on a record (``runs.service._SET``).
        self.record.__dict__["plan"] = rows
