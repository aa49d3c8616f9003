"""HTTP in front of a ``WorkerRuntime``: the worker API every mesh worker serves.

``GET /health``, ``GET /descriptor`` (and the same as an A2A card at
``/.well-known/agent-card.json``), ``POST /invoke`` (JSON ``WorkerResult``) and
``POST /stream`` (SSE worker events ending in ``done``). See ``create_worker_app``.
With auth on, ``/invoke`` and ``/stream`` take only an orchestrator (or admin) token for the
workers (401/403 JSON otherwise, ``mesh_auth``); the task's ``owner`` is the run's owner the
orchestrator names (``mesh_worker.access``). ``/health``, ``/descriptor`` and the agent card
stay open for probes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse

from mesh_auth import Principal
from mesh_auth.http import require
from mesh_contracts import (
    AgentDescriptor,
    DoneEvent,
    ErrorEvent,
    TaskRequest,
    WorkerEvent,
    WorkerResult,
    encode_event,
)
from mesh_contracts.a2a import AGENT_CARD_PATH, descriptor_card
from mesh_worker.access import owner_for
from mesh_worker.execution import (
    InvalidInput,
    collect_result,
    stream_event_batches,
    validate_input,
)
from mesh_worker.executions import HEADER, BadKey, Execution, check_key
from mesh_worker.runtime import WorkerRuntime
from mesh_worker.slots import Slot
from mesh_worker.sse import event_stream

log = logging.getLogger(__name__)

router = APIRouter()
# Who may make a worker work: the orchestrator (and admin).
Caller = Annotated[Principal, Depends(require("orchestrator", "admin"))]


def _runtime(request: Request) -> WorkerRuntime:
    runtime: WorkerRuntime = request.app.state.runtime
    return runtime


def _busy(runtime: WorkerRuntime) -> JSONResponse:
    runtime.refused += 1
    seconds = runtime.settings.retry_after_seconds
    return JSONResponse(
        {
            "detail": f"busy: {runtime.slots.in_flight} of {runtime.slots.limit} slots in use",
            "retry_after": seconds,
        },
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def _invalid(exc: InvalidInput) -> JSONResponse:
    return JSONResponse({"detail": exc.errors}, status_code=422)


def _failed(status: int, message: str) -> JSONResponse:
    # "detail" too, so that callers reading FastAPI's error shape find the message.
    return JSONResponse({"error": message, "detail": message}, status_code=status)


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Liveness and load: ``status``, ids, ``in_flight``, ``max_concurrency``, worker facts."""
    return _runtime(request).health()


@router.get("/descriptor")
async def descriptor(request: Request) -> AgentDescriptor:
    """The descriptor this instance registers."""
    return _runtime(request).describe()


@router.get(AGENT_CARD_PATH)
async def agent_card(request: Request) -> dict[str, Any]:
    """The descriptor as an A2A agent card (``mesh_contracts.a2a.descriptor_card``)."""
    return descriptor_card(_runtime(request).describe(), str(request.base_url))


