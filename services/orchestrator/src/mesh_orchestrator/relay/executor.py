"""Runs a plan's DAG at full parallelism and reports every step as it happens.

Each sub-task is an asyncio task that awaits its dependencies' futures, so it starts the
moment the last of them finishes: a fast branch never waits for a slow sibling (LangGraph
supersteps would hold it back, langgraph issue 6320, hence this scheduler inside one node).
Events leave through ``emit`` while they arrive. A failure stays local: the failed task's
dependents are skipped with a reason, independent tasks carry on.

One call to one instance (how its events are relayed and folded, and how a failing
instance is reported to the resolver's breakers) is ``relay.calls``. Here, the attempts:
before the first event the task moves to the next replica at once; after events were
relayed, it runs again elsewhere only when the agent is ``safe_to_retry``, as a new
``attempt`` (announced by a ``retrying`` status; every relayed event carries its attempt
in ``data.attempt``; the output is the last attempt's alone). Between tries the executor
backs off exponentially with jitter (tenacity), inside the task's deadline; a task fails
only when every replica failed or ``max_attempts`` ran out, naming each attempt.

The plan language lives here too. A task's ``when`` is evaluated once its dependencies
finished, over their outputs (a ``condition`` status says what it read and how it came
out); false skips the task as a branch not taken (``not_taken``), and its dependents with
it unless they ``accept_skipped``. A task with ``repeat_until`` runs again while that is
false over its own output, at most ``max_iterations`` times (and never more than the
executor's ``max_iterations``); with ``repeat_tasks`` the named upstream tasks run again
first, in plan order, each given the check's last output. Every iteration is a new
attempt (an ``iterating`` status first); the last one's output is the task's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from tenacity import wait_exponential_jitter

from mesh_contracts import (
    AgentDescriptor,
    BudgetStatus,
    ExecutionPlan,
    NodeStatus,
    SubTask,
    TaskCondition,
    TaskInputRequired,
    TaskIteration,
    TaskRequest,
    TaskRetrying,
    TaskStatus,
    output_text,
    parse_condition,
)
from mesh_contracts.event_bodies import Made, budget_status
from mesh_orchestrator.conversation import Conversation
from mesh_orchestrator.emitter import Emitter
from mesh_orchestrator.metrics import CallMetrics
from mesh_orchestrator.relay.budget import CURRENT, RunBudget
from mesh_orchestrator.relay.calls import (
    EPOCH,
    AttemptFailed,
    TaskOutcome,
    WorkerCalls,
    fail_task,
    idempotency_key,
)
from mesh_orchestrator.relay.gate import OPEN, Gate
from mesh_orchestrator.relay.timers import deadline
from mesh_orchestrator.relay.worker_client import WorkerBusy, WorkerUnreachable
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.tracing import NO_TRACER, Tracer

# Every worker request's fields-set (see ``Executor._call``): one set, shared.
_REQUEST_SET: set[str] = set(TaskRequest.model_fields)

__all__ = ["LOOP_CONTEXT", "AttemptFailed", "Executor", "TaskOutcome", "render"]


#: The key of ``TaskRequest.context`` that tells a loop's task which iteration it runs
#: (``iteration``, ``max_iterations``) and what the previous one made (``previous``). Never
#: a task id (``@`` is not allowed in one).
LOOP_CONTEXT = "@loop"
#: The key of ``TaskRequest.context`` carrying the answers to a worker's questions (the
#: worker SDK's ``Asker`` reads it).
INPUT_CONTEXT = "@input"


class _Loops:
    """What the loops of one run share: the tasks, each group loop's members (in plan
    order), and the latest outcome and attempt count of a member that ran again."""

    def __init__(self, tasks: dict[str, SubTask], groups: dict[str, list[str]]) -> None:
        self.tasks = tasks
        self.groups = groups
        self.latest: dict[str, TaskOutcome] = {}
        self.attempts: dict[str, int] = {}
        self.inputs: dict[str, list[Any]] = {}  # answers to each task's questions, in order
        self.resume: dict[str, dict[str, Any]] = {}  # a question's ``resume``, by task
        # Loops a resumed run takes up where they were (``runs.iterations``), by check task.
        self.resumed: dict[str, dict[str, Any]] = {}

    def outcome(self, task_id: str, futures: dict[str, asyncio.Future[TaskOutcome]]) -> TaskOutcome:
        return self.latest.get(task_id) or futures[task_id].result()

    def env(
        self,
        futures: dict[str, asyncio.Future[TaskOutcome]],
        own: Any = None,
        iteration: int | None = None,
    ) -> dict[str, Any]:
        """What a condition reads: every finished task (a validated condition reads only
        upstream tasks, all finished), and for ``repeat_until`` the task's own output."""
        tasks: dict[str, Any] = {}
        for task_id, f in futures.items():
            if f.done():
                o = self.outcome(task_id, futures)
                text = render(o.output) if o.status == "completed" else ""
                tasks[task_id] = {
                    "output": o.output,
                    "text": text,
                    "lower": text.lower(),
                    "status": o.status,
                }
        return {"tasks": tasks, "output": own, "iteration": iteration}


