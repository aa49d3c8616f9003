"""Routes of saved workflows: save a named plan template (a new version each time), list,
read and delete them, and start a run from one with arguments.

Owned like runs (``api/access.py``): a client token saves, sees, deletes and starts only its
own workflows (another client's name is answered 404 exactly like an unknown one); admin
lists everyone's. A run started from a workflow goes through ``start_run`` like any other
(its quotas, 429s) and records ``options.workflow = {"name", "version"}``, which
``GET /v1/runs/{id}`` shows as ``workflow``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mesh_auth import Principal
from mesh_auth.http import trim
from mesh_orchestrator.api.access import RunCaller, owner_of
from mesh_orchestrator.api.bodies import BoundedJSONRoute
from mesh_orchestrator.api.limits import start_run
from mesh_orchestrator.api.models import RunOptions
from mesh_orchestrator.api.routes import Svc
from mesh_orchestrator.workflows.store import MAX_VERSIONS_PER_OWNER, TooManyVersions
from mesh_orchestrator.workflows.template import WorkflowError, WorkflowSpec, render

router = APIRouter(route_class=BoundedJSONRoute)


class StartWorkflow(BaseModel):
    """``POST /v1/workflows/{name}/runs``: the arguments (checked against the workflow's
    parameters), which version (default: the latest) and the run's options."""

    model_config = ConfigDict(extra="forbid")

    arguments: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1)
    options: RunOptions = Field(default_factory=RunOptions)


def _owner(caller: Principal) -> str:
    return owner_of(caller) or ""


def _unknown(name: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": f"unknown workflow {trim(name, 80)!r}"})


@router.post("/v1/workflows", status_code=201)
async def save_workflow(body: WorkflowSpec, svc: Svc, caller: RunCaller) -> JSONResponse:
    """Save ``body`` as the next version of the caller's workflow ``body.name``."""
    try:
        stored = await svc.workflows.save(_owner(caller), body)
    except TooManyVersions:
        return JSONResponse(
            status_code=429,
            content={"detail": f"at most {MAX_VERSIONS_PER_OWNER} workflow versions per client"},
        )
    return JSONResponse(
        status_code=201,
        content=stored.body(),
        headers={"Content-Location": f"/v1/workflows/{stored.name}?version={stored.version}"},
    )


@router.get("/v1/workflows")
async def list_workflows(svc: Svc, caller: RunCaller) -> list[dict[str, Any]]:
    """The latest version of each of the caller's workflows (admin: everyone's)."""
    owner = None if caller.is_admin and caller.authenticated else _owner(caller)
    return [w.body() for w in await svc.workflows.list(owner)]


@router.get("/v1/workflows/{name}", response_model=None)
async def get_workflow(
    name: str,
    svc: Svc,
    caller: RunCaller,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any] | JSONResponse:
    stored = await svc.workflows.get(_owner(caller), name, version)
    return stored.body() if stored is not None else _unknown(name)


@router.delete("/v1/workflows/{name}", response_model=None)
async def delete_workflow(name: str, svc: Svc, caller: RunCaller) -> Response:
    """Remove every version of the caller's workflow ``name`` (runs made from it stay)."""
    if not await svc.workflows.delete(_owner(caller), name):
        return _unknown(name)
    return Response(status_code=204)


@router.post("/v1/workflows/{name}/runs", response_model=None)
async def start_workflow(
    name: str, body: StartWorkflow, svc: Svc, caller: RunCaller
) -> JSONResponse:
    """Start a run of the workflow with ``body.arguments``: 202 with the run id (follow
    ``GET /v1/runs/{id}/events``); 422 when the arguments do not fit its parameters."""
    stored = await svc.workflows.get(_owner(caller), name, body.version)
    if stored is None:
        return _unknown(name)
    try:
        query, plan = render(stored.spec, body.arguments)
    except WorkflowError as exc:
        return JSONResponse(
            status_code=422, content={"detail": str(exc), "code": "invalid_arguments"}
        )
    options = body.options.model_dump(mode="json")
    options["workflow"] = {"name": stored.name, "version": stored.version}
    record = await start_run(svc, caller, query, plan, options)
    return JSONResponse(
        status_code=202,
        content={
            "run_id": record.run_id,
            "status": record.status,
            "workflow": options["workflow"],
            "events": f"/v1/runs/{record.run_id}/events",
        },
        headers={"Content-Location": f"/v1/runs/{record.run_id}"},
    )
