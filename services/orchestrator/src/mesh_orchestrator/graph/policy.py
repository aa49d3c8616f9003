"""The run graph's policy: its state and the named predicates its edges route on.

Each predicate reads the state and nothing else, so it is tested on plain dicts, and the
``route_*`` functions return the predicate's name, which LangGraph prints on the edge of the
Mermaid diagram. ``build.py`` wires them; routes that depend on configuration (is an LLM set
up?) are built there by ``make_routers``.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from mesh_contracts import ExecutionPlan, RunStatus

# Where a run's emitter (``runs.emitter.RunEvents``) sits in its config's ``configurable``:
# every node emits through it, so events leave on one path, numbered as they happen.
EMITTER = "mesh_emitter"
# Where the run's read of discovery (``routing.registry.RunRead``) sits, when reads are on:
# ``resolve`` makes it (or waits for the one a traced run started) only if the cached
# registry cannot place a task.
REGISTRY_READ = "mesh_registry_read"
# Where the run's gate (``relay.gate.Gate``) sits: ``execute`` passes it to the executor, so
# a paused run starts no new sub-task.
GATE = "mesh_gate"
# The run's lease generation on this replica (its epoch): ``execute`` passes it to the
# executor, whose worker calls name it in their idempotency keys.
EPOCH = "mesh_epoch"


class RunState(TypedDict, total=False):
    """The graph's state. ``plan`` is validated once, where it is made (a planner, the
    client's request), and travels typed from there."""

    run_id: str
    # Who started the run (``client:<name>``, ``admin``; None on an open mesh): worker calls
    # name it, so what a worker makes for the run is kept for that owner alone.
    owner: str | None
    query: str
    client_plan: ExecutionPlan | None
    timeout_seconds: float | None
    plan: ExecutionPlan | None
    planner: str
    reason: str
    plan_error: str | None
    unservable: list[str]  # parts of the request no agent serves (left out, or all of it)
    max_llm_attempts: int  # set by RunService; the planning facade owns its LLM attempts
    replans: int
    max_replans: int
    unresolvable: dict[str, str]
    results: dict[str, dict[str, Any]]
    synthesis_error: str | None
    status: RunStatus
    answer: str
    # A resumed run (``RunService`` after a crash or a handover): the sub-tasks that had
    # completed (task_id -> their ``results`` entry) and the attempts each task had had.
    resume_done: dict[str, dict[str, Any]]
    resume_attempts: dict[str, int]
    resume_inputs: dict[str, list[Any]]  # answers to workers' questions, per task
    resume_asked: dict[str, dict[str, Any]]  # their questions' ``resume``, per task
    # Loops under way (``runs.iterations.LoopProgress.public``), per check task: they go on.
    resume_loops: dict[str, dict[str, Any]]
    # Tasks whose call was out when the run changed hands, to an instance that knows its
    # idempotency key: task_id -> (instance_id, attempt, key); called again with that key.
    resume_pinned: dict[str, tuple[str, int, str]]
    # ``options.budget`` (or its client's default; ``mesh_contracts.Budget`` as a dict),
    # what earlier owners of the run used of it, and the bound that ran out (the run
    # then ends ``budget_exhausted``).
    budget: dict[str, Any] | None
    budget_used: dict[str, float] | None
    budget_exhausted: str | None
    # When this replica started or took the run up (epoch seconds): its budget's wall time
    # is ``budget_used["wall_s"]`` (active time before, from the log) plus the time since.
    active_since: float
    # ``options.approval``: "required" pauses the run after planning (``await_approval``)
    # until a person approves it; ``approved`` is set when the run is taken up again after
    # approval, and ``plan_announced`` when its plan event is in its log already.
    approval: str | None
    approved: bool
    plan_announced: bool
    # On a thread (``runs.threads``): the thread, the run it waits for before it plans
    # (double-texting ``enqueue``/``interrupt``), and the earlier turns it sees as context
    # (``conversation.Conversation`` as JSON; set once its turn came).
    thread_id: str | None
    after_run: str | None
    conversation: dict[str, Any] | None


