"""What a run's stored event log says about how far it got: the basis of resuming it.

When a replica claims a run whose owner died (or handed it over), it reads the run's log
and rebuilds from it, never from the previous owner's memory: the plan it ran, the sub-tasks
that completed (their outputs are kept and never run again), how many attempts each other
task had (a re-run continues the count, so its events carry a newer attempt number), the
node states (replayed through the projection), and whether the answer was already sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mesh_contracts import ExecutionPlan, StreamEvent, SubTask
from mesh_orchestrator.runs.active_time import active_seconds
from mesh_orchestrator.runs.iterations import LoopProgress, loop_progress
from mesh_orchestrator.runs.projection import STATEFUL, RunProjection
from mesh_orchestrator.runs.store.base import RunRecord


@dataclass(frozen=True)
class InFlight:
    """A sub-task the log last shows running: the attempt, the instance that took it, and
    the idempotency key its call carried (None in a log written before keys were logged)."""

    attempt: int
    agent_id: str | None
    instance_id: str | None
    endpoint: str | None
    key: str | None = None


@dataclass
class Recovered:
    """A run as its log tells it (see the module docstring)."""

    plan: ExecutionPlan | None = None
    plan_stored: bool = False  # its ``plan`` event is in the log (else it is sent again)
    planner: str | None = None
    reason: str = ""
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    answered: bool = False  # the run-level result was stored: only ``done`` is missing
    ended: bool = False  # its ``done`` event was stored
    approved: bool = False  # it awaited approval and was approved (never asked again)
    # The answers each task's questions got, in order (``answered`` events): its worker
    # gets them again when the task runs again.
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    # What each task's last question said its call needs to continue (``resume``).
    resume: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_seq: int = 0
    trace: tuple[str, str] | None = None  # the run's trace and root span, when traced
    # Sub-tasks whose last status is ``running`` (a call was out when the owner stopped),
    # and those whose last status is ``in_doubt`` (the run parked for a decision on them).
    running: dict[str, InFlight] = field(default_factory=dict)
    # the last ``budget`` status; ``wall_s``: the run's active time so far (``active_time``)
    budget_used: dict[str, float] = field(default_factory=dict)
    in_doubt: dict[str, InFlight] = field(default_factory=dict)
    # Loops under way (``runs.iterations``): they go on from where they were, not from 1.
    loops: dict[str, LoopProgress] = field(default_factory=dict)
    # Tasks whose last status announced an attempt not yet shown running (``iterating``,
    # ``retrying``): the attempt their next call makes.
    announced: dict[str, int] = field(default_factory=dict)
    # The epoch of the last owner the log names (its ``resumed`` status; 1: the first):
    # an owner since may have made calls the log never heard of (``runs.in_doubt``).
    logged_epoch: int = 1

    def next_attempt(self, task_id: str) -> int:
        """The attempt of ``task_id``'s next call as its previous owner numbered it."""
        return self.announced.get(task_id, self.attempts.get(task_id, 0) + 1)

    @property
    def restarted(self) -> list[str]:
        if self.plan is None:
            return []
        return [t.task_id for t in self.plan.tasks if t.task_id not in self.done]


