"""Routes of the orchestrator API (see the service README for the contract)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.api.sse import SSEResponse, frames
from mesh_orchestrator.services import Services

router = APIRouter()


async def _services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop per
    # request before the run can start.
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(_services)]


def _not_found(run_id: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": f"unknown run {run_id!r}"})


@router.get("/health")
async def health(svc: Svc) -> dict[str, Any]:
    return {
        "status": "ok",
        "discovery": svc.discovery.status,
        "registry_index": svc.discovery.index,
        "agents": len(svc.discovery.records),
        "live_runs": len(svc.runs.tasks),
        "store": "postgres" if svc.settings.database_url else "sqlite",
        "planner": getattr(svc.planner, "name", type(svc.planner).__name__),
    }


@router.get("/v1/agents")
async def agents(svc: Svc) -> JSONResponse:
    body = [r.model_dump(mode="json") for r in svc.discovery.records]
    return JSONResponse(body, headers={"X-Mesh-Index": str(svc.discovery.index)})


@router.post("/orchestrate/stream")
async def orchestrate_stream(body: OrchestrateRequest, svc: Svc) -> SSEResponse:
    record = await svc.runs.start(body.query or "", body.plan, body.options.model_dump(mode="json"))
    run_id = record.run_id
    sub = await svc.mux.subscribe(run_id, 0)

    def left() -> None:
        if body.options.on_disconnect == "cancel":
            svc.runs.cancel(run_id)

    return SSEResponse(
        frames(sub, svc.settings.ping_seconds, lambda: svc.mux.unsubscribe(run_id, sub)),
        headers={"Content-Location": f"/v1/runs/{run_id}"},
        on_disconnect=left,
    )


@router.post("/orchestrate")
async def orchestrate(body: OrchestrateRequest, svc: Svc) -> dict[str, Any]:
    record = await svc.runs.start(body.query or "", body.plan, body.options.model_dump(mode="json"))
    result: dict[str, Any] = {}
    status = "failed"
    async for e in svc.mux.events(record.run_id, 0):
        if e.type == "result" and e.task_id is None:
            result = e.data
        elif e.type == "done":
            status = e.data.get("status", status)
    live = svc.mux.record(record.run_id) or await svc.store.get_run(record.run_id)
    return {
        "run_id": record.run_id,
        "status": status,
        "plan": (live.plan if live else None) or [],
        "results": result.get("results", {}),
        "answer": result.get("answer"),
    }


@router.get("/v1/runs")
async def list_runs(svc: Svc, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> list[Any]:
    # Snapshot the live runs first: a run leaves memory only after its final row is stored,
    # and a run just started may not be stored yet.
    live = {run_id: svc.mux.record(run_id) for run_id in list(svc.mux.channels)}
    stored = await svc.store.list_runs(limit)
    runs = {r.run_id: r for r in stored} | {k: r for k, r in live.items() if r is not None}
    newest = sorted(runs.values(), key=lambda r: r.created_at, reverse=True)[:limit]
    return [r.summary() for r in newest]


@router.get("/v1/runs/{run_id}", response_model=None)
async def get_run(run_id: str, svc: Svc) -> dict[str, Any] | JSONResponse:
    run = svc.mux.record(run_id) or await svc.store.get_run(run_id)
    if run is None:
        return _not_found(run_id)
    return run.model_dump(
        include={
            "run_id",
            "query",
            "status",
            "created_at",
            "finished_at",
            "plan",
            "answer",
            "last_seq",
        }
    )


@router.get("/v1/runs/{run_id}/events", response_model=None)
async def run_events(
    run_id: str,
    svc: Svc,
    after: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> SSEResponse | JSONResponse:
    if svc.mux.record(run_id) is None and await svc.store.get_run(run_id) is None:
        return _not_found(run_id)
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
    sub = await svc.mux.subscribe(run_id, start)
    return SSEResponse(
        frames(sub, svc.settings.ping_seconds, lambda: svc.mux.unsubscribe(run_id, sub))
    )


@router.post("/v1/runs/{run_id}/cancel", response_model=None)
async def cancel_run(run_id: str, svc: Svc) -> JSONResponse:
    if svc.runs.cancel(run_id):
        return JSONResponse(status_code=202, content={"run_id": run_id, "status": "cancelling"})
    run = svc.mux.record(run_id) or await svc.store.get_run(run_id)
    if run is None:
        return _not_found(run_id)
    return JSONResponse(
        status_code=409,
        content={"detail": f"run {run_id!r} already finished ({run.status})", "status": run.status},
    )
