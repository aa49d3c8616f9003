"""A run's state as its events describe it: the plan's nodes, their status, output and timing.

The multiplexer only numbers, fans out and stores events; this projection is the one place
that reads their meaning. The run service applies every event that changes state (``plan``,
``status``, ``result``, ``error``) as it is emitted, so ``GET /v1/runs/{id}`` and the stored
row always show the nodes as the stream has told them, and reading a run changes nothing.
"""

from __future__ import annotations

from typing import Any

from mesh_contracts import NodeStatus, PlanNode
from mesh_orchestrator.runs.store.base import RunRecord

# Event types that change a plan node or the run's row (the rest only append to the log).
STATEFUL = frozenset({"plan", "status", "result", "error"})


class RunProjection:
    """Keeps ``record.plan`` (a list of PlanNode dicts) current for one run."""

    __slots__ = ("_dumps", "_nodes", "_plan", "record")

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        # The record's plan now, read into nodes when first asked for: a new run's first
        # event that touches a node is its ``plan``, which makes them anew (validating the
        # client's plan a second time cost a run ~15 us for nothing).
        self._plan = record.plan
        self._nodes: dict[str, PlanNode] | None = None
        # Each node's dict in ``record.plan``, by task id: an event re-dumps only its node.
        self._dumps: dict[str, dict[str, Any]] | None = None

    @property
    def nodes(self) -> dict[str, PlanNode]:
        """The plan's nodes by task id (the record's plan as it was at the start, until a
        ``plan`` event)."""
        if self._nodes is None:
            plan, self._plan = self._plan, None
            self._nodes = {n["task_id"]: PlanNode.model_validate(n) for n in plan or ()}
        return self._nodes

    def apply(self, type_: str, data: dict[str, Any], task_id: str | None, ts: float) -> bool:
        """Fold one event in; True when the record changed."""
        if type_ == "plan":
            tasks = data.get("plan", {}).get("tasks", [])
            self._plan = None
            self._nodes = {t["task_id"]: PlanNode.model_validate(t) for t in tasks}
            self._dumps = None
            self._snapshot()
            return True
        node = self.nodes.get(task_id or "")
        if node is None:
            return False
        if type_ == "status":
            if "phase" in data:
                return False
            if data.get("status") == "retrying":  # still running, on another attempt
                node.error = None
                node.output = None
                self._snapshot(task_id)
                return True
            if data.get("status") == "condition":  # a when / repeat_until was evaluated
                node.condition = {
                    k: data.get(k) for k in ("kind", "expression", "result", "values", "iteration")
                }
                self._snapshot(task_id)
                return True
            if data.get("status") == "answered":  # its question was answered: it runs again
                node.status = NodeStatus.PENDING
                self._snapshot(task_id)
                return True
            if data.get("status") == "iterating":  # a loop runs it again
                node.iteration = data.get("iteration")
                node.status = NodeStatus.RUNNING
                node.error = None
                node.output = None
                self._snapshot(task_id)
                return True
            node.status = NodeStatus(data.get("status", node.status))
            if node.status is NodeStatus.RUNNING:
                node.assigned_agent = data.get("agent_id")
                node.assigned_instance = data.get("instance_id")
                node.started_at = ts
            elif node.status.terminal:
                node.finished_at = ts
                reason = data.get("reason")
                if reason and node.error is None and node.status is not NodeStatus.COMPLETED:
                    node.error = reason
        elif type_ == "result":
            node.output = data.get("output")
        elif type_ == "error":
            node.error = data.get("error")
        else:
            return False
        self._snapshot(task_id)
        return True

    def unfinished(self) -> list[PlanNode]:
        return [n for n in self.nodes.values() if not n.status.terminal]

    def _snapshot(self, task_id: str | None = None) -> None:
        """``record.plan`` anew (a new list: whoever holds the last one keeps it as it was),
        re-dumping ``task_id``'s node only (every node's when None or not dumped yet): a
        plan of n tasks cost n dumps at each of its ~3n events."""
        dumps = self._dumps
        if dumps is None or task_id is None or task_id not in dumps:
            dumps = self._dumps = {k: n.model_dump(mode="json") for k, n in self.nodes.items()}
        else:
            dumps[task_id] = self.nodes[task_id].model_dump(mode="json")
        self.record.plan = list(dumps.values())