def recover(record: RunRecord, events: list[StreamEvent]) -> tuple[Recovered, RunProjection]:
    """Read ``events`` (the run's whole stored log, in seq order) into ``Recovered`` and a
    projection of the node states they describe (``record.plan`` is rebuilt by it)."""
    out = Recovered()
    client_plan = _client_plan(record)
    record.plan = None
    projection = RunProjection(record)
    status: dict[str, str] = {}
    outputs: dict[str, Any] = {}
    agents: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for e in events:
        out.last_seq = max(out.last_seq, e.seq)
        data = e.data
        if e.type == "plan":
            try:
                out.plan = ExecutionPlan.model_validate(data.get("plan"))
                out.plan_stored = True
            except ValidationError:
                out.plan = None
            out.planner = data.get("planner")
            out.reason = str(data.get("reason") or "")
        elif e.type == "run":
            trace_id, span_id = data.get("trace_id"), data.get("span_id")
            if isinstance(trace_id, str) and isinstance(span_id, str):
                out.trace = (trace_id, span_id)
        elif e.type == "done":
            out.ended = True
        elif e.type == "status" and data.get("status") == "resumed" and e.task_id is None:
            if isinstance(data.get("epoch"), int):
                out.logged_epoch = max(out.logged_epoch, data["epoch"])
        elif e.type == "result" and e.task_id is None:
            out.answered = True
        elif e.type == "status" and data.get("phase") == "budget":
            used = data.get("used")
            if isinstance(used, dict):
                out.budget_used = {k: v for k, v in used.items() if isinstance(v, int | float)}
        elif e.type == "status" and data.get("phase") == "approval":
            out.approved = out.approved or data.get("status") == "approved"
        elif e.task_id is not None:
            attempt = data.get("attempt")
            if isinstance(attempt, int):
                out.attempts[e.task_id] = max(out.attempts.get(e.task_id, 0), attempt)
            if e.type == "status" and isinstance(data.get("resume"), dict):
                out.resume[e.task_id] = data["resume"]
            if e.type == "status" and data.get("status") == "answered":
                out.inputs.setdefault(e.task_id, []).append(data.get("answer"))
            elif e.type == "status" and "phase" not in data and data.get("status") != "condition":
                status[e.task_id] = str(data.get("status"))
                if data.get("agent_id"):
                    agents[e.task_id] = data.get("agent_id")
                _track(out, e.task_id, data)
            elif e.type == "result":
                outputs[e.task_id] = data.get("output")
            if e.type == "status" and data.get("status") == "failed":
                reasons[e.task_id] = str(data.get("reason") or "")
        if e.type in STATEFUL:
            projection.apply(e.type, data, e.task_id, e.ts)
    # wall time is the run's active time, read from the log (not the last budget status)
    out.budget_used["wall_s"] = active_seconds(events)
    if out.plan is None and client_plan is not None:  # the client's, its event not stored
        out.plan, out.planner, out.reason = client_plan, "client", "plan supplied by the client"
    for task_id, s in status.items():
        if s == "completed":
            out.done[task_id] = {
                "status": "completed",
                "output": outputs.get(task_id),
                "error": None,
                "agent_id": agents.get(task_id),
            }
        elif s == "failed" and reasons.get(task_id, "").startswith("in doubt"):
            # Failed because it was in doubt: it may have run, so it never runs again.
            out.done[task_id] = {
                "status": "failed",
                "output": None,
                "error": reasons[task_id],
                "agent_id": agents.get(task_id),
            }
    if out.plan is not None:
        _carry_loops(out, out.plan, events, outputs, agents)
    return out, projection


def _carry_loops(
    out: Recovered,
    plan: ExecutionPlan,
    events: list[StreamEvent],
    outputs: dict[str, Any],
    agents: dict[str, str | None],
) -> None:
    """A loop is done only when its last iteration's condition ended it (a check whose
    ``completed`` is followed by a false ``repeat_until``, or by nothing yet, goes on); one
    under way is kept in ``out.loops``, and its group's tasks are not run again on their
    own: the check runs them again as its next iteration needs."""
    by_id = {t.task_id: t for t in plan.tasks}
    for check, p in loop_progress(plan, events).items():
        if not p.ended and out.done.get(check, {}).get("status") == "completed":
            del out.done[check]
        if not p.under_way:
            continue
        out.loops[check] = p
        for g in by_id[check].repeat_tasks:
            out.done.setdefault(
                g,
                {"status": "completed", "output": outputs.get(g), "error": None,
                 "agent_id": agents.get(g)},
            )  # fmt: skip


def _track(out: Recovered, task_id: str, data: dict[str, Any]) -> None:
    """Keep ``running`` and ``in_doubt`` up to date with one status event of a task."""
    s = data.get("status")
    out.running.pop(task_id, None)
    out.announced.pop(task_id, None)
    doubt = out.in_doubt.pop(task_id, None)
    attempt = data.get("attempt")
    key = data.get("key") if isinstance(data.get("key"), str) else None
    if s == "running" and isinstance(attempt, int):
        out.running[task_id] = InFlight(
            attempt, data.get("agent_id"), data.get("instance_id"), data.get("endpoint"), key
        )
    elif s in ("iterating", "retrying") and isinstance(attempt, int):
        out.announced[task_id] = attempt
    elif s == "in_doubt":
        out.in_doubt[task_id] = doubt or InFlight(
            attempt if isinstance(attempt, int) else 0,
            data.get("agent_id"),
            data.get("instance_id"),
            data.get("endpoint"),
            key,
        )


def _client_plan(record: RunRecord) -> ExecutionPlan | None:
    """The plan a client sent with the run (kept on its row from the start), if any."""
    if not record.plan or not record.options.get("client_plan"):
        return None
    fields = set(SubTask.model_fields)
    try:
        return ExecutionPlan(
            tasks=[SubTask.model_validate({k: v for k, v in n.items() if k in fields})
                   for n in record.plan]
        )  # fmt: skip
    except (ValidationError, ValueError):
        return None
