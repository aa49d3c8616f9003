"""The orchestrator's own events: what a run says about itself, typed.

A ``StreamEvent`` carries either a relayed worker event (``token``, ``message``,
``progress``, ``artifact``, a worker's ``result`` or ``error``: see ``events``) or one of
the payloads below as its ``data``. On the wire nothing distinguishes them but the event's
``type`` and a field or two, so ``parse_run_payload`` tells them apart by the same rules a
client would use:

* ``run``: ``RunStarted``; ``plan``: ``PlanChosen``; ``done``: ``RunEnded``;
* ``status`` with ``phase`` set: ``PhaseStatus`` (planning, replanning; ``phase:
  "approval"``: the run waits for a person's approval, was approved or rejected); ``retrying``:
  ``TaskRetrying`` (a sub-task moves to another replica); ``resumed``: ``RunResumed`` (the
  run was taken up again by an orchestrator); ``condition``: ``TaskCondition`` (a ``when``
  or ``repeat_until`` was evaluated, with what it read); ``iterating``: ``TaskIteration``
  (a loop's task runs again); otherwise ``TaskStatus`` (one plan node
  changed state);
* ``result`` with no ``task_id``: ``RunAnswer`` (the synthesis); with a ``task_id``:
  ``TaskOutput`` (one node's output);
* ``error`` with no ``task_id``: ``RunFailure``; with one: a task's ``TaskFailure``.

The orchestrator builds these models on its cold paths only (a handful per task); relayed
tokens never become pydantic objects.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts.plan import ExecutionPlan, NodeStatus


class RunStatus(StrEnum):
    """A run's state. ``RUNNING`` until it ends, ``AWAITING_APPROVAL`` while it waits
    for a person to approve its plan, ``PAUSED`` while it is paused; every other value is
    final."""

    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"  # planned, paused until approved or rejected
    PAUSED = "paused"  # POST /v1/runs/{id}/pause: parked until /resume (starts nothing)
    INPUT_REQUIRED = "input_required"  # a worker asked; parked until POST /v1/runs/{id}/input
    COMPLETED = "completed"  # every sub-task completed
    PARTIAL = "partial"  # some completed, some failed or were skipped
    FAILED = "failed"  # nothing completed, or the request could not be planned
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its orchestrator stopped while it ran
    REJECTED = "rejected"  # its plan was rejected while it awaited approval
    BUDGET_EXHAUSTED = "budget_exhausted"  # options.budget ran out; the rest was stopped

    @property
    def terminal(self) -> bool:
        return self not in (
            RunStatus.RUNNING,
            RunStatus.AWAITING_APPROVAL,
            RunStatus.PAUSED,
            RunStatus.INPUT_REQUIRED,
        )


class _Payload(BaseModel):
    """A run event's ``data``. ``TYPE`` is the ``StreamEvent.type`` it travels under."""

    model_config = ConfigDict(extra="allow")
    TYPE: ClassVar[str]

    def data(self) -> dict[str, Any]:
        """The JSON body as it goes on the wire (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class RunStarted(_Payload):
    """The run's first event. ``trace_id`` (32 hex digits) names the run's trace when the
    orchestrator traces: open it in Jaeger as ``/trace/<trace_id>``. ``span_id`` (16 hex
    digits) is its root ``run`` span: a replica that resumes the run, or runs it once
    approved, continues the same trace beneath it."""

    TYPE: ClassVar[str] = "run"
    run_id: str
    query: str
    status: RunStatus = RunStatus.RUNNING
    trace_id: str | None = None
    span_id: str | None = None


class PlanChosen(_Payload):
    """The plan the run executes, which planner wrote it and why."""

    TYPE: ClassVar[str] = "plan"
    plan: ExecutionPlan
    planner: str
    reason: str = ""


class PhaseStatus(_Payload):
    """Progress of a run-level phase. ``plan``: an LLM attempt (``running``), its rejection
    (``rejected``), a replan. ``approval`` (``options.approval = "required"``): the plan
    event went out and the run waits (``awaiting_approval``) until ``POST
    /v1/runs/{id}/approve`` (``approved``; ``edited`` when a new plan came with it) or
    ``/reject`` (``rejected``, then ``done`` with status ``rejected``). ``thread``: a run
    started on a thread while another ran there waits (``queued``, ``reason`` naming that
    run) until it ends (``running``)."""

    TYPE: ClassVar[str] = "status"
    phase: Literal["plan", "approval", "thread"]
    status: Literal["running", "rejected", "replanning", "awaiting_approval", "approved", "queued"]
    edited: bool | None = None
    planner: str | None = None
    attempt: int | None = None
    reason: str | None = None
    # ``awaiting_approval`` because tasks are in doubt: those tasks; ``approved``: what was
    # decided for them (``rerun`` or ``fail``).
    in_doubt: list[str] | None = None
    decision: Literal["rerun", "fail"] | None = None


class TaskStatus(_Payload):
    """A plan node changed state. ``running`` names the instance that took it."""

    TYPE: ClassVar[str] = "status"
    status: NodeStatus
    reason: str | None = None
    agent_id: str | None = None
    instance_id: str | None = None
    endpoint: str | None = None
    started_at: float | None = None
    attempt: int | None = None
    # ``running`` (and ``in_doubt``): the ``Idempotency-Key`` the attempt's call carries, as
    # sent, so a replica taking the run up asks the worker by that key, never a re-derived one.
    key: str | None = None
    # ``running``: every instance that could serve the task and why it was or was not
    # chosen (health, fit, priority, load, circuit breaker state).
    candidates: list[dict[str, Any]] | None = None


class RunResumed(_Payload):
    """The run was taken up again (its orchestrator died, or handed it over): ``kept`` are
    the sub-tasks whose completed results stay (never run again), ``restarted`` those that
    run again. ``first_seq`` is this event's id; ids between the last stored one and it were
    never stored (they may have reached a client, so they are not used again)."""

    TYPE: ClassVar[str] = "status"
    status: Literal["resumed"] = "resumed"
    owner: str
    epoch: int
    kept: list[str] = Field(default_factory=list)
    restarted: list[str] = Field(default_factory=list)
    last_stored_seq: int
    first_seq: int
    reason: str | None = None  # "resumed after pause" when a client resumed a paused run


class RunPaused(_Payload):
    """The run is paused (``POST /v1/runs/{id}/pause``): nothing new starts; the sub-tasks
    that were running finished first (``finished``), or were stopped (``cancel_running``:
    ``stopped``, they run again on resume). Its stream ends here without ``done``; ``POST
    /v1/runs/{id}/resume`` (any replica) takes it up again with a ``resumed`` status."""

    TYPE: ClassVar[str] = "status"
    status: Literal["paused"] = "paused"
    cancel_running: bool = False
    stopped: list[str] = Field(default_factory=list)


class TaskRetrying(_Payload):
    """A sub-task's attempt failed and it runs again: ``attempt`` is the one starting now,
    ``next_instance`` where (None: the instances are being tried again after a back-off).
    Events of a sub-task carry their attempt in ``data.attempt``; only the last attempt's
    events make its output."""

    TYPE: ClassVar[str] = "status"
    status: Literal["retrying"] = "retrying"
    attempt: int = Field(ge=2)
    reason: str
    failed_instance: str | None = None
    next_instance: str | None = None


class TaskCondition(_Payload):
    """A condition of the plan language was evaluated for a task: ``kind`` ``when`` (before
    it runs: false means the branch is not taken, a ``skipped`` status follows) or
    ``repeat_until`` (after an iteration: false means another one follows, unless
    ``max_iterations`` ran out). ``values``: what each path of ``expression`` read."""

    TYPE: ClassVar[str] = "status"
    status: Literal["condition"] = "condition"
    kind: Literal["when", "repeat_until"]
    expression: str
    result: bool
    values: dict[str, Any] = Field(default_factory=dict)
    iteration: int | None = None
    exhausted: bool | None = None  # repeat_until false at the last allowed iteration


class TaskIteration(_Payload):
    """A task of a loop runs again: ``iteration`` is the one starting now (2, 3, ...),
    ``attempt`` the attempt number its events will carry, ``loop`` the task whose
    ``repeat_until`` asked for it (itself, or the check of a group loop). The output of the
    last iteration is the task's output."""

    TYPE: ClassVar[str] = "status"
    status: Literal["iterating"] = "iterating"
    iteration: int = Field(ge=2)
    max_iterations: int
    attempt: int
    loop: str
    reason: str


