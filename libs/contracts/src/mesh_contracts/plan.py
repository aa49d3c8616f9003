"""Execution plans: a validated DAG of sub-tasks, plain JSON so a client can supply one."""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mesh_contracts.capabilities import Capability
from mesh_contracts.conditions import MAX_EXPRESSION_CHARS, ConditionError, parse_condition

#: A plan holds at most this many tasks, and a task depends on at most this many others
#: (no task may name one twice). Bounds, not budgets: validating a plan costs time linear
#: in its size, and its size is bounded, whatever a client sends.
MAX_PLAN_TASKS = 64
MAX_DEPENDS_ON = MAX_PLAN_TASKS
#: A loop runs at most this many iterations, whatever a plan asks (the orchestrator may cap
#: it lower: ``ORCH_MAX_ITERATIONS``).
MAX_ITERATIONS = 10

TaskId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class NodeStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    INPUT_REQUIRED = "input_required"  # its worker asked the user; answered via the API
    # Found running by a replica that took the run over, on an agent that is not safe to
    # retry, and its worker does not know the call: it may have run. A person decides.
    IN_DOUBT = "in_doubt"

    @property
    def terminal(self) -> bool:
        return self in (NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.SKIPPED)


class Requirements(BaseModel):
    """Hardware a sub-task needs; the resolver only picks instances that meet it. Frozen:
    the sub-tasks that ask for nothing share one (``NO_REQUIREMENTS``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu: bool = False
    min_vram_mb: int | None = Field(default=None, ge=0)


# What a sub-task that names no requirements has: one object for all of them, not a model,
# its ``__dict__`` and its fields-set each (~0.45 KB a sub-task, held as long as its run).
# Pydantic hands a hashable (frozen) default out as it is, uncopied.
NO_REQUIREMENTS = Requirements()


class SubTask(BaseModel):
    """One node of the plan. ``input`` is sent to the worker; upstream outputs are added to it."""

    model_config = ConfigDict(extra="forbid")

    task_id: TaskId
    description: str = Field(default="", max_length=4000)
    capability: Capability
    input: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[TaskId] = Field(default_factory=list, max_length=MAX_DEPENDS_ON)
    requires: Requirements = NO_REQUIREMENTS
    agent_id: str | None = None  # pin to one logical agent, skipping capability matching
    # The plan language (``mesh_contracts.conditions``): run only when ``when`` holds over
    # finished upstream outputs (else ``skipped``, with the reason); run even when an upstream
    # task was skipped (``accept_skipped``: the join after a branch); run again until
    # ``repeat_until`` holds over its own ``output``, at most ``max_iterations`` times, and
    # with ``repeat_tasks`` run those upstream tasks again before each new iteration (a
    # group loop: "revise until the reviewer approves").
    when: str | None = Field(default=None, min_length=1, max_length=MAX_EXPRESSION_CHARS)
    accept_skipped: bool = False
    repeat_until: str | None = Field(default=None, min_length=1, max_length=MAX_EXPRESSION_CHARS)
    max_iterations: int | None = Field(default=None, ge=1, le=MAX_ITERATIONS)
    repeat_tasks: list[TaskId] = Field(default_factory=list, max_length=MAX_PLAN_TASKS)

    @property
    def iterations(self) -> int:
        """How many times this task may run: 1 without ``repeat_until``, else
        ``max_iterations`` (3 when not given)."""
        if self.repeat_until is None:
            return 1
        return self.max_iterations or 3


class PlanNode(SubTask):
    """A sub-task with its run-time state, as a run reports its plan."""

    status: NodeStatus = NodeStatus.PENDING
    assigned_agent: str | None = None
    assigned_instance: str | None = None
    output: Any = None
    error: str | None = None
    # The last condition evaluated for it (``when`` or ``repeat_until``): its expression,
    # result and the values it read; and the iteration it is on (loops).
    condition: dict[str, Any] | None = None
    iteration: int | None = None
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


def _ancestors(tasks: list[SubTask]) -> dict[str, set[str]]:
    """Every task's transitive dependencies (the plan is acyclic)."""
    deps = {t.task_id: t.depends_on for t in tasks}
    memo: dict[str, set[str]] = {}

    def of(task_id: str) -> set[str]:
        if task_id not in memo:
            out: set[str] = set()
            for d in deps[task_id]:
                out.add(d)
                out |= of(d)
            memo[task_id] = out
        return memo[task_id]

    for t in tasks:
        of(t.task_id)
    return memo