def initial_state(
    run_id: str,
    owner: str | None,
    query: str,
    options: dict[str, Any],
    *,
    max_replans: int,
    max_llm_attempts: int,
    plan: ExecutionPlan | None = None,
    planner: str = "client",
    reason: str = "plan supplied by the client",
    approved: bool | None = None,
    plan_announced: bool | None = None,
    budget_used: dict[str, float] | None = None,
    resume_done: dict[str, dict[str, Any]] | None = None,
    resume_attempts: dict[str, int] | None = None,
    resume_inputs: dict[str, list[Any]] | None = None,
    resume_asked: dict[str, dict[str, Any]] | None = None,
    resume_loops: dict[str, dict[str, Any]] | None = None,
    resume_pinned: dict[str, tuple[str, int, str]] | None = None,
) -> RunState:
    """The one constructor of a run's starting state, for every path that starts a run
    (``RunService.start``), takes one up from its log after a crash, a handover, a pause or
    an answer, or after its approval (``runs.states.RunStates``, the only caller besides
    tests). With ``plan`` (the client's, or the one its log kept) the graph goes straight to
    resolve: no planning step. The ``resume_*`` keys say what the log kept (see
    ``RunState``); None leaves a key out."""
    state: RunState = {
        "run_id": run_id,
        "owner": owner,
        "query": query,
        "client_plan": plan,
        "timeout_seconds": options.get("timeout_seconds"),
        "replans": 0,
        "max_replans": max_replans,
        "max_llm_attempts": max_llm_attempts,
        "approval": options.get("approval"),
        "budget": options.get("budget"),
        "active_since": time.time(),
    }
    if plan is not None:
        state["plan"] = plan
        state["planner"] = planner
        state["reason"] = reason
    optional = {
        "approved": approved,
        "plan_announced": plan_announced,
        "budget_used": budget_used,
        "resume_done": resume_done,
        "resume_attempts": resume_attempts,
        "resume_inputs": resume_inputs,
        "resume_asked": resume_asked,
        "resume_loops": resume_loops,
        "resume_pinned": resume_pinned,
    }
    state.update({k: v for k, v in optional.items() if v is not None})  # type: ignore[typeddict-item]
    return state


def plan_is_valid(state: RunState) -> bool:
    return state.get("plan") is not None and not state.get("plan_error")


def request_unservable(state: RunState) -> bool:
    """No plan, because no agent serves any part of the request (not an error)."""
    return state.get("plan") is None and bool(state.get("unservable"))


def all_tasks_resolvable(state: RunState) -> bool:
    return not state.get("unresolvable")


def should_replan(state: RunState) -> bool:
    """Unresolvable tasks, a planner-made plan, and a replan left."""
    return (
        not all_tasks_resolvable(state)
        and state.get("planner") != "client"
        and state.get("replans", 0) < state.get("max_replans", 1)
    )


def approval_required(state: RunState) -> bool:
    """The run asked for a person's approval of its plan and has not had it yet."""
    return state.get("approval") == "required" and not state.get("approved")


def run_failed(state: RunState) -> bool:
    results = state.get("results") or {}
    return not any(r.get("status") == "completed" for r in results.values())


def route_after_plan(state: RunState) -> str:
    if plan_is_valid(state):
        return "plan_is_valid"
    return "request_unservable" if request_unservable(state) else "plan_is_invalid"


def route_after_resolve(state: RunState) -> str:
    if all_tasks_resolvable(state):
        return "approval_required" if approval_required(state) else "all_tasks_resolvable"
    return "should_replan" if should_replan(state) else "replans_exhausted"


def route_after_partial(state: RunState) -> str:
    return "approval_required" if approval_required(state) else "run_what_resolves"


def route_after_synthesis(state: RunState) -> str:
    return "synthesis_unavailable" if state.get("synthesis_error") else "synthesis_streamed"
