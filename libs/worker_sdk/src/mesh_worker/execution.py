"""Running one request through a ``Worker``: input validation, the event pipeline, collection.

Framework-free. ``stream_events`` turns a ``run`` into an async stream of worker events
(what ``POST /stream`` sends; ``stream_event_batches``: the same in lists, every event
already queued when the reader asks); ``collect_result`` turns it into a ``WorkerResult`` (what
``POST /invoke`` answers). Neither sends ``done``: that is the transport's terminal frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from pydantic import ValidationError

from mesh_contracts import (
    ArtifactEvent,
    DoneEvent,
    ErrorEvent,
    InputRequiredEvent,
    OutputFold,
    ResultEvent,
    TaskRequest,
    Usage,
    WorkerEvent,
    WorkerResult,
    parse_worker_event,
)
from mesh_worker.asking import InputNeeded
from mesh_worker.slots import Slot
from mesh_worker.usage import metered
from mesh_worker.worker import Emit, InputError, InputT, Worker

log = logging.getLogger(__name__)

#: Events a ``run`` may emit before ``emit`` blocks (back-pressure from a slow client).
QUEUE_SIZE = 64


class InvalidInput(Exception):
    """The request's input does not fit the worker's ``Input`` (or ``run`` raised ``InputError``).

    ``errors`` has FastAPI's shape: ``[{"loc": [...], "msg": ..., "type": ...}]``.
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'input'}: {e['msg']}" for e in self.errors
        )

    @classmethod
    def from_input_error(cls, exc: InputError) -> InvalidInput:
        return cls([{"loc": ["body", "input"], "msg": str(exc), "type": "invalid_input"}])


def validate_input(worker: Worker[InputT], task: TaskRequest) -> InputT:
    """``task.input`` as the worker's ``Input`` model; ``InvalidInput`` naming the fields."""
    try:
        return worker.Input.model_validate(task.input)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "input", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise InvalidInput(errors) from None


def _as_event(event: WorkerEvent | dict[str, Any]) -> WorkerEvent:
    # Lenient with authors who emit plain dicts; the wire only ever sees validated events.
    return parse_worker_event(event) if isinstance(event, dict) else event


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def stream_events(
    worker: Worker[InputT],
    task: TaskRequest,
    inp: InputT,
    *,
    time_limit: float | None = None,
    slot: Slot | None = None,
    on_end: Callable[[str], None] | None = None,
) -> AsyncGenerator[WorkerEvent, None]:
    """Yield what ``run`` emits as it emits it, then a ``ResultEvent`` if it returned
    something other than None, or an ``ErrorEvent`` if it failed (``invalid_input`` for
    ``InputError``, ``timeout`` past ``time_limit`` seconds, ``worker_error`` otherwise; the
    trace is logged here, never sent). Keep-alive pings are the transport's business.
    ``done`` is not yielded, and a ``done`` emitted by ``run`` is dropped. Closing the generator, or cancelling the task iterating
    it, cancels ``run`` at once; ``slot`` (if given) stays taken until ``run`` has ended,
    however long its cancellation takes. ``on_end`` (if given) is told once how the run
    ended: ``completed``, ``failed`` (it raised or emitted an error), ``invalid_input``,
    ``timeout``, ``cancelled`` or ``input_required`` (it asked the user: ``asking.Asker``).
    """
    batches = stream_event_batches(
        worker, task, inp, time_limit=time_limit, slot=slot, on_end=on_end
    )
    try:
        async for batch in batches:
            for event in batch:
                yield event
    finally:
        await batches.aclose()  # cancels run() if still going