def _uses_language(t: SubTask) -> bool:
    """The task has what ``_check_language`` checks (without any, it finds nothing)."""
    return (
        t.when is not None
        or t.repeat_until is not None
        or t.max_iterations is not None
        or bool(t.repeat_tasks)
    )


def _check_language(tasks: list[SubTask]) -> list[str]:
    """``when``, ``repeat_until`` and ``repeat_tasks`` of every task: each expression parses,
    and every task it reads is upstream of it (finished when it is evaluated)."""
    problems: list[str] = []
    ancestors = _ancestors(tasks)
    by_id = {t.task_id: t for t in tasks}
    grouped: dict[str, str] = {}
    for t in tasks:
        for kind, text in (("when", t.when), ("repeat_until", t.repeat_until)):
            if text is None:
                continue
            try:
                cond = parse_condition(text)
            except ConditionError as exc:
                problems.append(f"task {t.task_id!r}: {kind}: {exc}")
                continue
            for ref in cond.references:
                if ref.root != "task":
                    if kind == "when":
                        problems.append(
                            f"task {t.task_id!r}: when: {ref.text!r} reads the task's own "
                            "output, which only repeat_until may"
                        )
                elif ref.task_id not in by_id:
                    problems.append(
                        f"task {t.task_id!r}: {kind} reads unknown task {ref.task_id!r}"
                    )
                elif ref.task_id not in ancestors[t.task_id]:
                    problems.append(
                        f"task {t.task_id!r}: {kind} reads {ref.task_id!r}, which is not upstream "
                        "of it (add it to depends_on)"
                    )
        if t.max_iterations is not None and t.repeat_until is None:
            problems.append(f"task {t.task_id!r}: max_iterations without repeat_until")
        if t.repeat_tasks and t.repeat_until is None:
            problems.append(f"task {t.task_id!r}: repeat_tasks without repeat_until")
        for g in t.repeat_tasks:
            if g not in by_id or g not in ancestors[t.task_id]:
                problems.append(f"task {t.task_id!r}: repeat_tasks names {g!r}, not upstream of it")
            elif g in grouped:
                problems.append(f"task {g!r} repeats in two loops ({grouped[g]!r}, {t.task_id!r})")
            elif by_id[g].repeat_until is not None:
                problems.append(f"task {g!r} has its own repeat_until inside {t.task_id!r}'s loop")
            else:
                grouped[g] = t.task_id
    # A group's members run again after the check: only the group, the check and what comes
    # after the check may wait on them.
    for g, check in grouped.items():
        loop = set(by_id[check].repeat_tasks) | {check}
        for u in tasks:
            if g in u.depends_on and u.task_id not in loop and check not in ancestors[u.task_id]:
                problems.append(
                    f"task {u.task_id!r} depends on {g!r} of the loop of {check!r}: it must depend on "
                    f"{check!r} instead"
                )
    return problems


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
        # Every dependency on a task before it in the plan (most plans, a pinned task's
        # among them): no cycle can be, and Kahn's walk is skipped.
        backward = True
        earlier: set[str] = set()
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
                if d not in earlier:
                    backward = False
            earlier.add(t.task_id)
        if not problems and not backward:
            cycle = _find_cycle(self.tasks)
            if cycle:
                # read "a -> b" as "a depends on b"
                problems.append("dependency cycle: " + " -> ".join(cycle))
        if not problems and any(_uses_language(t) for t in self.tasks):
            problems.extend(_check_language(self.tasks))
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
