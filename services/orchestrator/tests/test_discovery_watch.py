"""The registry cache's watch: while discovery is down the cached records stay in use and
the watch keeps retrying (with back-off) until discovery answers; it never dies but for
cancellation."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from mesh_contracts import AgentDescriptor, AgentRecord
from mesh_orchestrator.routing.registry import DiscoveryClient


def record(agent_id: str) -> AgentRecord:
    descriptor = AgentDescriptor(agent_id=agent_id, capabilities=["search"], static_response="ok")
    return AgentRecord(descriptor=descriptor, registered_at=0.0, last_heartbeat=0.0)


class FlakyDiscovery:
    """``GET /v1/agents`` that fails with ``error`` until ``up`` is set, then answers
    ``records`` at ``index``; a blocking query (``?index=``) then waits for a change that
    never comes, as a quiet registry does."""

    def __init__(self, error: Exception, records: list[AgentRecord], index: int) -> None:
        self.error, self.records, self.index = error, records, index
        self.up = False
        self.failures = 0
        self.failed_once, self.failed_thrice = asyncio.Event(), asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            self.failures += 1
            self.failed_once.set()
            if self.failures == 3:
                self.failed_thrice.set()
            raise self.error
        if "index" in request.url.params:
            await asyncio.Event().wait()
        body = [r.model_dump(mode="json") for r in self.records]
        return httpx.Response(200, json=body, headers={"X-Mesh-Index": str(self.index)})


async def test_the_cached_registry_stays_in_use_while_discovery_is_down_until_it_answers() -> None:
    discovery = FlakyDiscovery(httpx.ConnectError("refused"), [record("writer")], index=7)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http, retry_seconds=0.01)
        cache.set_records([record("analyst")], 3)  # what discovery said before it went down
        cache.reachable = True
        watch = asyncio.create_task(cache.watch())
        async with asyncio.timeout(5):
            await discovery.failed_thrice.wait()
            assert not watch.done()
            assert [d.agent_id for d in cache.healthy()] == ["analyst"]
            assert cache.status == "unreachable (using cached registry)"

            changed = cache.changed
            discovery.up = True
            await changed.wait()
        assert [d.agent_id for d in cache.healthy()] == ["writer"]
        assert (cache.index, cache.status) == (7, "ok")
        watch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch


async def test_an_unexpected_error_is_logged_and_the_watch_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    discovery = FlakyDiscovery(RuntimeError("a bug"), [record("writer")], index=1)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http, retry_seconds=0.01)
        watch = asyncio.create_task(cache.watch())
        with caplog.at_level(logging.ERROR, logger="mesh_orchestrator.routing.registry"):
            async with asyncio.timeout(5):
                await discovery.failed_thrice.wait()
                assert not watch.done()
                changed = cache.changed
                discovery.up = True
                await changed.wait()
        assert cache.reachable and cache.index == 1
        assert "discovery watch failed; retrying" in caplog.text
        watch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch


async def test_cancelling_the_watch_during_its_back_off_ends_it() -> None:
    discovery = FlakyDiscovery(httpx.ConnectError("refused"), [], index=1)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http, retry_seconds=30.0)
        watch = asyncio.create_task(cache.watch())
        async with asyncio.timeout(5):
            await discovery.failed_once.wait()  # the watch now waits 30 s before its next try
            watch.cancel()
            with pytest.raises(asyncio.CancelledError):
                await watch
        assert discovery.failures == 1