@router.post(
    "/invoke",
    response_model=WorkerResult,
    responses={422: {"description": "input outside the schema"}, 429: {"description": "busy"}},
)
async def invoke(task: TaskRequest, request: Request, caller: Caller) -> Response:
    """Run to completion and answer one ``WorkerResult``.

    422 for input the worker refuses, 429 (``Retry-After``) when every slot is taken,
    500 ``{"error"}`` when ``run`` raises, 504 past the descriptor's ``timeout_seconds``.
    """
    task.owner = owner_for(caller, task.owner)
    runtime = _runtime(request)
    try:
        key = check_key(request.headers.get(HEADER))
    except BadKey as exc:
        return _failed(400, str(exc))
    known = runtime.executions.get(key) if key is not None else None
    if known is not None:  # a repeat: its answer, never a second run
        if known.task_id != task.task_id:
            return _reused(known)
        runtime.executions.repeated += 1
        status, body = await runtime.executions.answer(known)
        return JSONResponse(body, status_code=status)
    try:
        inp = validate_input(runtime.worker, task)
    except InvalidInput as exc:
        return _invalid(exc)
    d = runtime.descriptor
    slot = runtime.slots.try_acquire(f"task {task.task_id}")
    if slot is None:
        return _busy(runtime)
    if key is not None:
        ex = runtime.executions.open(key, task.task_id)
        slot.hold_until_done(runtime.executions.run_call(ex, _invoke_answer(runtime, task, inp)))
        try:
            status, body = await runtime.executions.answer(ex)
        finally:
            slot.release()
        return JSONResponse(body, status_code=status)
    # A task of its own, so the slot can outlive this handler if it is cancelled mid-run.
    run = asyncio.create_task(_collect(runtime, task, inp), name=f"invoke-{task.task_id}")
    slot.hold_until_done(run)
    outcome = "cancelled"  # the caller went away
    try:
        result = await run
        outcome = result.status
    except InvalidInput as exc:
        outcome = "invalid_input"
        return _invalid(exc)
    except TimeoutError:
        outcome = "timeout"
        return _failed(504, f"the task ran longer than {d.timeout_seconds:g}s")
    except Exception as exc:
        outcome = "failed"
        log.exception("task %s failed", task.task_id)
        return _failed(500, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        runtime.ended(outcome)
        slot.release()
    return JSONResponse(result.model_dump(mode="json"))


@router.post(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "worker events, then done"},
        429: {"description": "busy"},
    },
)
async def stream(task: TaskRequest, request: Request, caller: Caller) -> Response:
    """Stream the run as SSE: one frame per event, ``result`` if ``run`` returned something,
    then ``done``. Refused input and failures are ``error`` frames (the stream is the
    contract: HTTP 200); a body that is not a ``TaskRequest`` is a 422. A ``: ping`` comment
    goes out every ``WORKER_PING_SECONDS`` seconds. A client disconnect cancels ``run``;
    its slot stays taken until ``run`` has actually ended.
    """
    task.owner = owner_for(caller, task.owner)
    runtime = _runtime(request)
    settings = runtime.settings
    try:
        key = check_key(request.headers.get(HEADER))
    except BadKey as exc:
        return _failed(400, str(exc))
    known = runtime.executions.get(key) if key is not None else None
    if known is not None:  # a repeat: re-attached while it runs, replayed after
        if known.task_id != task.task_id:
            return _reused(known)
        runtime.executions.repeated += 1
        return event_stream(
            _followed(runtime, known),
            ping_seconds=settings.ping_seconds,
            shutdown_grace_seconds=settings.shutdown_grace_seconds,
        )
    try:
        inp = validate_input(runtime.worker, task)
    except InvalidInput as exc:
        return event_stream(_refused(exc), ping_seconds=settings.ping_seconds)
    slot = runtime.slots.try_acquire(f"task {task.task_id}")
    if slot is None:
        return _busy(runtime)
    if key is not None:  # the run belongs to its execution; this call follows it
        ex = runtime.executions.open(key, task.task_id)
        run = stream_event_batches(
            runtime.worker,
            task,
            inp,
            time_limit=runtime.descriptor.timeout_seconds,
            on_end=runtime.ended,
        )
        slot.hold_until_done(runtime.executions.run_stream(ex, run))
        slot.release()  # given back when the run ends
        return event_stream(
            _followed(runtime, ex),
            ping_seconds=settings.ping_seconds,
            shutdown_grace_seconds=settings.shutdown_grace_seconds,
        )
    events = stream_event_batches(
        runtime.worker,
        task,
        inp,
        time_limit=runtime.descriptor.timeout_seconds,
        slot=slot,
        on_end=runtime.ended,
    )
    return event_stream(
        _frames(events, slot),
        ping_seconds=settings.ping_seconds,
        on_close=slot.release,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
    )


#: The most events one chunk of a stream carries (``Chunks``).
CHUNK_EVENTS = 256
DONE_FRAME = encode_event(DoneEvent())


