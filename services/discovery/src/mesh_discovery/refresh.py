"""Keeping the leases of agents that hold no process of ours (A2A agents, MCP servers).

Discovery re-reads each such agent on a schedule (``DISCOVERY_A2A_CHECK_SECONDS``): an
answer renews its lease or replaces its descriptor, silence lets the lease lapse. The A2A
card checker (``a2a.py``) and the MCP tool checker (``mcp.py``) each say how to re-read one
agent; the schedule, the bookkeeping in the store and the background task are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from mesh_contracts import AgentDescriptor
from mesh_discovery.registry import Store, UnknownInstance
from mesh_discovery.settings import Settings

log = logging.getLogger(__name__)


def lease_ttl(settings: Settings, asked: float | None = None) -> float:
    """An external agent's lease: what its registration asked for, else three check periods
    (a lease survives two missed checks)."""
    return asked or settings.a2a_check_seconds * 3


async def store_new(store: Store, d: AgentDescriptor, ttl: float) -> dict[str, Any]:
    """Store a newly registered agent; the route's answer (its lease and descriptor)."""
    lease = await store.register(d, ttl)
    return {"lease": lease.model_dump(mode="json"), "descriptor": d.model_dump(mode="json")}


async def check_all(
    store: Store,
    kept: Callable[[AgentDescriptor], bool],
    check: Callable[[AgentDescriptor], Awaitable[bool]],
) -> int:
    """Re-read every registered agent ``kept`` selects, all at once; how many answered."""
    records = [r for r in await store.list() if kept(r.descriptor)]
    return sum(await asyncio.gather(*(check(r.descriptor) for r in records)))


async def keep(store: Store, stored: AgentDescriptor, fresh: AgentDescriptor, ttl: float) -> bool:
    """An agent answered: the same descriptor renews its lease; a changed one replaces it (a
    new ``instance_id`` replaces the old instance). False when it was deregistered meanwhile
    (it stays gone)."""
    try:
        if fresh == stored:
            await store.heartbeat(stored.instance_id)
            return True
        if fresh.instance_id != stored.instance_id:
            await store.deregister(stored.instance_id)
        await store.register(fresh, ttl)
    except UnknownInstance:
        return False
    return True


async def every(seconds: float, job: Callable[[], Awaitable[object]], what: str) -> None:
    """Run ``job`` every ``seconds`` until cancelled; a failed round is logged, not fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("%s failed", what)


@contextlib.asynccontextmanager
async def in_background(job: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``job`` as a task for the lifetime of the block (a lifespan's), then cancel it."""
    task = asyncio.create_task(job, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