# The capabilities whose workers are sent a thread's conversation: text writers. Others
# (search, analysis) read their context as data.
CONVERSING = frozenset({"text_generation", "summarization", "translation", "code_generation"})


class _TryAgain(Exception):
    """Inside the retry loop: go round again after ``busy_wait`` (all busy) or a back-off."""

    def __init__(self, busy_wait: float | None = None) -> None:
        super().__init__("try again")
        self.busy_wait = busy_wait


class _Rounds:
    """What tenacity's wait strategies read of a retry's state: the attempt number."""

    __slots__ = ("attempt_number",)

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


def _floor(back: dict[str, Any], task_id: str, attempt: int) -> int:
    """The attempt before the first of a resumed loop's iteration for ``task_id`` (its
    ``iterating`` status said which), so a resumed iteration goes on counting its attempts;
    ``attempt`` when the log has none (the iteration had not reached the task)."""
    first = back.get("started", {}).get(task_id)
    return int(first) - 1 if isinstance(first, int) else attempt


def render(output: Any) -> str:
    """Upstream output as text for a downstream prompt (``mesh_contracts.output_text``)."""
    return output_text(output)


class Executor:
    """Runs plans (``run``): the DAG at full parallelism, each task's attempts across the
    replicas, by its own policy (attempts, back-off, busy waits, upstream context); each
    call to one instance is made by its member ``calls`` (``WorkerCalls``), built apart."""

    def __init__(
        self,
        calls: WorkerCalls,
        *,
        max_retry_after: float = 5.0,
        max_context_chars: int = 6000,
        max_attempts: int = 3,
        max_iterations: int = 10,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        tracer: Tracer = NO_TRACER,
        metrics: CallMetrics | None = None,
    ) -> None:
        self.calls = calls
        self.resolver = calls.resolver
        self.max_retry_after = max_retry_after
        self.max_context_chars = max_context_chars
        self.max_attempts = max_attempts
        self.max_iterations = max_iterations  # the cap on a loop's iterations
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self.tracer = tracer
        self.metrics = metrics

    async def run(
        self,
        plan: ExecutionPlan,
        emit: Emitter,
        *,
        run_id: str | None = None,
        timeout_seconds: float | None = None,
        done: dict[str, TaskOutcome] | None = None,
        attempts_before: dict[str, int] | None = None,
        owner: str | None = None,
        pinned: dict[str, tuple[str, int, str]] | None = None,
        budget: RunBudget | None = None,
        conversation: Conversation | None = None,
        gate: Gate | None = None,
        inputs: dict[str, list[Any]] | None = None,
        resume: dict[str, dict[str, Any]] | None = None,
        iterations: dict[str, dict[str, Any]] | None = None,
        epoch: int = 0,
    ) -> dict[str, TaskOutcome]:
        """Run every task; return outcomes keyed by task_id, in plan order.

        ``conversation`` (a run on a thread): the earlier turns, sent to the text writers'
        workers (``CONVERSING``) in their ``context`` under ``conversation`` beside the
        upstream outputs (the writer shows its context to the model).
        ``gate``: the run's ``relay.gate.Gate``; a task waits at it (closed: the run
        pauses) once its dependencies finished, before it starts. ``inputs``: the answers
        each task's questions got (a run taken up again after ``input_required``); they go
        to its worker in ``context["@input"]``, with ``resume``: what the task's last
        question said its call needs to continue (an A2A agent's waiting task).
        ``iterations`` (a resumed run): how far each
        loop under way got (``runs.iterations.LoopProgress.public``, by check task); it goes
        on from there, so ``max_iterations`` counts the iterations of every owner.

        ``owner``: the run's owner, which every worker call names (``TaskRequest.owner``):
        what a worker makes for the run is that client's alone.

        ``done`` (a resumed run): tasks that completed before, with their outputs; they are
        not run again and emit nothing. ``attempts_before``: attempts a task already had, so
        a re-run's events carry the next attempt number; a task's attempts are counted for
        the run as a whole (``max_attempts`` in all, whichever replicas made them).
        ``pinned``: tasks whose call was out when the run changed hands, to an instance that
        still knows its key (``in_flight``): task_id -> (instance_id, attempt, key). They are
        not run again: the call is made again with that key, which re-attaches to the
        running execution or replays its result (a loop's pin is its next call's).
        ``epoch``: the run's lease generation here; every new call's key names it
        (``relay.calls.idempotency_key``), so no key of an earlier owner is used again.

        ``budget``: what the run may spend (``relay.budget``); a task past ``max_tasks`` is
        skipped, and when tokens, GPU time or wall time run out every unfinished task is
        stopped (``skipped``, naming the bound). Every run's use is counted, with limits or
        without (``RunBudget()``): a ``budget`` status goes out after each task.

        Cancellation (the run was cancelled, the client left) cancels every in-flight call,
        which closes the workers' streams; the caller reports what was left undone.
        """
        # Plain loops, no comprehensions, here: a comprehension's reads of this frame's
        # names make them cells, 14 of them (~0.7 KB) held as long as the run's calls stream.
        # The plan's tasks by id, in plan order (its ids are unique): read from the models
        # once here, and ``futures``' keys are the ids in that order from then on (each read
        # of a model's field is a slow one on 3.11: pydantic's ``__getattr__`` hook).
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[TaskOutcome]] = {}
        order: list[str] | None = None  # the plan's order: only a group loop needs it
        groups: dict[str, list[str]] = {}
        tasks: dict[str, SubTask] = {}
        for t in plan.tasks:
            task_id = t.task_id
            futures[task_id] = loop.create_future()
            tasks[task_id] = t
            if t.repeat_tasks:
                if order is None:
                    order = plan.topological_order()
                groups[task_id] = sorted(t.repeat_tasks, key=order.index)
        del order
        for task_id, outcome in (done or {}).items():
            if task_id in futures:
                futures[task_id].set_result(outcome)
        before = attempts_before or {}
        talk = conversation.render(self.max_context_chars) if conversation is not None else ""
        loops = _Loops(tasks, groups)
        loops.inputs = dict(inputs or {})
        loops.resume = dict(resume or {})
        loops.resumed = dict(iterations or {})
        loops.attempts = dict(before)  # a group's task run again goes on counting
        budget = budget or RunBudget()
        token = CURRENT.set(budget)  # the node tasks (and their calls) inherit it
        generation = EPOCH.set(epoch)
        try:
            todo = []
            for task_id, t in tasks.items():
                if not futures[task_id].done():
                    node = self._node(
                        t,
                        futures,
                        emit,
                        run_id,
                        timeout_seconds,
                        before.get(task_id, 0),
                        owner=owner,
                        pin=(pinned or {}).get(task_id),
                        conversation=talk,
                        loops=loops,
                        gate=gate or OPEN,
                    )
                    todo.append(node)
            if len(todo) == 1 and not budget.bounded:
                # One task to run and no budget to watch: it runs in this task (a task group
                # and a task of its own would cost a run ~40 us and a loop round for nothing;
                # cancelling the run cancels it here as it would there).
                await todo[0]
            else:
                async with asyncio.TaskGroup() as group:
                    nodes = []
                    for node in todo:
                        nodes.append(group.create_task(node))
                    if budget.bounded and nodes:
                        group.create_task(self._enforce(budget, nodes, emit))
        finally:
            CURRENT.reset(token)
            EPOCH.reset(generation)
        for task_id, f in futures.items():  # stopped by the budget: never finished
            if not f.done() or f.cancelled():  # (a cancelled waiter cancels its future)
                reason = f"budget exhausted: {budget.describe()}"
                emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), task_id)
                futures[task_id] = loop.create_future()
                futures[task_id].set_result(TaskOutcome("skipped", error=reason))
        if self.metrics is not None:  # every run's use, with a budget or without
            self.metrics.budget_ended(budget.used(), budget.exhausted)
        # A group loop's tasks ran again: their last iteration's outcome counts.
        outcomes: dict[str, TaskOutcome] = {}
        for task_id, f in futures.items():
            outcomes[task_id] = loops.latest.get(task_id) or f.result()
        return outcomes

    async def _enforce(
        self, budget: RunBudget, nodes: list[asyncio.Task[None]], emit: Emitter
    ) -> None:
        """Wait for the budget to run out (tokens, GPU time: ``stop``; wall time: a timer)
        or every task to end; when it runs out, cancel the unfinished tasks (which closes
        their worker streams) and say which bound it was."""
        stop: asyncio.Future[Any] = asyncio.ensure_future(budget.stop.wait())
        try:
            pending: set[asyncio.Future[Any]] = set(nodes)
            while pending and not budget.stop.is_set():
                _, pending = await asyncio.wait(
                    {*pending, stop}, timeout=budget.wall_left(), return_when="FIRST_COMPLETED"
                )
                pending.discard(stop)
                budget.check_wall()
        finally:
            stop.cancel()
        if not budget.stop.is_set():
            return
        emit.emit(
            BudgetStatus(
                status="exhausted",
                used=budget.used(),
                limits=budget.limit_values(),
                exhausted=budget.exhausted,
            )
        )
        for node in nodes:
            node.cancel()

    async def _node(
        self,
        t: SubTask,
        futures: dict[str, asyncio.Future[TaskOutcome]],
        emit: Emitter,
        run_id: str | None,
        timeout_seconds: float | None,
        attempts_before: int = 0,
        *,
        owner: str | None = None,
        pin: tuple[str, int, str] | None = None,
        conversation: str = "",
        loops: _Loops | None = None,
        gate: Gate = OPEN,
    ) -> None:
        # Plain loops: a comprehension would make ``t`` and ``futures`` cells of this frame.
        task_id = t.task_id  # read once (a model's field: a slow read on 3.11)
        upstream: dict[str, TaskOutcome] = {}
        broken: list[tuple[str, TaskOutcome]] = []
        for d in t.depends_on:
            o = upstream[d] = await futures[d]
            if o.status != "completed" and not (t.accept_skipped and o.status == "skipped"):
                broken.append((d, o))
        if broken:
            d, o = broken[0]
            reason = f"upstream task {d!r} {o.status}"
            emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), task_id)
            # Behind a branch not taken, the task is not taken either (not a failure).
            not_taken = all(o.not_taken for _, o in broken)
            futures[task_id].set_result(TaskOutcome("skipped", error=reason, not_taken=not_taken))
            return
        budget = CURRENT.get()
        if budget is not None and not budget.take_task():  # counted, bounded or not
            reason = f"budget exhausted: {budget.describe()}"
            emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), task_id)
            futures[task_id].set_result(TaskOutcome("skipped", error=reason))
            return
        loops = loops or _Loops({task_id: t}, {})
        if t.when is not None:
            cond = parse_condition(t.when)
            env = loops.env(futures)
            taken = cond.evaluate(env)
            emit.emit(
                TaskCondition(
                    kind="when", expression=t.when, result=taken, values=cond.values(env)
                ),
                task_id,
            )
            if not taken:
                reason = f"condition false: {t.when}"
                emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), task_id)
                futures[task_id].set_result(TaskOutcome("skipped", error=reason, not_taken=True))
                return
        upstream = {d: o for d, o in upstream.items() if o.status == "completed"}
        del broken  # nothing of the checks stays in this frame while the task runs
        await gate.enter(task_id)  # a paused run holds the task here
        started = time.perf_counter()
        try:
            if t.repeat_until is None:
                # Not a loop: its one call straight from here (what ``_iterate`` does for
                # it), no frame of ``_iterate`` held while the worker streams (~0.5 KB).
                outcome = await self._execute(
                    t, upstream, emit, run_id, timeout_seconds, attempts_before, owner=owner,
                    answers=loops.inputs.get(task_id), pin=pin, conversation=conversation,
                    resume=loops.resume.get(task_id),
                )  # fmt: skip
            else:
                outcome = await self._iterate(
                    t,
                    upstream,
                    futures,
                    loops,
                    emit,
                    run_id,
                    timeout_seconds,
                    attempts_before,
                    owner,
                    pin=pin,
                    conversation=conversation,
                )
        except Exception as exc:  # a bug here must not take the other tasks down
            outcome = fail_task(t, None, emit, f"internal error: {exc!r}", "internal")
        finally:
            gate.leave(task_id)
        if outcome.status == "input_required":
            outcome = await self._asked(t, outcome, gate, loops, emit)
        if self.metrics is not None:
            seconds = time.perf_counter() - started
            self.metrics.task_ended(t.capability, outcome.agent_id, outcome.status, seconds)
        if budget is not None:  # every run reports its use, with a budget or without
            budget.check_wall()
            used = budget_status(budget.used(), budget.limit_values())
            emit.emit(Made(BudgetStatus.TYPE, used))
        futures[task_id].set_result(outcome)

    async def _asked(
        self, t: SubTask, outcome: TaskOutcome, gate: Gate, loops: _Loops, emit: Emitter
    ) -> TaskOutcome:
        """The task's worker asked the user: say so, and wait (the run is parked around this
        wait and taken up again with the answer); with nobody to ask, the task fails."""
        asked = outcome.output if isinstance(outcome.output, dict) else {}
        if gate.on_input is None:
            return fail_task(
                t, None, emit, "the worker asked for input; nobody can answer", "input"
            )
        emit.emit(
            TaskInputRequired(
                question=str(asked.get("question") or "?"),
                choices=asked.get("choices"),
                answer_schema=asked.get("answer_schema"),
                resume=asked.get("resume"),
                input_id=len(loops.inputs.get(t.task_id, [])) + 1,
                attempt=outcome.attempt or None,
            ),
            t.task_id,
            outcome.agent_id,
        )
        gate.on_input(t.task_id)
        await asyncio.Event().wait()  # cancelled when the run is parked
        raise AssertionError("unreachable")

    async def _iterate(
        self,
        t: SubTask,
        upstream: dict[str, TaskOutcome],
        futures: dict[str, asyncio.Future[TaskOutcome]],
        loops: _Loops,
        emit: Emitter,
        run_id: str | None,
        timeout_seconds: float | None,
        attempts_before: int,
        owner: str | None,
        *,
        pin: tuple[str, int, str] | None = None,
        conversation: str = "",
    ) -> TaskOutcome:
        """Run ``t`` once, or (``repeat_until``) until its condition holds or its iterations
        ran out; a group loop's tasks run again before each new iteration."""
        limit = min(t.iterations, self.max_iterations)
        cond = parse_condition(t.repeat_until) if t.repeat_until is not None else None
        iteration, attempt = 1, attempts_before
        loop: dict[str, Any] | None = None
        carried: TaskOutcome | None = None  # a resumed loop's finished iteration
        back = loops.resumed.pop(t.task_id, None) if cond is not None else None
        if back is not None:
            iteration, carried, loop, stopped = await self._take_up(
                t, back, futures, loops, emit, limit, attempt, run_id, timeout_seconds, owner
            )
            if stopped is not None:
                return stopped
            upstream = {d: loops.outcome(d, futures) for d in t.depends_on}
            upstream = {d: o for d, o in upstream.items() if o.status == "completed"}
        told = back is not None and back["finished"] and back["evaluated"] is not None
        # Each iteration has ``max_attempts`` of its own, counted from its first attempt.
        floor = _floor(back, t.task_id, attempt) if back is not None and iteration > 1 else 0
        while True:
            if carried is not None:  # a resumed loop's finished iteration: its pin, if any,
                outcome, carried = carried, None  # is the next iteration's call
            else:
                outcome = await self._execute(
                    t, upstream, emit, run_id, timeout_seconds, attempt, owner=owner, loop=loop,
                    answers=loops.inputs.get(t.task_id), pin=pin, conversation=conversation,
                    floor=floor, resume=loops.resume.get(t.task_id),
                )  # fmt: skip
                pin = None  # a later iteration is a new call
            if cond is None or outcome.status != "completed":
                return outcome
            env = loops.env(futures, own=outcome.output, iteration=iteration)
            holds = cond.evaluate(env)
            assert t.repeat_until is not None
            if told:  # a resumed loop: its log has this condition already
                told = False
            else:
                emit.emit(
                    TaskCondition(
                        kind="repeat_until",
                        expression=t.repeat_until,
                        result=holds,
                        values=cond.values(env),
                        iteration=iteration,
                        exhausted=not holds and iteration >= limit,
                    ),
                    t.task_id,
                )
            if holds or iteration >= limit:
                return outcome
            iteration += 1
            reason = f"repeat_until false: {t.repeat_until}"
            for g in loops.groups.get(t.task_id, []):
                failed = await self._again(
                    loops.tasks[g], t, outcome, futures, loops, emit, iteration, limit, reason,
                    run_id, timeout_seconds, owner,
                )  # fmt: skip
                if failed is not None:
                    error = f"iteration {iteration}: task {g!r} failed: {failed}"
                    return fail_task(t, None, emit, error, "loop_failed")
            upstream = {d: loops.outcome(d, futures) for d in t.depends_on}
            upstream = {d: o for d, o in upstream.items() if o.status == "completed"}
            attempt = floor = max(attempt, outcome.attempt)
            emit.emit(
                TaskIteration(
                    iteration=iteration,
                    max_iterations=limit,
                    attempt=attempt + 1,
                    loop=t.task_id,
                    reason=reason,
                ),
                t.task_id,
                outcome.agent_id,
            )
            loop = {"iteration": iteration, "max_iterations": limit, "previous": outcome.output}

    async def _take_up(
        self,
        t: SubTask,
        back: dict[str, Any],
        futures: dict[str, asyncio.Future[TaskOutcome]],
        loops: _Loops,
        emit: Emitter,
        limit: int,
        attempt: int,
        run_id: str | None,
        timeout_seconds: float | None,
        owner: str | None,
    ) -> tuple[int, TaskOutcome | None, dict[str, Any] | None, TaskOutcome | None]:
        """Where a resumed run's loop ``t`` goes on (``back``: ``LoopProgress.public``):
        the iteration, its output when it had finished (its condition is read next), else
        the loop context of the iteration run again, after the group's tasks that had not
        finished it; the last item is the task's outcome when one of those failed."""
        iteration = min(int(back["iteration"]), limit)
        if back["finished"]:
            return iteration, TaskOutcome("completed", back["output"], attempt=attempt), None, None
        previous = TaskOutcome("completed", back["previous"], attempt=attempt)
        reason = f"resumed at iteration {iteration}: repeat_until false: {t.repeat_until}"
        for g in loops.groups.get(t.task_id, []):
            if g in back["members_done"]:
                continue
            failed = await self._again(
                loops.tasks[g], t, previous, futures, loops, emit, iteration, limit, reason,
                run_id, timeout_seconds, owner, back,
            )  # fmt: skip
            if failed is not None:
                error = f"iteration {iteration}: task {g!r} failed: {failed}"
                return iteration, None, None, fail_task(t, None, emit, error, "loop_failed")
        emit.emit(
            TaskIteration(
                iteration=iteration, max_iterations=limit, attempt=attempt + 1,
                loop=t.task_id, reason=reason,
            ),
            t.task_id,
        )  # fmt: skip
        loop = {"iteration": iteration, "max_iterations": limit, "previous": back["previous"]}
        return iteration, None, loop, None

    async def _again(
        self,
        g: SubTask,
        check: SubTask,
        feedback: TaskOutcome,
        futures: dict[str, asyncio.Future[TaskOutcome]],
        loops: _Loops,
        emit: Emitter,
        iteration: int,
        limit: int,
        reason: str,
        run_id: str | None,
        timeout_seconds: float | None,
        owner: str | None,
        back: dict[str, Any] | None = None,
    ) -> str | None:
        """Run the group task ``g`` again for ``check``'s next iteration, with the check's
        last output as one more upstream; None when it completed, else its error. ``back``:
        the loop's progress when a resumed run takes the iteration up again."""
        before = loops.outcome(g.task_id, futures)
        upstream = {d: loops.outcome(d, futures) for d in g.depends_on}
        upstream = {d: o for d, o in upstream.items() if o.status == "completed"}
        upstream[check.task_id] = feedback
        attempt = max(loops.attempts.get(g.task_id, 0), before.attempt)
        emit.emit(
            TaskIteration(
                iteration=iteration,
                max_iterations=limit,
                attempt=attempt + 1,
                loop=check.task_id,
                reason=reason,
            ),
            g.task_id,
            before.agent_id,
        )
        loop = {"iteration": iteration, "max_iterations": limit, "previous": before.output}
        floor = attempt if back is None else _floor(back, g.task_id, attempt)
        outcome = await self._execute(
            g, upstream, emit, run_id, timeout_seconds, attempt, owner=owner, loop=loop, floor=floor
        )
        loops.latest[g.task_id] = outcome
        loops.attempts[g.task_id] = max(attempt + 1, outcome.attempt)
        return None if outcome.status == "completed" else outcome.error or outcome.status

    def _input(
        self, t: SubTask, upstream: dict[str, TaskOutcome], agent: AgentDescriptor
    ) -> dict[str, Any]:
        """The worker's input. Upstream outputs always travel in ``context``; they are also
        appended to a ``prompt``, up to the agent's ``max_prompt_chars``, unless the agent
        says it reads ``context`` itself (``reads_context``)."""
        inp = dict(t.input)
        prompt = inp.get("prompt")
        if upstream and isinstance(prompt, str) and not agent.reads_context:
            text = "\n\n".join(render(o.output) for o in upstream.values())
            # Workers cap prompts: the upstream text gives way.
            room = max(0, min(self.max_context_chars, agent.max_prompt_chars - len(prompt) - 2))
            inp["prompt"] = f"{prompt}\n\n{text[:room]}"
        return inp

    def _execute(
        self,
        t: SubTask,
        upstream: dict[str, TaskOutcome],
        emit: Emitter,
        run_id: str | None,
        timeout_seconds: float | None,
        attempts_before: int = 0,
        *,
        owner: str | None = None,
        pin: tuple[str, int, str] | None = None,
        conversation: str = "",
        loop: dict[str, Any] | None = None,
        answers: list[Any] | None = None,
        resume: dict[str, Any] | None = None,
        floor: int = 0,
    ) -> Coroutine[Any, Any, TaskOutcome]:
        """The task's calls, to be awaited at once: ``_attempts`` itself (or ``_reattach``
        under the task's deadline), no frame of this one held as long as the worker streams
        (~0.4 KB of every open stream). The request is made, and the first instance picked,
        when this is called."""
        first = self.resolver.instance(pin[0]) if pin else self.resolver.pick(t)
        if first is None and pin is not None:
            error = f"in doubt: instance {pin[0]} that ran attempt {pin[1]} left the registry"
            return _now(fail_task(t, None, emit, error, "in_doubt"))
        if first is None:
            return _now(fail_task(t, None, emit, self.resolver.why_not(t), "unresolvable"))
        # Only the fields that differ from their defaults are passed (the worker's body, a
        # dump of every field, is the same): pydantic keeps the names passed in a set on
        # the model, held as long as the call streams, and a fifth name grows it from 216
        # to 728 bytes.
        fields: dict[str, Any] = {
            "task_id": t.task_id,
            "run_id": run_id,
            "input": self._input(t, upstream, first),
        }
        if owner is not None:
            fields.update(owner=owner)  # (not a state key: a worker request's field)
        context = (
            {"conversation": conversation} if conversation and t.capability in CONVERSING else {}
        ) | {d: o.output for d, o in upstream.items()}
        if context:
            fields["context"] = context
        request = TaskRequest(**fields)
        # and then, as a live run's record (``runs.service._SET``), the shared set that names
        # every field: nothing reads a request's (no ``exclude_unset``, no
        # ``model_fields_set``), an assignment's ``add`` leaves it as it is, a copy gets its
        # own; 216 bytes fewer held per call
        object.__setattr__(request, "__pydantic_fields_set__", _REQUEST_SET)
        del fields, context
        if loop is not None:  # which iteration this is, and the one before's output
            request.context[LOOP_CONTEXT] = loop
        if answers:  # what the user answered the worker's questions, in order
            request.context[INPUT_CONTEXT] = {"answers": answers}
            if resume:
                request.context[INPUT_CONTEXT]["resume"] = resume
        limit = timeout_seconds or first.timeout_seconds
        if pin is not None:
            return self._reattach_within(limit, t, first, request, emit, pin)
        # each answered question ended a call that asked, not one that failed: it leaves the
        # task's attempt budget as it was
        answered = len(answers or [])
        return self._attempts(
            t, request, emit, [first], attempts_before, floor + answered, first, limit
        )

    async def _reattach_within(
        self,
        limit: float,
        t: SubTask,
        first: AgentDescriptor,
        request: TaskRequest,
        emit: Emitter,
        pin: tuple[str, int, str],
    ) -> TaskOutcome:
        """``_reattach`` under the task's deadline (``limit`` seconds)."""
        try:
            async with deadline(limit):
                return await self._reattach(t, first, request, emit, pin[1], pin[2])
        except TimeoutError:
            return _timed_out(self.resolver, t, [first], emit, limit)

    async def in_flight(
        self,
        run_id: str,
        task_id: str,
        agent_id: str | None,
        instance_id: str | None,
        attempt: int,
        key: str | None = None,
    ) -> str:
        """What to do with a task whose call was out when its run changed hands:
        ``restart`` (its agent is safe to retry: a new attempt), ``reattach`` (the instance
        knows the attempt's key: call it again with that key, see ``run``'s ``pinned``), or
        ``in_doubt`` (not safe to retry, and nobody can say whether it ran). ``key``: the
        call's key as its ``running`` status logged it (a log without one: the key of
        ``attempt`` as it was made before keys named their epoch)."""
        d = self.resolver.instance(instance_id) if instance_id else None
        agent = d or (self.resolver.agent(agent_id) if agent_id else None)
        if agent is not None and agent.safe_to_retry:
            return "restart"
        if d is None:
            return "in_doubt"
        key = key or idempotency_key(run_id, task_id, attempt)
        state = await self.calls.execution_state(d, key)
        return "reattach" if state in ("running", "finished") else "in_doubt"

    async def unlogged(self, t: SubTask, keys: list[str]) -> tuple[str, str] | None:
        """An instance of ``t``'s agent that knows one of ``keys`` (the next attempt's, under
        each epoch that may have made it) although the run's log never said the task started
        (its owner died before storing the ``running`` status): where to re-attach, and the
        key. Only asked for agents not safe to retry; None when no instance knows one (then
        the task starts as a new call, under this owner's epoch)."""
        candidates = [d for d in self.resolver.candidates(t) if not d.safe_to_retry]
        for d in candidates:
            for key in keys:
                if await self.calls.execution_state(d, key) in ("running", "finished"):
                    return d.instance_id, key
        return None

    async def _reattach(
        self,
        t: SubTask,
        d: AgentDescriptor,
        request: TaskRequest,
        emit: Emitter,
        attempt: int,
        key: str,
    ) -> TaskOutcome:
        """The call of ``attempt`` made again with its ``key``: its events from the first,
        live or replayed by the worker; never a second run, so never retried elsewhere."""
        try:
            return await self.calls.call(t, d, request, emit, attempt, key=key)
        except (WorkerBusy, WorkerUnreachable, AttemptFailed) as exc:
            code = exc.code if isinstance(exc, AttemptFailed) else "in_doubt"
            error = f"re-attaching to attempt {attempt} on {d.instance_id} failed: {exc}"
            return fail_task(t, d, emit, error, code)

    async def _attempts(
        self,
        t: SubTask,
        request: TaskRequest,
        emit: Emitter,
        current: list[AgentDescriptor],
        attempts_before: int = 0,
        floor: int = 0,
        picked: AgentDescriptor | None = None,
        limit: float | None = None,
    ) -> TaskOutcome:
        """Try replicas in preference order until one answers the task, within ``limit``
        seconds (None: no deadline).

        A busy replica (429/503) passes the task on; when all are busy the loop waits their
        Retry-After and tries again. A failed attempt is reported to the resolver and the
        next replica is tried after a jittered back-off; after relayed events only if the
        agent is safe to retry, as a new attempt. Ends with the task's outcome, failed
        (naming each attempt) when every replica failed or the attempts ran out (``floor``:
        the attempts ``max_attempts`` does not count: those before a loop's iteration, which
        counts its own, and earlier attempts that ended asking the user). ``picked``: the
        instance the resolver just picked for the task (its input was made for it), the
        first round's (picking again, nothing having changed meanwhile, costs ~20 us).
        """
        # ``asyncio.timeout`` on the loop's shared timer (``relay.timers``): no timer handle
        # of its own, held as long as the call streams (~0.5 KB of every open stream).
        try:
            async with deadline(limit):
                tried: set[str] = set()
                failures: list[str] = []
                last_code = "unreachable"
                busy: list[float] = []
                previous: str | None = None  # how the last try went wrong, for the next call's span
                attempt = attempts_before  # a resumed task goes on counting
                # Rounds until one returns; ``_TryAgain`` waits (``_pause``) and goes round again.
                # A plain loop, not tenacity's ``AsyncRetrying``: nearly every task ends in its first
                # round, and the retrying object, its state and its attempt context cost every call
                # ~0.1 ms of CPU (bench/README.md, "Round 8"); the back-off is tenacity's own formula.
                rounds = 0
                while True:
                    rounds += 1
                    try:
                        if picked is not None:
                            d: AgentDescriptor | None = picked
                            picked = None
                        else:
                            d = self.resolver.pick(t, exclude=tried)
                        if d is None:
                            if busy:
                                wait = min(min(busy), self.max_retry_after)
                                tried.clear()
                                busy.clear()
                                raise _TryAgain(busy_wait=wait)
                            if not failures:
                                error = self.resolver.why_not(t)
                                return fail_task(t, current[-1], emit, error, "unreachable")
                            if len(failures) == 1:
                                error = failures[0].split(": ", 1)[1]
                            else:
                                error = (
                                    f"every replica failed ({len(failures)} tries): "
                                    + "; ".join(failures)
                                )
                            return fail_task(t, current[-1], emit, error, last_code)
                        if (
                            attempt - floor >= self.max_attempts
                        ):  # the run's budget, across replicas
                            error = f"the run's {self.max_attempts} attempts at this task are spent"
                            if failures:
                                error += ": " + "; ".join(failures)
                            return fail_task(
                                t, d, emit, error, last_code if failures else "attempts"
                            )
                        tried.add(d.instance_id)
                        current.append(d)
                        attempt += 1
                        try:
                            # (the span, if any, names the others tried; no set of them made here,
                            # held by this frame as long as the call streams)
                            return await self.calls.traced_call(
                                self.tracer, t, d, request, emit, attempt, tried, previous
                            )
                        except WorkerBusy as refusal:
                            attempt -= 1  # nothing ran: not an attempt
                            previous = (
                                f"{d.instance_id} busy (429), retry after {refusal.retry_after:g}s"
                            )
                            busy.append(refusal.retry_after)
                            raise _TryAgain(busy_wait=0.0) from None
                        except WorkerUnreachable as exc:
                            self.resolver.failed(d.instance_id, str(exc))
                            failures.append(f"attempt {attempt} on {d.instance_id}: {exc}")
                            previous = failures[-1]
                            last_code = "unreachable"
                            attempt -= (
                                1  # never reached the worker: the next one is the same attempt
                            )
                            raise _TryAgain() from None
                        except AttemptFailed as exc:
                            failures.append(f"attempt {attempt} on {d.instance_id}: {exc.reason}")
                            previous = failures[-1]
                            last_code = exc.code
                            if (exc.relayed or exc.accepted) and not d.safe_to_retry:
                                # It may have started running: never a second time elsewhere.
                                return fail_task(t, d, emit, exc.reason, exc.code)
                            if attempt - floor >= self.max_attempts:
                                error = f"gave up after {attempt} attempts: " + "; ".join(failures)
                                return fail_task(t, d, emit, error, exc.code)
                            if exc.relayed:  # the client saw events of this attempt: say so
                                nxt = self.resolver.pick(t, exclude=tried)
                                retry = TaskRetrying(
                                    attempt=attempt + 1,
                                    reason=exc.reason,
                                    failed_instance=d.instance_id,
                                    next_instance=nxt.instance_id if nxt else None,
                                )
                                emit.emit(retry, t.task_id, d.agent_id)
                            else:
                                attempt -= (
                                    1  # nothing reached the client: the same attempt, elsewhere
                                )
                            raise _TryAgain() from None
                    except _TryAgain as again:
                        await asyncio.sleep(self._pause(again, rounds))
        except TimeoutError:
            return _timed_out(self.resolver, t, current, emit, limit)

    def _pause(self, again: _TryAgain, rounds: int) -> float:
        """Seconds before the next round after ``rounds`` rounds: the busy wait, else the
        jittered back-off (tenacity's ``wait_exponential_jitter``, which reads only the
        attempt number)."""
        if again.busy_wait is not None:
            return again.busy_wait
        return float(self._backoff(_Rounds(rounds)))  # type: ignore[arg-type]


async def _now(outcome: TaskOutcome) -> TaskOutcome:
    """``outcome``, awaited (``Executor._execute``'s answer when no call is made)."""
    return outcome


def _timed_out(
    resolver: Resolver,
    t: SubTask,
    current: list[AgentDescriptor],
    emit: Emitter,
    limit: float | None,
) -> TaskOutcome:
    """The task's outcome when its deadline came (``current``: its first instance, then each
    one a call went to)."""
    reason = f"timed out after {limit:g}s"
    if len(current) > 1:  # a call was out when the deadline came
        resolver.failed(current[-1].instance_id, reason)
    return fail_task(t, current[-1], emit, reason, "timeout")
