"""Routes of threads and webhooks (README "Threads", "Double-texting", "Webhooks").

* ``POST /v1/threads``: a new thread of the caller's (201); ``GET /v1/threads/{id}``: it
  with its runs, oldest first. A run starts on one with ``thread_id`` in the body of
  ``POST /orchestrate[/stream]`` (and ``multitask_strategy``). A client sees only its own
  threads: another's is a 404, as an unknown one.
* ``PUT /v1/webhook``: the caller's default webhook (its runs without a webhook of their
  own post there); ``GET``/``DELETE`` it. ``GET /v1/runs/{id}/webhooks``: a run's
  deliveries and how far each got.

Threads are reached only through ``Threads`` (``runs.threads``), webhooks through the
``Notifier`` (``push.notifier``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from mesh_auth.http import trim
from mesh_orchestrator.api.access import RunCaller, may_see, owner_of
from mesh_orchestrator.api.bodies import BoundedJSONRoute
from mesh_orchestrator.api.models import ThreadRequest, Webhook
from mesh_orchestrator.push.notifier import BadWebhook
from mesh_orchestrator.services import Services

router = APIRouter(route_class=BoundedJSONRoute)
THREAD_RUNS = 100  # GET /v1/threads/{id} lists its last runs, at most


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(_services)]


def _unknown(thread_id: str) -> JSONResponse:
    return JSONResponse(
        status_code=404, content={"detail": f"unknown thread {trim(thread_id, 80)!r}"}
    )


@router.post("/v1/threads", status_code=201, response_model=None)
async def create_thread(
    svc: Svc, caller: RunCaller, body: ThreadRequest | None = None
) -> dict[str, Any] | JSONResponse:
    body = body or ThreadRequest()
    thread = await svc.threads.create(owner_of(caller), body.thread_id, body.metadata)
    if thread is None:
        return JSONResponse(
            status_code=409,
            content={"detail": f"thread {trim(body.thread_id or '', 80)!r} exists"},
        )
    return thread.model_dump(mode="json")


@router.get("/v1/threads/{thread_id}", response_model=None)
async def get_thread(thread_id: str, svc: Svc, caller: RunCaller) -> dict[str, Any] | JSONResponse:
    thread = await svc.threads.get(thread_id)
    if thread is None or not may_see(caller, thread):
        return _unknown(thread_id)
    runs = await svc.threads.runs_of(thread_id, THREAD_RUNS)
    return thread.model_dump(mode="json") | {
        "runs": [
            r.summary() | {"answer": r.answer, "after_run": r.options.get("after_run")}
            for r in runs
        ]
    }


@router.put("/v1/webhook", response_model=None)
async def set_webhook(body: Webhook, svc: Svc, caller: RunCaller) -> dict[str, Any] | JSONResponse:
    """The caller's default webhook; its answer shows the secret (made when none given)."""
    owner = owner_of(caller)
    if owner is None:
        return JSONResponse(
            status_code=400, content={"detail": "an open mesh has no clients to set a default for"}
        )
    try:
        secret = await svc.notifier.set_default(owner, body.url, body.secret)
    except BadWebhook as exc:
        return JSONResponse(status_code=422, content={"detail": f"url: {exc}"})
    return {"url": body.url, "secret": secret}


@router.get("/v1/webhook", response_model=None)
async def get_webhook(svc: Svc, caller: RunCaller) -> dict[str, Any] | JSONResponse:
    owner = owner_of(caller)
    found = await svc.notifier.outbox.get_default(owner) if owner is not None else None
    if found is None:
        return JSONResponse(status_code=404, content={"detail": "no default webhook"})
    return {"url": found[0], "secret": found[1]}


@router.delete("/v1/webhook", status_code=204, response_model=None)
async def delete_webhook(svc: Svc, caller: RunCaller) -> None:
    owner = owner_of(caller)
    if owner is not None:
        await svc.notifier.outbox.delete_default(owner)


@router.get("/v1/runs/{run_id}/webhooks", response_model=None)
async def run_webhooks(run_id: str, svc: Svc, caller: RunCaller) -> list[Any] | JSONResponse:
    """The run's deliveries (webhook and A2A push), oldest first, without secrets."""
    if not may_see(caller, await svc.runs.get(run_id)):
        return JSONResponse(
            status_code=404, content={"detail": f"unknown run {trim(run_id, 80)!r}"}
        )
    return [
        d.model_dump(mode="json", exclude={"secret", "body", "headers", "lease_owner"})
        for d in await svc.notifier.outbox.deliveries(run_id)
    ]
