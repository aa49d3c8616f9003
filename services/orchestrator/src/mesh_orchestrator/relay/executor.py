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
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from mesh_contracts import (
    AgentDescriptor,
    BudgetStatus,
    ExecutionPlan,
    NodeStatus,
    SubTask,
    TaskRequest,
    TaskRetrying,
    TaskStatus,
    output_text,
)
from mesh_orchestrator.conversation import Conversation
from mesh_orchestrator.emitter import Emitter
from mesh_orchestrator.metrics import CallMetrics
from mesh_orchestrator.relay.budget import CURRENT, RunBudget
from mesh_orchestrator.relay.calls import (
    AttemptFailed,
    TaskOutcome,
    WorkerCalls,
    fail_task,
    idempotency_key,
)
from mesh_orchestrator.relay.worker_client import WorkerBusy, WorkerUnreachable
from mesh_orchestrator.tracing import RunTracer

__all__ = ["AttemptFailed", "Executor", "TaskOutcome", "render"]

# The capabilities whose workers are sent a thread's conversation: text writers. Others
# (search, analysis) read their context as data.
CONVERSING = frozenset({"text_generation", "summarization", "translation", "code_generation"})


class _TryAgain(Exception):
    """Inside the retry loop: go round again after ``busy_wait`` (all busy) or a back-off."""

    def __init__(self, busy_wait: float | None = None) -> None:
        super().__init__("try again")
        self.busy_wait = busy_wait


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
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        tracer: RunTracer | None = None,
        metrics: CallMetrics | None = None,
    ) -> None:
        self.calls = calls
        self.resolver = calls.resolver
        self.max_retry_after = max_retry_after
        self.max_context_chars = max_context_chars
        self.max_attempts = max_attempts
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
        pinned: dict[str, tuple[str, int]] | None = None,
        budget: RunBudget | None = None,
        conversation: Conversation | None = None,
    ) -> dict[str, TaskOutcome]:
        """Run every task; return outcomes keyed by task_id, in plan order.

        ``conversation`` (a run on a thread): the earlier turns, sent to the text writers'
        workers (``CONVERSING``) in their ``context`` under ``conversation`` beside the
        upstream outputs (the writer shows its context to the model).

        ``owner``: the run's owner, which every worker call names (``TaskRequest.owner``):
        what a worker makes for the run is that client's alone.

        ``done`` (a resumed run): tasks that completed before, with their outputs; they are
        not run again and emit nothing. ``attempts_before``: attempts a task already had, so
        a re-run's events carry the next attempt number; a task's attempts are counted for
        the run as a whole (``max_attempts`` in all, whichever replicas made them).
        ``pinned``: tasks whose call was out when the run changed hands, to an instance that
        still knows its key (``in_flight``): task_id -> (instance_id, attempt). They are not
        run again: the call is made again with the same key, which re-attaches to the
        running execution or replays its result.

        ``budget``: what the run may spend (``relay.budget``); a task past ``max_tasks`` is
        skipped, and when tokens, GPU time or wall time run out every unfinished task is
        stopped (``skipped``, naming the bound); a ``budget`` status goes out after each task.

        Cancellation (the run was cancelled, the client left) cancels every in-flight call,
        which closes the workers' streams; the caller reports what was left undone.
        """
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[TaskOutcome]] = {
            t.task_id: loop.create_future() for t in plan.tasks
        }
        for task_id, outcome in (done or {}).items():
            if task_id in futures:
                futures[task_id].set_result(outcome)
        before = attempts_before or {}
        talk = conversation.render(self.max_context_chars) if conversation is not None else ""
        budget = budget or RunBudget()
        token = CURRENT.set(budget)  # the node tasks (and their calls) inherit it
        try:
            async with asyncio.TaskGroup() as group:
                nodes: list[asyncio.Task[None]] = []
                for t in plan.tasks:
                    if not futures[t.task_id].done():
                        first = before.get(t.task_id, 0)
                        pin = (pinned or {}).get(t.task_id)
                        node = self._node(
                            t,
                            futures,
                            emit,
                            run_id,
                            timeout_seconds,
                            first,
                            owner=owner,
                            pin=pin,
                            conversation=talk,
                        )
                        nodes.append(group.create_task(node))
                if budget.bounded and nodes:
                    group.create_task(self._enforce(budget, nodes, emit))
        finally:
            CURRENT.reset(token)
        for t in plan.tasks:  # stopped by the budget: never finished
            f = futures[t.task_id]
            if not f.done() or f.cancelled():  # (a cancelled waiter cancels its future)
                reason = f"budget exhausted: {budget.describe()}"
                emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), t.task_id)
                futures[t.task_id] = loop.create_future()
                futures[t.task_id].set_result(TaskOutcome("skipped", error=reason))
        if self.metrics is not None and budget.bounded:
            self.metrics.budget_ended(budget.used(), budget.exhausted)
        return {t.task_id: futures[t.task_id].result() for t in plan.tasks}

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
        pin: tuple[str, int] | None = None,
        conversation: str = "",
    ) -> None:
        upstream = {d: await futures[d] for d in t.depends_on}
        broken = [(d, o) for d, o in upstream.items() if o.status != "completed"]
        if broken:
            d, o = broken[0]
            reason = f"upstream task {d!r} {o.status}"
            emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), t.task_id)
            futures[t.task_id].set_result(TaskOutcome("skipped", error=reason))
            return
        budget = CURRENT.get()
        if budget is not None and budget.bounded and not budget.take_task():
            reason = f"budget exhausted: {budget.describe()}"
            emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), t.task_id)
            futures[t.task_id].set_result(TaskOutcome("skipped", error=reason))
            return
        started = time.perf_counter()
        try:
            outcome = await self._execute(
                t,
                upstream,
                emit,
                run_id,
                timeout_seconds,
                attempts_before,
                owner=owner,
                pin=pin,
                conversation=conversation,
            )
        except Exception as exc:  # a bug here must not take the other tasks down
            outcome = fail_task(t, None, emit, f"internal error: {exc!r}", "internal")
        if self.metrics is not None:
            seconds = time.perf_counter() - started
            self.metrics.task_ended(t.capability, outcome.agent_id, outcome.status, seconds)
        if budget is not None and budget.bounded:
            budget.check_wall()
            emit.emit(BudgetStatus(used=budget.used(), limits=budget.limit_values()))
        futures[t.task_id].set_result(outcome)

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

    async def _execute(
        self,
        t: SubTask,
        upstream: dict[str, TaskOutcome],
        emit: Emitter,
        run_id: str | None,
        timeout_seconds: float | None,
        attempts_before: int = 0,
        *,
        owner: str | None = None,
        pin: tuple[str, int] | None = None,
        conversation: str = "",
    ) -> TaskOutcome:
        first = self.resolver.instance(pin[0]) if pin else self.resolver.pick(t)
        if first is None and pin is not None:
            error = f"in doubt: instance {pin[0]} that ran attempt {pin[1]} left the registry"
            return fail_task(t, None, emit, error, "in_doubt")
        if first is None:
            return fail_task(t, None, emit, self.resolver.why_not(t), "unresolvable")
        request = TaskRequest(
            task_id=t.task_id,
            run_id=run_id,
            owner=owner,
            input=self._input(t, upstream, first),
            context=(
                {"conversation": conversation}
                if conversation and t.capability in CONVERSING
                else {}
            )
            | {d: o.output for d, o in upstream.items()},
        )
        limit = timeout_seconds or first.timeout_seconds
        current: list[AgentDescriptor] = [first]
        try:
            async with asyncio.timeout(limit):
                if pin is not None:
                    return await self._reattach(t, first, request, emit, pin[1])
                return await self._attempts(t, request, emit, current, attempts_before)
        except TimeoutError:
            reason = f"timed out after {limit:g}s"
            if len(current) > 1:  # a call was out when the deadline came
                self.resolver.failed(current[-1].instance_id, reason)
            return fail_task(t, current[-1], emit, reason, "timeout")

    async def in_flight(
        self,
        run_id: str,
        task_id: str,
        agent_id: str | None,
        instance_id: str | None,
        attempt: int,
    ) -> str:
        """What to do with a task whose call was out when its run changed hands:
        ``restart`` (its agent is safe to retry: a new attempt), ``reattach`` (the instance
        knows the attempt's key: call it again with that key, see ``run``'s ``pinned``), or
        ``in_doubt`` (not safe to retry, and nobody can say whether it ran)."""
        d = self.resolver.instance(instance_id) if instance_id else None
        agent = d or (self.resolver.agent(agent_id) if agent_id else None)
        if agent is not None and agent.safe_to_retry:
            return "restart"
        if d is None:
            return "in_doubt"
        state = await self.calls.execution_state(d, idempotency_key(run_id, task_id, attempt))
        return "reattach" if state in ("running", "finished") else "in_doubt"

    async def unlogged(self, run_id: str, t: SubTask, attempt: int) -> str | None:
        """An instance of ``t``'s agent that knows the key of ``attempt`` although the run's
        log never said the task started (its owner died before storing the ``running``
        status): where to re-attach. Only asked for agents not safe to retry; None when no
        instance knows it (then the task starts as that attempt, with that key)."""
        candidates = [d for d in self.resolver.candidates(t) if not d.safe_to_retry]
        key = idempotency_key(run_id, t.task_id, attempt)
        for d in candidates:
            if await self.calls.execution_state(d, key) in ("running", "finished"):
                return d.instance_id
        return None

    async def _reattach(
        self, t: SubTask, d: AgentDescriptor, request: TaskRequest, emit: Emitter, attempt: int
    ) -> TaskOutcome:
        """The call of ``attempt`` made again with its key: its events from the first,
        live or replayed by the worker; never a second run, so never retried elsewhere."""
        try:
            return await self.calls.call(t, d, request, emit, attempt)
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
    ) -> TaskOutcome:
        """Try replicas in preference order until one answers the task.

        A busy replica (429/503) passes the task on; when all are busy the loop waits their
        Retry-After and tries again. A failed attempt is reported to the resolver and the
        next replica is tried after a jittered back-off; after relayed events only if the
        agent is safe to retry, as a new attempt. Ends with the task's outcome, failed
        (naming each attempt) when every replica failed or the attempts ran out.
        """
        tried: set[str] = set()
        failures: list[str] = []
        last_code = "unreachable"
        busy: list[float] = []
        previous: str | None = None  # how the last try went wrong, for the next call's span
        attempt = attempts_before  # a resumed task goes on counting
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TryAgain),
            wait=self._wait,
            reraise=True,
        )
        async for round_ in retrying:
            with round_:
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
                        error = f"every replica failed ({len(failures)} tries): " + "; ".join(
                            failures
                        )
                    return fail_task(t, current[-1], emit, error, last_code)
                if attempt >= self.max_attempts:  # the run's budget, across replicas
                    error = f"the run's {self.max_attempts} attempts at this task are spent"
                    if failures:
                        error += ": " + "; ".join(failures)
                    return fail_task(t, d, emit, error, last_code if failures else "attempts")
                tried.add(d.instance_id)
                current.append(d)
                attempt += 1
                try:
                    if self.tracer is None:
                        return await self.calls.call(t, d, request, emit, attempt)
                    others = tried - {d.instance_id}
                    return await self.calls.traced_call(
                        self.tracer, t, d, request, emit, attempt, others, previous
                    )
                except WorkerBusy as refusal:
                    attempt -= 1  # nothing ran: not an attempt
                    previous = f"{d.instance_id} busy (429), retry after {refusal.retry_after:g}s"
                    busy.append(refusal.retry_after)
                    raise _TryAgain(busy_wait=0.0) from None
                except WorkerUnreachable as exc:
                    self.resolver.failed(d.instance_id, str(exc))
                    failures.append(f"attempt {attempt} on {d.instance_id}: {exc}")
                    previous = failures[-1]
                    last_code = "unreachable"
                    attempt -= 1  # never reached the worker: the next one is the same attempt
                    raise _TryAgain() from None
                except AttemptFailed as exc:
                    failures.append(f"attempt {attempt} on {d.instance_id}: {exc.reason}")
                    previous = failures[-1]
                    last_code = exc.code
                    if (exc.relayed or exc.accepted) and not d.safe_to_retry:
                        # It may have started running: never a second time elsewhere.
                        return fail_task(t, d, emit, exc.reason, exc.code)
                    if attempt >= self.max_attempts:
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
                        attempt -= 1  # nothing reached the client: the same attempt, elsewhere
                    raise _TryAgain() from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next round: the busy wait, else the jittered back-off."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _TryAgain) and exc.busy_wait is not None:
            return exc.busy_wait
        return float(self._backoff(state))
