"""Execution plans: a validated DAG of sub-tasks, plain JSON so a client can supply one."""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mesh_contracts.capabilities import Capability

#: A plan holds at most this many tasks, and a task depends on at most this many others
#: (no task may name one twice). Bounds, not budgets: validating a plan costs time linear
#: in its size, and its size is bounded, whatever a client sends.
MAX_PLAN_TASKS = 64
MAX_DEPENDS_ON = MAX_PLAN_TASKS

TaskId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class NodeStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Found running by a replica that took the run over, on an agent that is not safe to
    # retry, and its worker does not know the call: it may have run. A person decides.
    IN_DOUBT = "in_doubt"

    @property
    def terminal(self) -> bool:
        return self in (NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.SKIPPED)


class Requirements(BaseModel):
    """Hardware a sub-task needs; the resolver only picks instances that meet it."""

    model_config = ConfigDict(extra="forbid")

    gpu: bool = False
    min_vram_mb: int | None = Field(default=None, ge=0)


class SubTask(BaseModel):
    """One node of the plan. ``input`` is sent to the worker; upstream outputs are added to it."""

    model_config = ConfigDict(extra="forbid")

    task_id: TaskId
    description: str = Field(default="", max_length=4000)
    capability: Capability
    input: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[TaskId] = Field(default_factory=list, max_length=MAX_DEPENDS_ON)
    requires: Requirements = Field(default_factory=Requirements)
    agent_id: str | None = None  # pin to one logical agent, skipping capability matching


class PlanNode(SubTask):
    """A sub-task with its run-time state, as a run reports its plan."""

    status: NodeStatus = NodeStatus.PENDING
    assigned_agent: str | None = None
    assigned_instance: str | None = None
    output: Any = None
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None


class PlanError(ValueError):
    """A plan that is not a valid DAG; ``problems`` names the offending ids."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _find_cycle(tasks: list[SubTask]) -> list[str] | None:
    """Return the ids along one cycle, or None. Kahn's algorithm, linear in tasks plus
    dependencies: what it cannot order lies on a cycle or behind one, and one cycle is
    found among those by walking dependencies until an id comes back."""
    deps = {t.task_id: t.depends_on for t in tasks}
    waiting = {t.task_id: len(t.depends_on) for t in tasks}
    dependents: dict[str, list[str]] = {t.task_id: [] for t in tasks}
    for t in tasks:
        for d in t.depends_on:
            dependents[d].append(t.task_id)
    ready = deque(task_id for task_id, n in waiting.items() if n == 0)
    while ready:
        for child in dependents[ready.popleft()]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    stuck = {task_id for task_id, n in waiting.items() if n > 0}
    if not stuck:
        return None
    # Every stuck task waits on a stuck one: follow those until an id repeats.
    node = next(t.task_id for t in tasks if t.task_id in stuck)  # the first, in plan order
    path: list[str] = []
    at: dict[str, int] = {}
    while node not in at:
        at[node] = len(path)
        path.append(node)
        node = next(d for d in deps[node] if d in stuck)
    return [*path[at[node] :], node]


class ExecutionPlan(BaseModel):
    """A DAG of sub-tasks. Construction validates it: unique ids, known deps, no cycles."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[SubTask] = Field(min_length=1, max_length=MAX_PLAN_TASKS)
    reasoning: str = ""
    planner: str = "client"  # which planner wrote it: client | deterministic | llm

    @model_validator(mode="after")
    def _is_a_dag(self) -> Self:
        problems: list[str] = []
        seen: set[str] = set()
        for t in self.tasks:
            if t.task_id in seen:
                problems.append(f"duplicate task_id {t.task_id!r}")
            seen.add(t.task_id)
        for t in self.tasks:
            named: set[str] = set()
            for d in t.depends_on:
                if d in named:
                    problems.append(f"task {t.task_id!r} depends on {d!r} twice")
                named.add(d)
                if d not in seen:
                    problems.append(f"task {t.task_id!r} depends on unknown task {d!r}")
                if d == t.task_id:
                    problems.append(f"task {t.task_id!r} depends on itself")
        if not problems:
            cycle = _find_cycle(self.tasks)
            if cycle:
                # read "a -> b" as "a depends on b"
                problems.append("dependency cycle: " + " -> ".join(cycle))
        if problems:
            raise PlanError(problems)
        return self

    def task(self, task_id: str) -> SubTask:
        for t in self.tasks:
            if t.task_id == task_id:
                return t
        raise KeyError(task_id)

    def dependents(self, task_id: str) -> list[str]:
        """Every task that depends on ``task_id``, directly or not, in plan order."""
        out: list[str] = []
        frontier = {task_id}
        changed = True
        while changed:
            changed = False
            for t in self.tasks:
                if t.task_id not in out and frontier.intersection(t.depends_on):
                    out.append(t.task_id)
                    frontier.add(t.task_id)
                    changed = True
        return [t.task_id for t in self.tasks if t.task_id in out]

    def topological_order(self) -> list[str]:
        done: list[str] = []
        remaining = list(self.tasks)
        while remaining:
            ready = [t for t in remaining if all(d in done for d in t.depends_on)]
            done.extend(t.task_id for t in ready)
            remaining = [t for t in remaining if t not in ready]
        return done
