"""Routes of the orchestrator API (see the service README for the contract).

Run routes call only the ``RunService``; the registry routes read the discovery cache;
``POST /v1/plans`` calls only the plan preview (``graph.preview``).
Run routes take a client (or admin) token and show a client only its own runs; the
registry view takes any valid token; ``/health`` none (``api/access.py``). What a client
may start and hold (runs, plans, streams) is bounded by ``api/limits.py`` (429s); JSON
bodies are parsed by ``api/bodies.py``.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mesh_auth import Principal
from mesh_auth.http import trim
from mesh_orchestrator.api.access import RegistryReader, RunCaller, may_see
from mesh_orchestrator.api.bodies import BoundedJSONRoute
from mesh_orchestrator.api.disconnect import CLIENT_CLOSED, ClientGone, unless_gone
from mesh_orchestrator.api.limits import StreamSlot, check_approval, check_rate, start_run
from mesh_orchestrator.api.models import (
    ApproveRequest,
    OrchestrateRequest,
    PlanRequest,
    RejectRequest,
    RunOptions,
)
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.runs.replay import Feed
from mesh_orchestrator.runs.service import (
    ApprovalOutcome,
    BadAnswer,
    CancelOutcome,
    PauseOutcome,
    RunService,
)
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.services import Services

router = APIRouter(route_class=BoundedJSONRoute)

# The options of a request that set none (most): their dump, made once.
_DEFAULT_OPTIONS: dict[str, Any] = RunOptions().model_dump(mode="json")


def options_dump(options: RunOptions) -> dict[str, Any]:
    """``options.model_dump(mode="json")``; for options that set no field (the request sent
    none, or ``{}``), a copy of the defaults' dump made once (its values are all ``str`` or
    None), not a dump each run (~2-3 us)."""
    if not options.model_fields_set and type(options) is RunOptions:
        return dict(_DEFAULT_OPTIONS)
    return options.model_dump(mode="json")


# What GET /v1/runs/{id} shows of a run's record.
RUN_FIELDS = {
    "cancel_requested",
    "run_id",
    "query",
    "status",
    "created_at",
    "finished_at",
    "plan",
    "answer",
    "last_seq",
    "owner",
}


async def _services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop per
    # request before the run can start.
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(_services)]


def _not_found(run_id: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": f"unknown run {trim(run_id, 80)!r}"})


class _Ended:
    """A stream's ``on_end``: its subscription and its slot given back. A slotted object
    rather than a closure (its function, cells and their tuple): ~0.3 KB less a stream."""

    __slots__ = ("run_id", "runs", "slot", "sub")

    def __init__(self, runs: RunService, run_id: str, sub: Feed, slot: StreamSlot) -> None:
        self.runs, self.run_id, self.sub, self.slot = runs, run_id, sub, slot

    def __call__(self) -> None:
        self.runs.unsubscribe(self.run_id, self.sub)
        self.slot.close()


class _CancelOnLeave:
    """A stream's ``on_disconnect`` for ``options.on_disconnect == "cancel"``: the run is
    cancelled (a run awaiting approval waits on)."""

    __slots__ = ("run_id", "runs")

    def __init__(self, runs: RunService, run_id: str) -> None:
        self.runs, self.run_id = runs, run_id

    def __call__(self) -> None:
        self.runs.cancel_now(self.run_id, unless_parked=True)


def _stream(
    runs: RunService, run_id: str, sub: Feed, svc: Services, slot: StreamSlot, **kw: Any
) -> RunStream:
    ended = _Ended(runs, run_id, sub, slot)
    return RunStream(
        sub, ping_seconds=svc.settings.ping_seconds, on_end=ended, on_unsent=slot.close, **kw
    )


@router.get("/health")
async def health(svc: Svc) -> dict[str, Any]:
    return {
        "status": "ok",
        "discovery": svc.discovery.status,
        "registry_index": svc.discovery.index,
        "agents": len(svc.discovery.records),
        "live_runs": svc.runs.live_count,
        "store": "postgres" if svc.settings.database_url else "sqlite",
        "planner": svc.planning.name,
        # the no-LLM planner's model is loaded (a plan costs milliseconds)
        "planner_ready": bool(getattr(svc.planning.draft, "ready", True)),
        "synthesis": svc.synthesis,
        "synthesis_reason": svc.synthesis_reason,
    }


@router.get("/ready", response_model=None)
async def ready(svc: Svc) -> dict[str, Any] | JSONResponse:
    """Readiness: 503 while this replica drains (a rolling update sends no new runs here)."""
    if svc.runs.draining:
        return JSONResponse(status_code=503, content={"status": "draining"})
    return {"status": "ready", "replica": svc.runs.replica_id}


@router.get("/v1/agents")
async def agents(svc: Svc, _: RegistryReader) -> JSONResponse:
    """The registry as this orchestrator routes by it: each record with its circuit
    breaker's state and this process's calls in flight."""
    body = []
    for r in svc.discovery.records:
        row = r.model_dump(mode="json")
        iid = r.descriptor.instance_id
        row["breaker"] = svc.resolver.breaker(iid).snapshot()
        row["inflight"] = svc.resolver.inflight.get(iid, 0)
        body.append(row)
    return JSONResponse(body, headers={"X-Mesh-Index": str(svc.discovery.index)})


@router.post("/orchestrate/stream")
async def orchestrate_stream(body: OrchestrateRequest, svc: Svc, caller: RunCaller) -> RunStream:
    return await open_run_stream(svc, caller, body)


async def open_run_stream(svc: Services, caller: Principal, body: OrchestrateRequest) -> RunStream:
    """A new run of ``body`` for ``caller`` and its SSE stream (``POST /orchestrate/stream``,
    through this router or ``api.stream_path``'s fast path). Raises what the route answers:
    ``TooMany`` (429), ``HTTPException`` (404/409/422), ``Draining`` (503)."""
    runs = svc.runs
    slot = svc.streams.open(caller)
    try:
        record = await start_run(
            svc,
            caller,
            body.query or "",
            body.plan,
            options_dump(body.options),
            thread_id=body.thread_id,
            strategy=body.multitask_strategy,
            # Its row's commit left open: the stream commits it before its first write,
            # after its turn of the loop, by which the run's worker request is out.
            commit=False,
        )
    except BaseException:
        slot.close()
        raise
    run_id = record.run_id
    slot.join(run_id)
    sub = await runs.events(run_id, 0)
    assert sub is not None  # just started: it is live
    # The stream keeps only this of its request (not the parsed body).
    left = _CancelOnLeave(runs, run_id) if body.options.on_disconnect == "cancel" else None
    return _stream(
        runs,
        run_id,
        sub,
        svc,
        slot,
        headers={"Content-Location": f"/v1/runs/{run_id}"},
        on_disconnect=left,
        before_first=functools.partial(runs.committed, run_id),
    )


@router.post("/orchestrate", response_model=None)
async def orchestrate(
    request: Request, body: OrchestrateRequest, svc: Svc, caller: RunCaller
) -> dict[str, Any] | JSONResponse:
    """One run, answered when it ends. A client leaving first cancels it, as a stream's
    does (``options.on_disconnect``: ``continue`` keeps it running)."""
    runs = svc.runs
    record = await start_run(
        svc,
        caller,
        body.query or "",
        body.plan,
        options_dump(body.options),
        thread_id=body.thread_id,
        strategy=body.multitask_strategy,
    )
    try:
        done = await unless_gone(request, runs.outcome(record.run_id))
    except ClientGone:
        if body.options.on_disconnect == "cancel":
            runs.cancel_now(record.run_id, unless_parked=True)
        return JSONResponse(
            status_code=CLIENT_CLOSED,
            content={"detail": "the client closed the request", "run_id": record.run_id},
        )
    assert done is not None
    answer = done.answer
    return {
        "run_id": record.run_id,
        "thread_id": body.thread_id,
        "status": done.status,
        "plan": done.record.plan or [],
        "results": answer.data()["results"] if answer is not None else {},
        "answer": answer.answer if answer is not None else None,
    }


@router.get("/v1/runs")
async def list_runs(
    svc: Svc, caller: RunCaller, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[Any]:
    """Newest first: a client's own runs; every run for admin (or an open mesh)."""
    owner = None if caller.is_admin else caller.scope
    return [r.summary() for r in await svc.runs.list(limit, owner)]


@router.get("/v1/runs/{run_id}", response_model=None)
async def get_run(run_id: str, svc: Svc, caller: RunCaller) -> dict[str, Any] | JSONResponse:
    run = await svc.runs.get(run_id)
    if run is None or not may_see(caller, run):
        return _not_found(run_id)
    # ``lease``: the replica executing it (owner), its epoch and lease expiry; its thread
    # and webhook (with its secret: only its owner and admin see a run); ``workflow``: the
    # saved workflow (name, version) it was started from, if any; ``pinned``: kept from
    # retention; ``budget``: its limits (null without a budget) and, once its execution
    # ended, what it used (every run: tokens, GPU-seconds, sub-tasks, wall seconds).
    workflow = run.options.get("workflow")
    body = run.model_dump(mode="json", include=RUN_FIELDS) | {
        "lease": run.lease(),
        "thread_id": run.options.get("thread_id"),
        "webhook": run.options.get("webhook"),
        "workflow": workflow if isinstance(workflow, dict) else None,
        "pinned": await svc.runs.pinned(run_id),
    }
    if run.options.get("budget") or run.options.get("budget_used"):
        limits = run.options.get("budget") or None
        body["budget"] = {"limits": limits, "used": run.options.get("budget_used")}
    return body


@router.get("/v1/runs/{run_id}/events", response_model=None)
async def run_events(
    run_id: str,
    svc: Svc,
    caller: RunCaller,
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> RunStream | JSONResponse:
    start = after if after is not None else 0
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            return JSONResponse(
                status_code=422,
                content={
                    "detail": [
                        {"loc": ["header", "Last-Event-ID"], "msg": "must be an integer seq"}
                    ]
                },
            )
        start = int(last_event_id.strip())
    if not may_see(caller, await svc.runs.get(run_id)):
        return _not_found(run_id)
    slot = svc.streams.open(caller, run_id)
    sub = await svc.runs.events(run_id, start)
    if sub is None:
        slot.close()
        return _not_found(run_id)
    return _stream(svc.runs, run_id, sub, svc, slot)


@router.post("/v1/runs/{run_id}/cancel", response_model=None)
async def cancel_run(run_id: str, svc: Svc, caller: RunCaller) -> JSONResponse:
    if not may_see(caller, await svc.runs.get(run_id)):
        return _not_found(run_id)
    outcome, run = await svc.runs.cancel(run_id)
    return _acted(
        run_id, outcome is CancelOutcome.CANCELLING, run, "cancelling", "already finished"
    )


@router.post("/v1/plans", response_model=None)
async def plan_only(
    body: PlanRequest, svc: Svc, caller: RunCaller
) -> dict[str, Any] | JSONResponse:
    """The plan a run of ``query`` would execute, with its planner, reasons, unresolvable
    clauses and each task's candidate instances; nothing runs and nothing is stored.
    Each takes a start from the client's token bucket, as a run does (429 past it)."""
    await check_rate(svc, caller)
    preview = await svc.plans.plan(body.query)
    error = preview.outcome.error
    if preview.outcome.plan is None and error is not None:
        return JSONResponse(
            status_code=422, content={"detail": trim(error, 500), "code": "planning_failed"}
        )
    return preview.body()


def _acted(run_id: str, done: bool, run: RunRecord | None, now: str, refusal: str) -> JSONResponse:
    """How a cancel, an approval or a rejection went: 202 with the run's status ``now``;
    404 for a run that is not there; 409 saying why not (``refusal``) and its status."""
    if done:
        return JSONResponse(status_code=202, content={"run_id": run_id, "status": now})
    if run is None:
        return _not_found(run_id)
    return JSONResponse(
        status_code=409,
        content={"detail": f"run {run_id!r} {refusal} ({run.status})", "status": run.status},
    )


def _approval_answer(
    run_id: str, outcome: ApprovalOutcome, run: RunRecord | None, now: str
) -> JSONResponse:
    return _acted(run_id, outcome is ApprovalOutcome.DONE, run, now, "does not await approval")


@router.post("/v1/runs/{run_id}/approve", response_model=None)
async def approve_run(
    run_id: str,
    svc: Svc,
    caller: RunCaller,
    body: Annotated[ApproveRequest | None, Body()] = None,
) -> JSONResponse:
    """Approve a run awaiting approval (on any replica): it runs its announced plan, or
    ``body.plan``. A run parked for tasks in doubt takes ``body.decision``: ``rerun`` them
    (the default) or ``fail`` them. 202, then follow ``GET /v1/runs/{id}/events?after=<last seq seen>``;
    429 while its client has more runs in progress than it may."""
    record = await svc.runs.get(run_id)
    if record is None or not may_see(caller, record):
        return _not_found(run_id)
    await check_approval(svc, record)
    outcome, run = await svc.runs.approve(
        run_id,
        body.plan if body is not None else None,
        decision=body.decision if body is not None else "rerun",
    )
    return _approval_answer(run_id, outcome, run, "running")


@router.post("/v1/runs/{run_id}/reject", response_model=None)
async def reject_run(
    run_id: str,
    svc: Svc,
    caller: RunCaller,
    body: Annotated[RejectRequest | None, Body()] = None,
) -> JSONResponse:
    """End a run awaiting approval: ``done`` with status ``rejected``."""
    if not may_see(caller, await svc.runs.get(run_id)):
        return _not_found(run_id)
    reason = body.reason if body is not None else "rejected"
    outcome, run = await svc.runs.reject(run_id, reason)
    return _approval_answer(run_id, outcome, run, "rejected")


class PauseRequest(BaseModel):
    """``POST /v1/runs/{id}/pause``: ``cancel_running`` stops the running sub-tasks at once
    (they run again on resume) instead of letting them finish."""

    model_config = ConfigDict(extra="forbid")

    cancel_running: bool = False


@router.post("/v1/runs/{run_id}/pause", response_model=None)
async def pause_run(
    run_id: str,
    svc: Svc,
    caller: RunCaller,
    body: Annotated[PauseRequest | None, Body()] = None,
) -> JSONResponse:
    """Pause a running run (on any replica): nothing new starts; 202 ``pausing``, then the
    run's ``paused`` event; 409 when it is not running (parked or ended)."""
    if not may_see(caller, await svc.runs.get(run_id)):
        return _not_found(run_id)
    cancel_running = body.cancel_running if body is not None else False
    outcome, run = await svc.runs.pause(run_id, cancel_running)
    return _acted(run_id, outcome is PauseOutcome.DONE, run, "pausing", "is not running")


@router.post("/v1/runs/{run_id}/resume", response_model=None)
async def resume_run(run_id: str, svc: Svc, caller: RunCaller) -> JSONResponse:
    """Resume a paused run (on any replica): 202 ``running``, then a ``resumed`` status;
    409 when it is not paused; 429 while its client has more runs in progress than it may."""
    record = await svc.runs.get(run_id)
    if record is None or not may_see(caller, record):
        return _not_found(run_id)
    await check_approval(svc, record)
    outcome, run = await svc.runs.resume_paused(run_id)
    return _acted(run_id, outcome is PauseOutcome.DONE, run, "running", "is not paused")


class InputAnswer(BaseModel):
    """``POST /v1/runs/{id}/input``: the answer to the open question of ``task_id`` (one of
    its ``choices``, or fitting its ``answer_schema``, else text)."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=64)
    answer: Any


@router.post("/v1/runs/{run_id}/input", response_model=None)
async def answer_run(run_id: str, body: InputAnswer, svc: Svc, caller: RunCaller) -> JSONResponse:
    """Answer a worker's question (on any replica): 202 ``running`` (the task runs again
    with the answer); 422 when the answer does not fit; 409 when the task asks nothing."""
    record = await svc.runs.get(run_id)
    if record is None or not may_see(caller, record):
        return _not_found(run_id)
    await check_approval(svc, record)
    try:
        outcome, run = await svc.runs.answer(run_id, body.task_id, body.answer)
    except BadAnswer as exc:
        return JSONResponse(status_code=422, content={"detail": str(exc), "code": "bad_answer"})
    if outcome is PauseOutcome.NOT_ASKING and run is not None:
        return JSONResponse(
            status_code=409,
            content={
                "detail": f"task {trim(body.task_id, 64)!r} of run {run_id!r} asks nothing",
                "status": run.status,
            },
        )
    return _acted(run_id, outcome is PauseOutcome.DONE, run, "running", "awaits no input")


@router.post("/v1/runs/{run_id}/pin", response_model=None)
async def pin_run(run_id: str, svc: Svc, caller: RunCaller) -> JSONResponse:
    """Keep the run from retention (``DELETE`` lets it go again): 200 ``{"pinned": true}``."""
    return await _pin(run_id, svc, caller, True)


@router.delete("/v1/runs/{run_id}/pin", response_model=None)
async def unpin_run(run_id: str, svc: Svc, caller: RunCaller) -> JSONResponse:
    return await _pin(run_id, svc, caller, False)


async def _pin(run_id: str, svc: Svc, caller: RunCaller, pinned: bool) -> JSONResponse:
    if not may_see(caller, await svc.runs.get(run_id)):
        return _not_found(run_id)
    if not await svc.runs.pin(run_id, pinned):
        return _not_found(run_id)
    return JSONResponse({"run_id": run_id, "pinned": pinned})