class TaskInputRequired(_Payload):
    """A sub-task's worker asked the user (``question``, optional ``choices`` or
    ``answer_schema``): the task waits; the run parks (``input_required``) once nothing else
    runs, until ``POST /v1/runs/{id}/input`` answers; ``input_id`` counts the task's
    questions (1, 2, ...)."""

    TYPE: ClassVar[str] = "status"
    status: Literal["input_required"] = "input_required"
    question: str
    choices: list[str] | None = None
    answer_schema: dict[str, Any] | None = None
    input_id: int = 1
    attempt: int | None = None
    # What the worker's client needs to continue the same call once answered (an external
    # A2A agent's waiting task: its ``taskId`` and ``contextId``); handed back with the
    # answers in ``TaskRequest.context["@input"]["resume"]``.
    resume: dict[str, Any] | None = None


class TaskInputAnswered(_Payload):
    """The answer to a sub-task's question (``input_id``); the task runs again with it."""

    TYPE: ClassVar[str] = "status"
    status: Literal["answered"] = "answered"
    input_id: int
    answer: Any = None


class RunAwaitingInput(_Payload):
    """The run is parked until its open questions (``tasks``) are answered; its stream ends
    here without ``done``."""

    TYPE: ClassVar[str] = "status"
    status: Literal["input_required"] = "input_required"
    tasks: list[str] = Field(default_factory=list)


class TaskOutput(_Payload):
    """A node's output (a streaming worker's folded tokens or messages, or its result)."""

    TYPE: ClassVar[str] = "result"
    output: Any = None


