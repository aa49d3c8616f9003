"""The registry store conformance suite: what every discovery store backend must do.

Subclass ``RegistryStoreConformance`` in a test module, set the three names the suite cannot
import (the store package's filter type and its two errors) and override the ``backend``
fixture::

    from mesh_discovery import AgentFilter, DeclaredInstance, UnknownInstance
    from mesh_testkit.conformance.registry_store import RegistryBackend, RegistryStoreConformance

    class TestMyStore(RegistryStoreConformance):
        agent_filter = AgentFilter
        unknown_instance = UnknownInstance
        declared_instance = DeclaredInstance

        @pytest.fixture
        def backend(self, tmp_path):
            return RegistryBackend(make=lambda: MyStore(tmp_path / "reg"), lapse=...)

The suite opens the store, re-opens it over the same state once (persistence), and closes it.
It calls only the store's public methods (the ``RegistryStoreLike`` protocol) and builds
descriptors with ``mesh_contracts``.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pytest
import pytest_asyncio

from mesh_contracts import AgentDescriptor, AgentRecord, HealthStatus, Lease

__all__ = [
    "RegistryBackend",
    "RegistryHarness",
    "RegistryStoreConformance",
    "RegistryStoreLike",
    "descriptor",
    "static_descriptor",
]

TTL = 1.0
"""Short leases, because a real-clock backend has to wait the lease time out."""

_STORE_TYPES = ("agent_filter", "unknown_instance", "declared_instance")


class RegistryStoreLike(Protocol):
    """The public methods of a discovery store that the suite calls (``mesh_discovery.Store``)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def register(self, descriptor: AgentDescriptor, ttl_seconds: float) -> Lease: ...

    async def declare(self, descriptors: Iterable[AgentDescriptor]) -> None: ...

    async def heartbeat(self, instance_id: str) -> Lease: ...

    async def deregister(self, instance_id: str) -> None: ...

    async def get(self, instance_id: str) -> AgentRecord: ...

    async def list(self, filters: Any = None) -> builtins.list[AgentRecord]: ...

    async def index(self) -> int: ...

    async def wait_for_change(self, index: int, timeout: float) -> int: ...  # noqa: ASYNC109


@dataclass(frozen=True)
class RegistryBackend:
    """How to make the store under test and how to make its lease time pass.

    ``make`` returns a new, unopened store over the same state every call (the suite calls it
    again to check a re-open keeps registrations). ``lapse(store, seconds)`` makes ``seconds`` of
    lease time pass for the open ``store``: advance a fake clock and sweep, or sleep for a
    real-clock backend. ``reaps_on_our_schedule`` is False for a backend that reaps long-critical
    instances on its own clock (Consul); the reaping check is then skipped. ``cleanup`` runs on
    the last open store before it is closed (e.g. deregister what a shared backend kept).
    """

    make: Callable[[], RegistryStoreLike]
    lapse: Callable[[RegistryStoreLike, float], Awaitable[None]]
    reaps_on_our_schedule: bool = True
    cleanup: Callable[[RegistryStoreLike], Awaitable[None]] | None = None


class RegistryHarness:
    """The open store under test, with the means to make lease time pass and to re-open it."""

    def __init__(self, backend: RegistryBackend) -> None:
        self.backend = backend
        self.store = backend.make()

    async def lapse(self, seconds: float) -> None:
        await self.backend.lapse(self.store, seconds)

    async def reopen(self) -> RegistryStoreLike:
        """Close the store and open a new one over the same state; it becomes ``self.store``."""
        await self.store.close()
        self.store = self.backend.make()
        await self.store.open()
        return self.store


def descriptor(
    instance_id: str = "writer-1",
    *,
    agent_id: str = "writer",
    capabilities: tuple[str, ...] = ("text_generation",),
    tags: tuple[str, ...] = (),
    **fields: Any,
) -> AgentDescriptor:
    """A streaming worker's descriptor; ``fields`` override any other field."""
    return AgentDescriptor.model_validate(
        {
            "agent_id": agent_id,
            "instance_id": instance_id,
            "endpoint": "http://127.0.0.1:8001",
            "capabilities": list(capabilities),
            "streaming_mode": "dynamic_events",
            "tags": list(tags),
            **fields,
        }
    )


def static_descriptor(agent_id: str = "facts", answer: str = "Paris.") -> AgentDescriptor:
    """A declared static agent: no process, no endpoint, a fixed answer."""
    return AgentDescriptor.model_validate(
        {
            "agent_id": agent_id,
            "capabilities": ["search"],
            "streaming_mode": "static",
            "endpoint": None,
            "invoke_path": None,
            "static_response": answer,
        }
    )


