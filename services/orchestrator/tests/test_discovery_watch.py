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


class ConditionalDiscovery:
    """``GET /v1/agents`` as discovery answers it: 304 to ``If-None-Match`` naming the
    current index's tag, else the records; each request is kept."""

    def __init__(self, records: list[AgentRecord], index: int) -> None:
        self.records, self.index = records, index
        self.requests: list[httpx.Request] = []
        self.down = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("refused")
        headers = {"X-Mesh-Index": str(self.index), "ETag": f'"{self.index}"'}
        if request.headers.get("if-none-match") == f'"{self.index}"':
            return httpx.Response(304, headers=headers)
        body = [r.model_dump(mode="json") for r in self.records]
        return httpx.Response(200, json=body, headers=headers)


async def test_a_runs_read_is_a_conditional_get_that_takes_a_newer_registry_only() -> None:
    discovery = ConditionalDiscovery([record("writer")], index=4)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http)
        assert await cache.refresh()  # the start-up read: unconditional
        assert "if-none-match" not in discovery.requests[-1].headers

        assert (
            await cache.sync(1.0, {"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"})
            == "current"
        )
        sent = discovery.requests[-1]
        assert sent.headers["if-none-match"] == '"4"' and "index" not in sent.url.params
        assert sent.headers["traceparent"].startswith("00-abab")  # the run's trace context

        discovery.records, discovery.index = [record("writer"), record("analyst")], 5
        assert await cache.sync(1.0) == "changed"
        assert (cache.index, [d.agent_id for d in cache.healthy()]) == (5, ["writer", "analyst"])

        # An answer older than the cache (a read crossing the watch's newer one) is dropped.
        discovery.records, discovery.index = [record("writer")], 3
        assert await cache.sync(1.0) == "current"
        assert cache.index == 5 and len(cache.healthy()) == 2

        # A failed read leaves the cache, and reachability (the watch's call), as they were.
        discovery.down = True
        assert await cache.sync(1.0) == "unreachable"
        assert cache.reachable and cache.index == 5
        # Once the watch knows discovery is down, runs do not pay for a read.
        cache.reachable = False
        tried = len(discovery.requests)
        assert await cache.sync(1.0) == "skipped"
        assert len(discovery.requests) == tried
        assert dict(cache.reads) == {"current": 2, "changed": 1, "unreachable": 1, "skipped": 1}


async def test_the_watch_sends_the_cached_tag_and_keeps_the_cache_on_304() -> None:
    discovery = ConditionalDiscovery([record("writer")], index=9)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http)
        assert await cache.refresh()
        changed = cache.changed
        assert await cache.refresh(index=9)  # a blocking query whose wait elapsed
        assert discovery.requests[-1].headers["if-none-match"] == '"9"'
        assert cache.changed is changed and not changed.is_set()  # nothing applied
        assert [d.agent_id for d in cache.healthy()] == ["writer"]


class ChangingDiscovery:
    """Discovery as the watch sees it: ``GET /v1/agents`` answers the whole list at
    ``index``; ``GET /v1/changes?index=N`` answers the next queued answer (or 404 when
    ``deltas`` is False, as a discovery from before the route does)."""

    def __init__(self, records: list[AgentRecord], index: int, *, deltas: bool = True) -> None:
        self.records, self.index, self.deltas = records, index, deltas
        self.answers: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.paths: list[str] = []
        self.listed_twice = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.paths.count("/v1/agents") == 2:
            self.listed_twice.set()
        headers = {"X-Mesh-Index": str(self.index)}
        if request.url.path == "/v1/changes":
            if not self.deltas:
                return httpx.Response(404, json={"detail": "Not Found"})
            body = await self.answers.get()
            return httpx.Response(200, json=body, headers=headers)
        if "index" in request.url.params:
            await asyncio.Event().wait()
        body_list = [r.model_dump(mode="json") for r in self.records]
        return httpx.Response(200, json=body_list, headers=headers)


async def test_the_watch_applies_upserts_and_removals_and_takes_a_full_answer_whole() -> None:
    discovery = ChangingDiscovery([record("analyst"), record("writer")], index=3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http, retry_seconds=0.01)
        watch = asyncio.create_task(cache.watch())
        async with asyncio.timeout(5):
            while not cache.loaded:
                changed = cache.changed
                await changed.wait()
            assert [d.agent_id for d in cache.healthy()] == ["analyst", "writer"]

            changed = cache.changed
            upsert = record("lookup").model_dump(mode="json")
            await discovery.answers.put(
                {"index": 5, "full": False, "upserts": [upsert], "removals": ["writer"]}
            )
            await changed.wait()
            assert [d.agent_id for d in cache.healthy()] == ["analyst", "lookup"]
            assert cache.index == 5

            changed = cache.changed
            stale = record("stale").model_dump(mode="json")
            await discovery.answers.put({"index": 4, "full": True, "upserts": [stale]})
            whole = record("coder").model_dump(mode="json")
            await discovery.answers.put({"index": 9, "full": True, "upserts": [whole]})
            await changed.wait()
        assert [d.agent_id for d in cache.healthy()] == ["coder"]  # the older one dropped
        assert cache.index == 9 and cache.status == "ok"
        assert discovery.paths[0] == "/v1/agents" and set(discovery.paths[1:]) == {"/v1/changes"}
        watch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch


async def test_a_discovery_without_the_changes_route_is_watched_with_whole_lists() -> None:
    discovery = ChangingDiscovery([record("writer")], index=2, deltas=False)
    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as http:
        cache = DiscoveryClient("http://discovery", http, retry_seconds=0.01)
        watch = asyncio.create_task(cache.watch())
        async with asyncio.timeout(5):
            await discovery.listed_twice.wait()  # the start, then a blocking list
        assert not cache.deltas and cache.reachable
        assert discovery.paths == ["/v1/agents", "/v1/changes", "/v1/agents"]
        watch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch
