"""HTTP routes of the discovery service (the API in the service README).

Routes only: the store lives on ``app.state.store`` (set by the lifespan in ``app.py``).
Errors leave as JSON: 401/403 (``mesh_auth``: writes need the agent's own token, within
the capabilities and priority range it states; reads any valid token; ``/health`` none),
404 unknown instance, 409 declared instance, 413 body too large, 422 bad input (naming the
field, never echoing more than a few hundred characters) or a refused endpoint, 429 an
agent past its instances or write rate (``quota``), 503 backend unavailable; never a bare
500 with a trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mesh_auth import Principal
from mesh_auth.endpoints import EndpointPolicy, EndpointRefused
from mesh_auth.http import forbidden, require, trim, validation_errors
from mesh_contracts import (
    AgentDescriptor,
    AgentRecord,
    CapabilitiesManifest,
    HeartbeatRequest,
    InstanceLoad,
    Lease,
    RegisterRequest,
    RegistryChanges,
    build_manifest,
)
from mesh_contracts.capabilities import Capability
from mesh_contracts.mcp import reserved_keys
from mesh_discovery.durations import DEFAULT_WAIT_SECONDS, parse_wait
from mesh_discovery.quota import AgentQuota, QuotaExceeded, retry_after_header
from mesh_discovery.registry import (
    SOURCE_FILE,
    AgentFilter,
    DeclaredInstance,
    StoreUnavailable,
    UnknownInstance,
)
from mesh_discovery.registry import Store as StoreProtocol

log = logging.getLogger(__name__)

INDEX_HEADER = "X-Mesh-Index"


def entity_tag(index: int) -> str:
    """The ``ETag`` of a registry read at ``index``: every change a reader could see bumps
    the index, so one URL read at one index always gives the same body."""
    return f'"{index}"'


def _unchanged(request: Request, index: int) -> bool:
    """Whether the request's ``If-None-Match`` names the tag of ``index`` (RFC 9110
    conditional GET; the orchestrator's per-run read and its watch send it)."""
    wanted = request.headers.get("if-none-match")
    if wanted is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return entity_tag(index) in tags or "*" in tags


def _read(index: int, body: bytes | str | None) -> Response:
    """A registry read at ``index``: ``body``, or 304 with none when ``body`` is None.
    Both carry the index and its tag."""
    headers = {INDEX_HEADER: str(index), "ETag": entity_tag(index)}
    if body is None:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _store(request: Request) -> StoreProtocol:
    store: StoreProtocol = request.app.state.store
    return store


Store = Annotated[StoreProtocol, Depends(_store)]
# Registry reads: any valid token. Writes: the agent's own token (checked per route) or admin.
Reader = Annotated[Principal, Depends(require("*"))]
Writer = Annotated[Principal, Depends(require("agent:*", "admin"))]


@dataclass(frozen=True, slots=True)
class Blocking:
    """A Consul-style blocking query: wait while the registry index equals ``index``."""

    index: int | None
    wait: float


def _blocking(
    index: Annotated[
        int | None, Query(ge=0, description="block while the index equals this")
    ] = None,
    wait: Annotated[
        str | None, Query(description="how long to block: 500ms, 10s, 1m; max 5m")
    ] = None,
) -> Blocking:
    seconds = DEFAULT_WAIT_SECONDS
    if wait is not None:
        try:
            seconds = parse_wait(wait)
        except ValueError as exc:
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("query", "wait"), "msg": str(exc), "input": wait}]
            ) from None
    return Blocking(index, seconds)


async def _current_index(request: Request, store: StoreProtocol, blocking: Blocking) -> int:
    """The index to answer with, after blocking if the query asks to.

    A blocking query also ends when the server starts draining (``app.state.draining``), so
    a shutdown answers watchers with the current state instead of cutting them off.
    """
    if blocking.index is None:
        return await store.index()
    draining: asyncio.Event = request.app.state.draining
    if draining.is_set():
        return await store.index()
    waiter = asyncio.ensure_future(store.wait_for_change(blocking.index, blocking.wait))
    drained = asyncio.ensure_future(draining.wait())
    try:
        await asyncio.wait({waiter, drained}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        drained.cancel()
        if not waiter.done():
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
    return waiter.result() if not waiter.cancelled() else await store.index()


router = APIRouter()


@router.get("/health")
async def health(store: Store) -> dict[str, Any]:
    return {"status": "ok", "index": await store.index(), "store": store.name}


def refused_endpoint(
    message: str, field: str = "descriptor.endpoint", kind: str = "endpoint_refused"
) -> JSONResponse:
    return JSONResponse(
        {
            "detail": [
                {
                    "loc": ["body", *field.split(".")],
                    "field": field,
                    "msg": trim(message, 300),
                    "type": kind,
                }
            ]
        },
        status_code=422,
    )


async def _owned(store: StoreProtocol, instance_id: str, caller: Principal) -> AgentRecord:
    """The instance's record, if ``caller`` may write it (its agent's token, or admin)."""
    record = await store.get(instance_id)
    if not caller.may_act_as_agent(record.descriptor.agent_id):
        raise forbidden(
            f"instance {trim(instance_id, 100)!r} belongs to agent"
            f" {record.descriptor.agent_id!r}; your token is {caller.scope}"
        )
    return record


@router.post("/v1/agents", response_model=Lease)
async def register(
    body: RegisterRequest, store: Store, caller: Writer, request: Request
) -> Lease | JSONResponse:
    """Upsert an instance. The caller's token must be ``agent:<descriptor.agent_id>`` (or
    admin), its capabilities among the token's and its priority in the token's range
    (403); an existing instance of another agent, or one declared in the agents file,
    cannot be overwritten (403, 409); past the agent's instances or write rate, 429; the
    endpoint must resolve only into admitted networks (422); ``protocol``/``a2a_*``/
    ``mcp_*`` metadata is set only by ``POST /v1/agents/a2a`` and ``POST /v1/agents/mcp``,
    from what they fetched and checked (422 here, whoever asks)."""
    d = body.descriptor
    reserved = reserved_keys(d.metadata)
    if reserved:
        return refused_endpoint(
            f"metadata {', '.join(trim(k, 40) for k in reserved[:5])} is set only by"
            " POST /v1/agents/a2a or /v1/agents/mcp (register an A2A agent by its card URL,"
            " an MCP server by its URL)",
            "descriptor.metadata",
            "reserved_metadata",
        )
    try:
        await admit(request, store, d, caller)
    except EndpointRefused as exc:
        return refused_endpoint(str(exc))
    return await store.register(d, body.ttl_seconds)


async def admit(
    request: Request, store: StoreProtocol, d: AgentDescriptor, caller: Principal
) -> None:
    """What every registration passes (``POST /v1/agents``, the A2A route): raises
    ``AuthError`` 403, ``QuotaExceeded``, ``DeclaredInstance`` or ``EndpointRefused``."""
    if not caller.may_act_as_agent(d.agent_id):
        raise forbidden(f"your token is {caller.scope}; it may not register agent {d.agent_id!r}")
    if not caller.is_admin:
        within_token(d, caller)
        quota: AgentQuota = request.app.state.quota
        quota.write(d.agent_id)
        await quota.admit_instance(store, d.agent_id, d.instance_id)
    with contextlib.suppress(UnknownInstance):
        existing = await store.get(d.instance_id)
        if existing.source == SOURCE_FILE:
            raise DeclaredInstance(d.instance_id)
        if existing.descriptor.agent_id != d.agent_id and not caller.is_admin:
            raise forbidden(
                f"instance {d.instance_id!r} belongs to agent {existing.descriptor.agent_id!r}"
            )
    if d.endpoint is not None:
        policy: EndpointPolicy = request.app.state.endpoints
        await policy.check(d.endpoint)


def within_token(d: AgentDescriptor, caller: Principal) -> None:
    """403 unless ``d``'s capabilities are among those ``caller``'s token states (when it
    states any) and its priority is in the token's range (default 0 to 0): an agent token
    cannot capture other agents' tasks by claiming their capability or outranking them."""
    if caller.caps is not None:
        extra = [c for c in d.capabilities if c not in caller.caps]
        if extra:
            raise forbidden(
                trim(
                    f"your token may register {', '.join(caller.caps) or 'no capability'};"
                    f" not {', '.join(extra)}",
                    300,
                )
            )
    low, high = caller.priority
    if not low <= d.priority <= high:
        raise forbidden(
            f"priority {d.priority} is outside your token's range {low} to {high}"
            " (`mesh token issue --agent NAME --priority N`)"
        )


@router.put("/v1/agents/{instance_id}/heartbeat", response_model=Lease)
async def heartbeat(
    instance_id: str,
    store: Store,
    caller: Writer,
    request: Request,
    body: HeartbeatRequest | None = None,
) -> Lease:
    """Renew the lease; the optional body carries the instance's load (slots in use,
    queue depth, free GPU memory), which the registry shows on its record. Past the agent's
    write rate, 429. (Served by ``beats.HeartbeatPath`` when the request is well formed;
    this route answers the rest.)"""
    load = body.load if body is not None else None
    return await renew(store, instance_id, caller, load, request.app.state.quota)


async def renew(
    store: StoreProtocol,
    instance_id: str,
    caller: Principal,
    load: InstanceLoad | None,
    quota: AgentQuota,
) -> Lease:
    """What every heartbeat passes, on this route and on its fast path (``beats.py``): the
    caller owns the instance, the agent is within its write rate (admin: not bounded), then
    the lease is renewed. A check added here must raise before it changes anything (the
    fast path hands a request that raised to the route, which runs it again to answer the
    error; a refused write takes nothing from the agent's bucket). Raises ``AuthError`` 403,
    ``QuotaExceeded``, ``UnknownInstance``, ``DeclaredInstance``."""
    await may_renew(store, instance_id, caller, quota)
    return await store.heartbeat(instance_id, load)


async def may_renew(
    store: StoreProtocol, instance_id: str, caller: Principal, quota: AgentQuota
) -> None:
    """``renew``'s checks, before the store renews."""
    may_write(caller, quota, instance_id, await store.agent_of(instance_id))


def may_write(caller: Principal, quota: AgentQuota, instance_id: str, agent_id: str) -> None:
    """Whether ``caller`` may renew ``instance_id`` of ``agent_id`` now: its agent's token
    (or admin; else ``AuthError`` 403) within the agent's write rate (else ``QuotaExceeded``;
    admin: not bounded). The heartbeat fast path hands it to ``EmbeddedStore.heartbeat_json``,
    which calls it with the instance's agent before it changes anything."""
    if not caller.may_act_as_agent(agent_id):
        raise forbidden(
            f"instance {trim(instance_id, 100)!r} belongs to agent {agent_id!r};"
            f" your token is {caller.scope}"
        )
    if not caller.is_admin:
        quota.write(agent_id)


@router.delete("/v1/agents/{instance_id}", status_code=204)
async def deregister(instance_id: str, store: Store, caller: Writer) -> Response:
    record = await _owned(store, instance_id, caller)
    if record.source == SOURCE_FILE:
        raise DeclaredInstance(instance_id)
    await store.deregister(instance_id)
    return Response(status_code=204)


@router.get("/v1/agents/{instance_id}", response_model=AgentRecord)
async def get_agent(instance_id: str, store: Store, _: Reader) -> Response:
    record = await store.get(instance_id)
    return Response(record.model_dump_json(), media_type="application/json")


@router.get("/v1/agents", response_model=list[AgentRecord])
async def list_agents(
    request: Request,
    store: Store,
    _: Reader,
    blocking: Annotated[Blocking, Depends(_blocking)],
    capability: Annotated[Capability | None, Query()] = None,
    tag: Annotated[str | None, Query(min_length=1)] = None,
    agent_id: Annotated[str | None, Query(min_length=1)] = None,
    healthy: Annotated[bool | None, Query()] = None,
) -> Response:
    # (A plain list, no blocking query, is answered by ``reads.ListPath`` ahead of the
    # stack; this route answers the rest.)
    # The index is read before the list, so a watcher never holds an index newer than the
    # data it saw: at worst its next blocking query returns at once.
    index = await _current_index(request, store, blocking)
    if _unchanged(request, index):
        return _read(index, None)  # not even listed
    return _read(index, await store.list_json(AgentFilter(capability, tag, agent_id, healthy)))


@router.get("/v1/changes", response_model=RegistryChanges)
async def changes(
    request: Request,
    store: Store,
    _: Reader,
    blocking: Annotated[Blocking, Depends(_blocking)],
) -> Response:
    """The watch: blocks while the registry index equals ``index`` (as ``GET /v1/agents``
    does), then answers what changed after it: the records registered or changed since,
    and the ids removed. ``full`` (the whole registry, to replace what the reader had) when
    discovery no longer knows the changes since ``index`` (too old, or it restarted) or no
    ``index`` was given. 304 to an ``If-None-Match`` naming the current index."""
    index = await _current_index(request, store, blocking)
    if _unchanged(request, index):
        return _read(index, None)
    since = blocking.index if blocking.index is not None else -1
    return _read(index, await store.changes_json(since))


@router.get("/v1/manifest", response_model=CapabilitiesManifest)
async def manifest(
    request: Request,
    store: Store,
    _: Reader,
    blocking: Annotated[Blocking, Depends(_blocking)],
    healthy: Annotated[bool, Query()] = True,
) -> Response:
    index = await _current_index(request, store, blocking)
    if _unchanged(request, index):
        return _read(index, None)
    records = await store.list(AgentFilter(healthy=True) if healthy else None)
    return _read(index, build_manifest(records, index).model_dump_json())


def _field(err: Any) -> str:
    loc = tuple(err.get("loc", ()))
    if err.get("type") == "json_invalid" or len(loc) < 2:
        return str(loc[0]) if loc else "request"
    return ".".join(str(p) for p in loc[1:])


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Map registry errors and bad input to JSON answers."""

    async def unknown(_: Request, exc: Exception) -> JSONResponse:
        return _detail(404, trim(str(exc), 300))

    async def declared(_: Request, exc: Exception) -> JSONResponse:
        return _detail(409, trim(str(exc), 300))

    async def over_quota(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QuotaExceeded)
        return JSONResponse(
            {"detail": trim(str(exc), 300), "error": "quota_exceeded"},
            status_code=429,
            headers={"Retry-After": retry_after_header(exc.retry_after)},
        )

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return _detail(503, f"registry store unavailable: {exc}")

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Only loc/msg/type, trimmed: pydantic's ``ctx`` may hold exception objects that are
        # not JSON, and a message may quote a megabyte of input.
        raw = exc.errors()
        errors = [
            {**trimmed, "field": trim(_field(err), 100)}
            for err, trimmed in zip(raw, validation_errors(raw, with_input=False), strict=False)
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _detail(500, "internal error")

    app.add_exception_handler(UnknownInstance, unknown)
    app.add_exception_handler(DeclaredInstance, declared)
    app.add_exception_handler(StoreUnavailable, unavailable)
    app.add_exception_handler(QuotaExceeded, over_quota)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)
