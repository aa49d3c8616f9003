"""The registry store conformance suite: every Store backend must pass all of it.

Parametrized over the embedded SQLite store and the Consul store. The Consul run needs a
Consul agent at DISCOVERY_CONSUL_URL (default http://127.0.0.1:8500) and is skipped, with
that reason, when none answers.
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_contracts import HealthStatus
from mesh_discovery import AgentFilter, DeclaredInstance, EmbeddedStore, Store, UnknownInstance

CONSUL_URL = os.environ.get("DISCOVERY_CONSUL_URL", "http://127.0.0.1:8500")
TTL = 1.0  # the Consul run needs real lease time to pass, so keep leases short


@functools.cache
def _consul_reachable() -> bool:
    try:
        return httpx.get(f"{CONSUL_URL}/v1/status/leader", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Harness:
    """One store under test plus the means to make lease time pass and to re-open it."""

    store: Store
    lapse: Callable[[float], Awaitable[None]]
    reopen: Callable[[], Awaitable[Store]]
    reaps_on_our_schedule: bool


async def eventually(check: Callable[[], Awaitable[bool]], deadline_s: float = 10.0) -> None:
    """Await ``check()`` until it is true; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {deadline_s}s")
        await asyncio.sleep(0.05)


@pytest.fixture(params=["embedded", "consul"])
async def harness(request: Any, tmp_path: Path, clock: Any) -> AsyncIterator[Harness]:
    opened: list[Store] = []
    if request.param == "embedded":

        def make() -> Store:
            return EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)

        async def lapse(seconds: float) -> None:
            clock.advance(seconds)
            await opened[-1].sweep()

        reaps = True
    else:
        if not _consul_reachable():
            pytest.skip(f"Consul is not reachable at {CONSUL_URL} (set DISCOVERY_CONSUL_URL)")
        from mesh_discovery.consul_store import ConsulStore

        suffix = uuid.uuid4().hex[:12]

        def make() -> Store:
            return ConsulStore(
                CONSUL_URL, service=f"mesh-test-{suffix}", kv_prefix=f"mesh-test/{suffix}"
            )

        async def lapse(seconds: float) -> None:
            # A real-clock backend: the lease time itself has to pass.
            await asyncio.sleep(seconds)

        # Consul reaps on its own schedule (DeregisterCriticalServiceAfter, 1m at least).
        reaps = False

    async def reopen() -> Store:
        await opened[-1].close()
        store = make()
        await store.open()
        opened.append(store)
        return store

    first = make()
    await first.open()
    opened.append(first)
    yield Harness(first, lapse, reopen, reaps)
    last = opened[-1]
    if request.param == "consul":
        for record in await last.list():
            await last.deregister(record.descriptor.instance_id)
    await last.close()


async def _status(store: Store, instance_id: str) -> HealthStatus:
    return (await store.get(instance_id)).status


async def test_register_is_an_idempotent_upsert_by_instance_id(harness: Harness, make_descriptor):
    store = harness.store
    await store.register(make_descriptor("w-1", description="first"), TTL)
    lease = await store.register(make_descriptor("w-1", description="second"), TTL)

    records = await store.list()
    assert [r.descriptor.instance_id for r in records] == ["w-1"]
    assert records[0].descriptor.description == "second"
    assert lease.instance_id == "w-1"
    assert lease.expires_at > records[0].registered_at
    assert lease.index == await store.index()


async def test_reregistering_unchanged_does_not_bump_the_index(harness: Harness, make_descriptor):
    store = harness.store
    await store.register(make_descriptor("w-1"), 30)
    before = await store.index()
    await store.register(make_descriptor("w-1"), 30)
    assert await store.index() == before


async def test_register_and_deregister_bump_the_index(harness: Harness, make_descriptor):
    store = harness.store
    start = await store.index()
    await store.register(make_descriptor("w-1"), 30)
    registered = await store.index()
    await store.deregister("w-1")
    assert start < registered < await store.index()
    with pytest.raises(UnknownInstance):
        await store.get("w-1")


async def test_lapsed_lease_is_critical_and_left_out_of_healthy_results(
    harness: Harness, make_descriptor
):
    store = harness.store
    await store.register(make_descriptor("w-1"), TTL)
    await store.register(make_descriptor("w-2"), 3600)
    before = await store.index()

    await harness.lapse(TTL + 0.5)

    async def lapsed() -> bool:
        return await _status(store, "w-1") is HealthStatus.CRITICAL

    await eventually(lapsed)
    assert await store.index() > before
    healthy = await store.list(AgentFilter(healthy=True))
    assert [r.descriptor.instance_id for r in healthy] == ["w-2"]
    critical = await store.list(AgentFilter(healthy=False))
    assert [r.descriptor.instance_id for r in critical] == ["w-1"]


async def test_heartbeat_revives_a_critical_instance_and_bumps_the_index(
    harness: Harness, make_descriptor
):
    store = harness.store
    await store.register(make_descriptor("w-1"), TTL)
    await harness.lapse(TTL + 0.5)

    async def lapsed() -> bool:
        return await _status(store, "w-1") is HealthStatus.CRITICAL

    await eventually(lapsed)
    critical_index = await store.index()

    lease = await store.heartbeat("w-1")

    async def revived() -> bool:
        return await _status(store, "w-1") is HealthStatus.PASSING

    await eventually(revived)
    assert await store.index() > critical_index
    assert lease.ttl_seconds == TTL