class Chunks:
    """A stream's lists of events (in order, each what was queued when the writer asked:
    ``stream_event_batches``, ``Executions.follow_batches``) as the chunks it writes: a
    list's SSE frames as one chunk (one write, one HTTP chunk, one read by the caller),
    up to ``CHUNK_EVENTS`` a chunk, where a flood of tokens cost a write and a chunk per
    event on both ends. Until the stream's first token has gone out every event goes
    alone, as before: the first token never waits for the frames of those queued behind
    it; an event that comes alone goes alone, at once (a list is never waited for)."""

    __slots__ = ("token_sent",)

    def __init__(self) -> None:
        self.token_sent = False

    def of(self, batch: list[WorkerEvent]) -> Iterator[bytes]:
        """The chunks of ``batch``, each made as it is asked for: a single goes out
        before the frames behind it are encoded."""
        if not self.token_sent:
            for i, event in enumerate(batch):
                if event.type == "token":
                    self.token_sent = True
                    yield encode_event(event)
                    batch = batch[i + 1 :]
                    break
                yield encode_event(event)
            else:
                return
        for i in range(0, len(batch), CHUNK_EVENTS):
            yield b"".join(map(encode_event, batch[i : i + CHUNK_EVENTS]))


async def _frames(
    events: AsyncGenerator[list[WorkerEvent], None], slot: Slot
) -> AsyncIterator[bytes]:
    chunks = Chunks()
    try:
        async for batch in events:
            for chunk in chunks.of(batch):
                yield chunk
        yield DONE_FRAME
    finally:
        await events.aclose()  # cancels run() if still going
        slot.release()  # idempotent; the slot then waits for run() to end


@router.get(
    "/executions/{key}",
    responses={404: {"description": "unknown key (never run here, or forgotten)"}},
)
async def execution(key: str, request: Request, caller: Caller) -> Response:
    """What this instance knows of the call made with ``Idempotency-Key: key``:
    ``{"state": "running" | "finished", "outcome", "events", ...}``, or 404
    ``{"state": "unknown"}``. A caller that took over a run asks this before deciding
    whether a task that was running may run again."""
    runtime = _runtime(request)
    try:
        check_key(key)
    except BadKey as exc:
        return _failed(400, str(exc))
    state = runtime.executions.state(key)
    return JSONResponse(state, status_code=404 if state["state"] == "unknown" else 200)


def _reused(known: Execution) -> JSONResponse:
    message = f"{HEADER} already used for task {known.task_id[:128]!r}"
    return _failed(409, message)


async def _collect(runtime: WorkerRuntime, task: TaskRequest, inp: Any) -> WorkerResult:
    """One run of the worker on ``task``, folded into its result (``/invoke``'s body)."""
    d = runtime.descriptor
    return await collect_result(
        runtime.worker,
        task,
        inp,
        agent_id=d.agent_id,
        time_limit=d.timeout_seconds,
        static_response=d.static_response,
    )


async def _invoke_answer(
    runtime: WorkerRuntime, task: TaskRequest, inp: Any
) -> tuple[int, dict[str, Any]]:
    """One /invoke run as the status and JSON body it answers (a keyed execution's)."""
    d = runtime.descriptor
    outcome = "cancelled"
    try:
        result = await _collect(runtime, task, inp)
        outcome = result.status
        return 200, result.model_dump(mode="json")
    except InvalidInput as exc:
        outcome = "invalid_input"
        return 422, {"detail": exc.errors}
    except TimeoutError:
        outcome = "timeout"
        message = f"the task ran longer than {d.timeout_seconds:g}s"
        return 504, {"error": message, "detail": message}
    except Exception as exc:
        outcome = "failed"
        log.exception("task %s failed", task.task_id)
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return 500, {"error": message, "detail": message}
    finally:
        runtime.ended(outcome)


async def _followed(runtime: WorkerRuntime, ex: Execution) -> AsyncIterator[bytes]:
    follow = runtime.executions.follow_batches(ex)
    chunks = Chunks()
    try:
        async for batch in follow:
            for chunk in chunks.of(batch):
                yield chunk
        yield DONE_FRAME
    finally:
        await follow.aclose()  # the last follower leaving may cancel the run


async def _refused(exc: InvalidInput) -> AsyncIterator[bytes]:
    yield encode_event(ErrorEvent(error=exc.message, code="invalid_input"))
    yield DONE_FRAME