async def stream_event_batches(
    worker: Worker[InputT],
    task: TaskRequest,
    inp: InputT,
    *,
    time_limit: float | None = None,
    slot: Slot | None = None,
    on_end: Callable[[str], None] | None = None,
) -> AsyncGenerator[list[WorkerEvent], None]:
    """``stream_events``' events, in order, as lists: each one the event the reader waited
    for and every event queued behind it by then (never a wait for more: an event that
    comes alone is yielded alone, at once). A writer sends a list as one write, where a
    run that emits faster than its reader takes (a flood of tokens) would cost a write
    and an HTTP chunk, on both ends, per event. The rest is ``stream_events``'."""
    queue: asyncio.Queue[WorkerEvent | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
    outcome = "cancelled"
    errored = False

    async def emit(event: WorkerEvent) -> None:
        nonlocal errored
        event = _as_event(event)
        if isinstance(event, ErrorEvent):
            errored = True
        if not isinstance(event, DoneEvent):
            await queue.put(event)

    async def drive() -> None:
        nonlocal outcome
        meter = metered()  # this task's context: ``report_usage`` inside ``run`` adds to it
        try:
            async with asyncio.timeout(time_limit) as deadline:
                output = await worker.run(task, inp, emit)
            if output is not None:
                await queue.put(ResultEvent(output=output, usage=meter.usage()))
            outcome = "failed" if errored else "completed"
        except InputNeeded:  # asked the user (``Asker``): the call ends here, no error
            outcome = "input_required"
        except InputError as exc:
            outcome = "invalid_input"
            await queue.put(ErrorEvent(error=str(exc), code="invalid_input"))
        except TimeoutError as exc:
            outcome = "failed"
            if not deadline.expired():
                log.exception("task %s failed", task.task_id)
                await queue.put(ErrorEvent(error=_error_text(exc)))
            else:
                outcome = "timeout"
                msg = f"the task ran longer than {time_limit:g}s"
                await queue.put(ErrorEvent(error=msg, code="timeout", retryable=True))
        except Exception as exc:
            outcome = "failed"
            log.exception("task %s failed", task.task_id)
            await queue.put(ErrorEvent(error=_error_text(exc)))
        finally:
            if on_end is not None:
                on_end(outcome)
        await queue.put(None)  # end of the run

    runner = asyncio.create_task(drive(), name=f"run-{task.task_id}")
    if slot is not None:
        slot.hold_until_done(runner)
    get_nowait = queue.get_nowait
    try:
        while (event := await queue.get()) is not None:
            batch = [event]
            while queue.qsize():  # what came while the last batch was written
                if (event := get_nowait()) is None:
                    break
                batch.append(event)
            yield batch
            if event is None:  # the end came in the batch
                break
        await runner  # already finished; surfaces a bug in drive() instead of hiding it
    finally:
        if not runner.done():
            # Not awaited here (this may run inside a cancelled scope): the slot waits instead.
            runner.cancel()
            log.info("task %s cancelled: its caller went away", task.task_id)


async def collect_result(
    worker: Worker[InputT],
    task: TaskRequest,
    inp: InputT,
    *,
    agent_id: str,
    time_limit: float | None = None,
    static_response: Any = None,
) -> WorkerResult:
    """Run to completion and gather a ``WorkerResult``.

    ``output`` is ``run``'s return value; if that is None, what ``mesh_contracts.OutputFold``
    makes of the emitted events (the last result, else the joined tokens, else the messages
    joined by blank lines, else ``static_response``, else the artifacts), the same rule the
    orchestrator applies to a relayed stream. Emitted messages and artifacts are listed; an
    emitted ``error`` makes the result ``failed``; a question (``asking.Asker``) makes it
    ``input_required``, carrying the question. Raises ``InvalidInput`` for
    ``InputError``, ``TimeoutError`` past ``time_limit``, and whatever else ``run`` raises.
    """
    fold = OutputFold()
    asked: list[InputRequiredEvent] = []

    async def emit(event: WorkerEvent) -> None:
        event = _as_event(event)
        if isinstance(event, InputRequiredEvent):
            asked.append(event)
        fold.add(event.type, event.model_dump(mode="json"))

    started = time.time()
    try:
        async with asyncio.timeout(time_limit):
            output, usage = await _metered_run(worker, task, inp, emit)
    except InputError as exc:
        raise InvalidInput.from_input_error(exc) from None
    except InputNeeded:  # asked the user (``Asker``): the answer says so, no error
        return WorkerResult(
            task_id=task.task_id,
            agent_id=agent_id,
            status="input_required",
            input_required=asked[-1] if asked else None,
            started_at=started,
            finished_at=time.time(),
        )
    return WorkerResult(
        task_id=task.task_id,
        agent_id=agent_id,
        status="failed" if fold.failed else "completed",
        output=fold.output(static_response) if output is None else output,
        messages=fold.messages,
        artifacts=[ArtifactEvent.model_validate(a) for a in fold.artifacts],
        error=fold.error,
        started_at=started,
        finished_at=time.time(),
        usage=usage,
    )


async def _metered_run(
    worker: Worker[InputT], task: TaskRequest, inp: InputT, emit: Emit
) -> tuple[Any, Usage]:
    """``run``'s output and its usage, metered in a context of its own (a copy: the
    caller's context never sees the meter)."""

    async def run() -> tuple[Any, Usage]:
        meter = metered()
        return await worker.run(task, inp, emit), meter.usage()

    return await asyncio.create_task(run())