async def test_heartbeat_of_a_passing_instance_extends_the_lease_without_bumping_the_index(
    harness: Harness, make_descriptor
):
    store = harness.store
    first = await store.register(make_descriptor("w-1"), 30)
    before = await store.index()
    await harness.lapse(0.2)

    lease = await store.heartbeat("w-1")

    assert lease.expires_at > first.expires_at
    assert await store.index() == before
    assert await _status(store, "w-1") is HealthStatus.PASSING


async def test_long_critical_instance_is_reaped(harness: Harness, make_descriptor):
    if not harness.reaps_on_our_schedule:
        pytest.skip("this backend reaps on its own schedule (Consul: 1 minute at least)")
    store = harness.store
    await store.register(make_descriptor("w-1"), TTL)
    await harness.lapse(TTL + 1)
    assert await _status(store, "w-1") is HealthStatus.CRITICAL
    critical_index = await store.index()

    await harness.lapse(60)

    assert await store.list() == []
    assert await store.index() > critical_index
    with pytest.raises(UnknownInstance):
        await store.heartbeat("w-1")


async def test_filters_select_by_capability_tag_agent_and_health(harness: Harness, make_descriptor):
    store = harness.store
    await store.register(
        make_descriptor("w-1", tags=("gpu",), capabilities=("text_generation", "summarization")),
        3600,
    )
    await store.register(make_descriptor("w-2", tags=("cpu",)), TTL)
    await store.register(
        make_descriptor("a-1", agent_id="analyst", capabilities=("data_analysis",)), 3600
    )
    await harness.lapse(TTL + 0.5)

    async def lapsed() -> bool:
        return await _status(store, "w-2") is HealthStatus.CRITICAL

    await eventually(lapsed)

    async def ids(**kw: Any) -> list[str]:
        return [r.descriptor.instance_id for r in await store.list(AgentFilter(**kw))]

    assert await ids() == ["a-1", "w-1", "w-2"]
    assert await ids(capability="text_generation") == ["w-1", "w-2"]
    assert await ids(capability="summarization") == ["w-1"]
    assert await ids(capability="translation") == []
    assert await ids(tag="gpu") == ["w-1"]
    assert await ids(agent_id="analyst") == ["a-1"]
    assert await ids(capability="text_generation", healthy=True) == ["w-1"]
    assert await ids(healthy=False) == ["w-2"]


async def test_unknown_instances_raise_unknown_instance(harness: Harness):
    store = harness.store
    with pytest.raises(UnknownInstance):
        await store.get("nobody")
    with pytest.raises(UnknownInstance):
        await store.heartbeat("nobody")
    with pytest.raises(UnknownInstance):
        await store.deregister("nobody")


async def test_wait_for_change_wakes_on_a_register(harness: Harness, make_descriptor):
    store = harness.store
    index = await store.index()
    waiter = asyncio.create_task(store.wait_for_change(index, 60))
    await asyncio.sleep(0)  # one turn of the loop: the waiter starts and blocks
    assert not waiter.done()
    await store.register(make_descriptor("w-1"), 30)
    assert await asyncio.wait_for(waiter, 10) > index


async def test_wait_for_change_returns_the_unchanged_index_when_the_wait_elapses(
    harness: Harness, make_descriptor
):
    store = harness.store
    await store.register(make_descriptor("w-1"), 30)
    index = await store.index()
    assert await asyncio.wait_for(store.wait_for_change(index, 0.1), 10) == index


async def test_wait_for_change_returns_at_once_for_a_stale_index(harness: Harness, make_descriptor):
    store = harness.store
    before = await store.index()
    await store.register(make_descriptor("w-1"), 30)
    # A 60s wait that must not be waited out: the caller's index is already stale.
    assert await asyncio.wait_for(store.wait_for_change(before, 60), 10) == await store.index()


async def test_registrations_and_index_survive_a_reopen(harness: Harness, make_descriptor):
    await harness.store.register(make_descriptor("w-1", description="kept"), 3600)
    index = await harness.store.index()

    store = await harness.reopen()

    record = await store.get("w-1")
    assert record.descriptor.description == "kept"
    assert record.status is HealthStatus.PASSING
    assert await store.index() == index


async def test_declared_agents_never_expire_and_hold_no_lease(harness: Harness, make_static):
    store = harness.store
    await store.declare([make_static("facts"), make_static("capitals")])
    await harness.lapse(TTL + 0.5)

    record = await store.get("facts")
    assert record.status is HealthStatus.PASSING
    assert record.source == "file"
    assert record.lease_expires_at is None
    with pytest.raises(DeclaredInstance):
        await store.heartbeat("facts")


async def test_declaring_again_replaces_the_declared_set(harness: Harness, make_static):
    store = harness.store
    await store.declare([make_static("facts"), make_static("capitals")])
    before = await store.index()

    await store.declare([make_static("facts", answer="Rome.")])

    records = await store.list()
    assert [r.descriptor.instance_id for r in records] == ["facts"]
    assert records[0].descriptor.static_response == "Rome."
    assert await store.index() > before
    unchanged = await store.index()
    await store.declare([make_static("facts", answer="Rome.")])
    assert await store.index() == unchanged