async def _eventually(check: Callable[[], Awaitable[bool]], deadline_s: float = 10.0) -> None:
    """Await ``check()`` until it is true; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {deadline_s}s")
        await asyncio.sleep(0.05)


async def _status(store: RegistryStoreLike, instance_id: str) -> HealthStatus:
    return (await store.get(instance_id)).status


async def _until_critical(harness: RegistryHarness, instance_id: str) -> None:
    async def lapsed() -> bool:
        return await _status(harness.store, instance_id) is HealthStatus.CRITICAL

    await _eventually(lapsed)


@pytest.mark.asyncio
class RegistryStoreConformance:
    """Every registry store backend passes these tests. Override ``backend``; set the types.

    ``agent_filter`` builds the store's filter from keywords (``capability``, ``tag``,
    ``agent_id``, ``healthy``); ``unknown_instance`` is raised by get/heartbeat/deregister of an
    id nobody registered; ``declared_instance`` by a heartbeat of a file-declared agent.
    """

    agent_filter: ClassVar[Callable[..., Any]]
    unknown_instance: ClassVar[type[Exception]]
    declared_instance: ClassVar[type[Exception]]

    @pytest.fixture
    def backend(self) -> RegistryBackend:
        raise NotImplementedError(
            f"{type(self).__name__} must override the `backend` fixture of RegistryStoreConformance"
        )

    @pytest_asyncio.fixture
    async def harness(self, backend: RegistryBackend) -> AsyncIterator[RegistryHarness]:
        unset = [n for n in _STORE_TYPES if not hasattr(type(self), n)]
        if unset:
            raise TypeError(f"{type(self).__name__} must set {', '.join(unset)}")
        harness = RegistryHarness(backend)
        await harness.store.open()
        try:
            yield harness
        finally:
            if backend.cleanup is not None:
                await backend.cleanup(harness.store)
            await harness.store.close()

    async def _ids(self, store: RegistryStoreLike, **filters: Any) -> list[str]:
        keep = type(self).agent_filter(**filters)
        return [r.descriptor.instance_id for r in await store.list(keep)]

    async def test_register_is_an_idempotent_upsert_by_instance_id(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.register(descriptor("w-1", description="first"), TTL)
        lease = await store.register(descriptor("w-1", description="second"), TTL)

        records = await store.list()
        assert [r.descriptor.instance_id for r in records] == ["w-1"]
        assert records[0].descriptor.description == "second"
        assert lease.instance_id == "w-1"
        assert lease.expires_at > records[0].registered_at
        assert lease.index == await store.index()

    async def test_reregistering_unchanged_does_not_bump_the_index(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.register(descriptor("w-1"), 30)
        before = await store.index()
        await store.register(descriptor("w-1"), 30)
        assert await store.index() == before

    async def test_register_and_deregister_bump_the_index(self, harness: RegistryHarness) -> None:
        store = harness.store
        start = await store.index()
        await store.register(descriptor("w-1"), 30)
        registered = await store.index()
        await store.deregister("w-1")
        assert start < registered < await store.index()
        with pytest.raises(self.unknown_instance):
            await store.get("w-1")

    async def test_lapsed_lease_is_critical_and_left_out_of_healthy_results(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.register(descriptor("w-1"), TTL)
        await store.register(descriptor("w-2"), 3600)
        before = await store.index()

        await harness.lapse(TTL + 0.5)

        await _until_critical(harness, "w-1")
        assert await store.index() > before
        assert await self._ids(store, healthy=True) == ["w-2"]
        assert await self._ids(store, healthy=False) == ["w-1"]

    async def test_heartbeat_revives_a_critical_instance_and_bumps_the_index(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.register(descriptor("w-1"), TTL)
        await harness.lapse(TTL + 0.5)
        await _until_critical(harness, "w-1")
        critical_index = await store.index()

        lease = await store.heartbeat("w-1")

        async def revived() -> bool:
            return await _status(store, "w-1") is HealthStatus.PASSING

        await _eventually(revived)
        assert await store.index() > critical_index
        assert lease.ttl_seconds == TTL

    async def test_heartbeat_of_a_passing_instance_extends_the_lease_without_bumping_the_index(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        first = await store.register(descriptor("w-1"), 30)
        before = await store.index()
        await harness.lapse(0.2)

        lease = await store.heartbeat("w-1")

        assert lease.expires_at > first.expires_at
        assert await store.index() == before
        assert await _status(store, "w-1") is HealthStatus.PASSING

    async def test_long_critical_instance_is_reaped(self, harness: RegistryHarness) -> None:
        if not harness.backend.reaps_on_our_schedule:
            pytest.skip("this backend reaps on its own schedule (Consul: 1 minute at least)")
        store = harness.store
        await store.register(descriptor("w-1"), TTL)
        await harness.lapse(TTL + 1)
        assert await _status(store, "w-1") is HealthStatus.CRITICAL
        critical_index = await store.index()

        await harness.lapse(60)

        assert await store.list() == []
        assert await store.index() > critical_index
        with pytest.raises(self.unknown_instance):
            await store.heartbeat("w-1")

    async def test_filters_select_by_capability_tag_agent_and_health(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.register(
            descriptor("w-1", tags=("gpu",), capabilities=("text_generation", "summarization")),
            3600,
        )
        await store.register(descriptor("w-2", tags=("cpu",)), TTL)
        await store.register(
            descriptor("a-1", agent_id="analyst", capabilities=("data_analysis",)), 3600
        )
        await harness.lapse(TTL + 0.5)
        await _until_critical(harness, "w-2")

        assert await self._ids(store) == ["a-1", "w-1", "w-2"]
        assert await self._ids(store, capability="text_generation") == ["w-1", "w-2"]
        assert await self._ids(store, capability="summarization") == ["w-1"]
        assert await self._ids(store, capability="translation") == []
        assert await self._ids(store, tag="gpu") == ["w-1"]
        assert await self._ids(store, agent_id="analyst") == ["a-1"]
        assert await self._ids(store, capability="text_generation", healthy=True) == ["w-1"]
        assert await self._ids(store, healthy=False) == ["w-2"]

    async def test_unknown_instances_raise_unknown_instance(self, harness: RegistryHarness) -> None:
        store = harness.store
        with pytest.raises(self.unknown_instance):
            await store.get("nobody")
        with pytest.raises(self.unknown_instance):
            await store.heartbeat("nobody")
        with pytest.raises(self.unknown_instance):
            await store.deregister("nobody")

    async def test_wait_for_change_wakes_on_a_register(self, harness: RegistryHarness) -> None:
        store = harness.store
        index = await store.index()
        waiter = asyncio.create_task(store.wait_for_change(index, 60))
        await asyncio.sleep(0)  # one turn of the loop: the waiter starts and blocks
        assert not waiter.done()
        await store.register(descriptor("w-1"), 30)
        assert await asyncio.wait_for(waiter, 10) > index

    async def test_wait_for_change_returns_the_unchanged_index_when_the_wait_elapses(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.register(descriptor("w-1"), 30)
        index = await store.index()
        assert await asyncio.wait_for(store.wait_for_change(index, 0.1), 10) == index

    async def test_wait_for_change_returns_at_once_for_a_stale_index(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        before = await store.index()
        await store.register(descriptor("w-1"), 30)
        # A 60s wait that must not be waited out: the caller's index is already stale.
        assert await asyncio.wait_for(store.wait_for_change(before, 60), 10) == await store.index()

    async def test_registrations_and_index_survive_a_reopen(self, harness: RegistryHarness) -> None:
        await harness.store.register(descriptor("w-1", description="kept"), 3600)
        index = await harness.store.index()

        store = await harness.reopen()

        record = await store.get("w-1")
        assert record.descriptor.description == "kept"
        assert record.status is HealthStatus.PASSING
        assert await store.index() == index

    async def test_declared_agents_never_expire_and_hold_no_lease(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.declare([static_descriptor("facts"), static_descriptor("capitals")])
        await harness.lapse(TTL + 0.5)

        record = await store.get("facts")
        assert record.status is HealthStatus.PASSING
        assert record.source == "file"
        assert record.lease_expires_at is None
        with pytest.raises(self.declared_instance):
            await store.heartbeat("facts")

    async def test_declaring_again_replaces_the_declared_set(
        self, harness: RegistryHarness
    ) -> None:
        store = harness.store
        await store.declare([static_descriptor("facts"), static_descriptor("capitals")])
        before = await store.index()

        await store.declare([static_descriptor("facts", answer="Rome.")])

        records = await store.list()
        assert [r.descriptor.instance_id for r in records] == ["facts"]
        assert records[0].descriptor.static_response == "Rome."
        assert await store.index() > before
        unchanged = await store.index()
        await store.declare([static_descriptor("facts", answer="Rome.")])
        assert await store.index() == unchanged
