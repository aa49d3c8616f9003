"""The registry store conformance suite (``mesh_testkit.conformance``) on our two backends.

Parametrized over the embedded SQLite store and the Consul store. The Consul run needs a
Consul agent at DISCOVERY_CONSUL_URL (default http://127.0.0.1:8500) and is skipped, with
that reason, when none answers.
"""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_discovery import AgentFilter, DeclaredInstance, EmbeddedStore, UnknownInstance
from mesh_testkit.conformance.registry_store import (
    RegistryBackend,
    RegistryStoreConformance,
    RegistryStoreLike,
)

CONSUL_URL = os.environ.get("DISCOVERY_CONSUL_URL", "http://127.0.0.1:8500")


@functools.cache
def _consul_reachable() -> bool:
    try:
        return httpx.get(f"{CONSUL_URL}/v1/status/leader", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _embedded(tmp_path: Path, clock: Any) -> RegistryBackend:
    async def lapse(store: RegistryStoreLike, seconds: float) -> None:
        clock.advance(seconds)
        assert isinstance(store, EmbeddedStore)
        await store.sweep()

    return RegistryBackend(
        make=lambda: EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock),
        lapse=lapse,
    )


def _consul() -> RegistryBackend:
    if not _consul_reachable():
        pytest.skip(f"Consul is not reachable at {CONSUL_URL} (set DISCOVERY_CONSUL_URL)")
    from mesh_discovery.consul_store import ConsulStore

    suffix = uuid.uuid4().hex[:12]

    async def lapse(store: RegistryStoreLike, seconds: float) -> None:
        # A real-clock backend: the lease time itself has to pass.
        await asyncio.sleep(seconds)

    async def cleanup(store: RegistryStoreLike) -> None:
        for record in await store.list():
            await store.deregister(record.descriptor.instance_id)

    return RegistryBackend(
        make=lambda: ConsulStore(
            CONSUL_URL, service=f"mesh-test-{suffix}", kv_prefix=f"mesh-test/{suffix}"
        ),
        lapse=lapse,
        # Consul reaps on its own schedule (DeregisterCriticalServiceAfter, 1m at least).
        reaps_on_our_schedule=False,
        cleanup=cleanup,
    )


class TestRegistryStores(RegistryStoreConformance):
    agent_filter = AgentFilter
    unknown_instance = UnknownInstance
    declared_instance = DeclaredInstance

    @pytest.fixture(params=["embedded", "consul"])
    def backend(
        self, request: pytest.FixtureRequest, tmp_path: Path, clock: Any
    ) -> RegistryBackend:
        return _embedded(tmp_path, clock) if request.param == "embedded" else _consul()