class TaskFailure(_Payload):
    TYPE: ClassVar[str] = "error"
    error: str
    code: str = "worker_error"
    retryable: bool | None = None


class TaskOutcomeData(BaseModel):
    """``RunAnswer.results[task_id]``: how one sub-task ended."""

    model_config = ConfigDict(extra="allow")

    status: NodeStatus
    output: Any = None
    error: str | None = None
    agent_id: str | None = None


class RunAnswer(_Payload):
    """The run's answer: the synthesis, the run's status and every sub-task's outcome."""

    TYPE: ClassVar[str] = "result"
    answer: str
    status: RunStatus
    results: dict[str, TaskOutcomeData] = Field(default_factory=dict)
    synthesis: Literal["llm", "deterministic"] | None = None

    def data(self) -> dict[str, Any]:
        # A sub-task's outcome keeps its keys even when empty (clients index them): the
        # results dumped once, without ``exclude_none``, in their place (after ``answer``
        # and ``status``, which are never None).
        body = self.model_dump(mode="json", exclude_none=True, exclude={"results"})
        results = {k: v.model_dump(mode="json") for k, v in self.results.items()}
        return {"answer": body.pop("answer"), "status": body.pop("status"), "results": results,
                **body}  # fmt: skip


class RunFailure(_Payload):
    """A run-level error (planning failed, an internal error)."""

    TYPE: ClassVar[str] = "error"
    error: str
    code: str


class Budget(BaseModel):
    """``options.budget``: bounds on what a run may spend across its whole DAG (None: not
    bounded). ``max_tasks``: sub-tasks started; ``wall_s``: seconds of the run's active time
    (from its start, the time parked for a person left out); ``tokens``: tokens generated;
    ``gpu_s``: GPU-seconds (both as workers report them in their final ``result`` event's
    ``usage``, ``Usage``; tokens counted as streamed meanwhile)."""

    model_config = ConfigDict(extra="forbid")

    max_tasks: int | None = Field(default=None, ge=1, le=10_000)
    wall_s: float | None = Field(default=None, gt=0, le=7 * 86_400)
    tokens: int | None = Field(default=None, ge=1, le=10**12)
    gpu_s: float | None = Field(default=None, gt=0, le=10**9)


class BudgetStatus(_Payload):
    """What a run with a budget has used (``used``, against ``limits``), after each
    sub-task; ``exhausted`` names the bound that ran out (the run then stops its remaining
    work and ends ``budget_exhausted``)."""

    TYPE: ClassVar[str] = "status"
    phase: Literal["budget"] = "budget"
    status: Literal["used", "exhausted"] = "used"
    used: dict[str, float]
    limits: dict[str, float]
    exhausted: str | None = None


class RunEnded(_Payload):
    """The run's last event."""

    TYPE: ClassVar[str] = "done"
    status: RunStatus


RunPayload = (
    RunStarted
    | PlanChosen
    | PhaseStatus
    | BudgetStatus
    | TaskStatus
    | RunResumed
    | RunPaused
    | RunAwaitingInput
    | TaskInputRequired
    | TaskInputAnswered
    | TaskRetrying
    | TaskCondition
    | TaskIteration
    | TaskOutput
    | TaskFailure
    | RunAnswer
    | RunFailure
    | RunEnded
)


def parse_run_payload(type_: str, data: dict[str, Any], task_id: str | None) -> RunPayload | None:
    """The typed payload of an orchestrator event, or None for a relayed worker event
    (``token``, ``message``, ``progress``, ``artifact``). Raises ``ValidationError`` when
    the data does not fit its type."""
    if type_ == "run":
        return RunStarted.model_validate(data)
    if type_ == "plan":
        return PlanChosen.model_validate(data)
    if type_ == "done":
        return RunEnded.model_validate(data)
    if type_ == "status":
        if data.get("phase") == "budget":
            return BudgetStatus.model_validate(data)
        if "phase" in data:
            return PhaseStatus.model_validate(data)
        if data.get("status") == "retrying":
            return TaskRetrying.model_validate(data)
        if data.get("status") == "resumed":
            return RunResumed.model_validate(data)
        if data.get("status") == "paused" and task_id is None:
            return RunPaused.model_validate(data)
        if data.get("status") == "input_required":
            if task_id is None:
                return RunAwaitingInput.model_validate(data)
            return TaskInputRequired.model_validate(data)
        if data.get("status") == "answered":
            return TaskInputAnswered.model_validate(data)
        if data.get("status") == "condition":
            return TaskCondition.model_validate(data)
        if data.get("status") == "iterating":
            return TaskIteration.model_validate(data)
        return TaskStatus.model_validate(data)
    if type_ == "result":
        if task_id is None:
            return RunAnswer.model_validate(data)
        return TaskOutput.model_validate(data)
    if type_ == "error":
        if task_id is None:
            return RunFailure.model_validate(data)
        return TaskFailure.model_validate(data)
    return None
