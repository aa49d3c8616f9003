"""The lease keeping shared by the A2A card checker and the MCP tool checker
(``mesh_discovery.refresh``), on a real embedded store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mesh_contracts import AgentDescriptor
from mesh_discovery import EmbeddedStore
from mesh_discovery.refresh import check_all, every, in_background, keep


def agent(instance_id: str, version: str = "1.0.0", tag: str = "external") -> AgentDescriptor:
    return AgentDescriptor(
        agent_id="trips",
        instance_id=instance_id,
        name="Trips",
        version=version,
        endpoint="http://127.0.0.1:1",
        capabilities=["search"],
        tags=[tag],
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=600)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def ids(store: EmbeddedStore) -> dict[str, str]:
    return {r.descriptor.instance_id: r.descriptor.version for r in await store.list()}


async def test_an_unchanged_answer_renews_a_changed_one_replaces_and_a_moved_one_moves(
    store: EmbeddedStore,
) -> None:
    first = agent("trips-a")
    await store.register(first, 10)
    assert await keep(store, first, agent("trips-a"), 30)
    assert await ids(store) == {"trips-a": "1.0.0"}
    assert await keep(store, first, agent("trips-a", version="2.0.0"), 30)
    assert await ids(store) == {"trips-a": "2.0.0"}
    # the card now names another interface: the old instance goes, the new one is stored
    assert await keep(store, agent("trips-a", version="2.0.0"), agent("trips-b"), 30)
    assert await ids(store) == {"trips-b": "1.0.0"}


async def test_an_agent_deregistered_meanwhile_stays_gone(store: EmbeddedStore) -> None:
    gone = agent("trips-a")
    await store.register(gone, 10)
    await store.deregister("trips-a")
    assert not await keep(store, gone, gone, 30)
    assert await ids(store) == {}


async def test_check_all_reads_only_the_agents_it_keeps_and_counts_the_answers(
    store: EmbeddedStore,
) -> None:
    for iid, tag in (("a", "external"), ("b", "external"), ("c", "mesh")):
        await store.register(agent(iid, tag=tag), 10)
    seen: list[str] = []

    async def check(d: AgentDescriptor) -> bool:
        seen.append(d.instance_id)
        return d.instance_id == "a"

    answered = await check_all(store, lambda d: "external" in d.tags, check)
    assert (answered, sorted(seen)) == (1, ["a", "b"])


async def test_a_failed_round_is_logged_and_the_next_round_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []
    third = asyncio.Event()

    async def job() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the first round breaks")
        if len(rounds) == 3:
            third.set()

    with caplog.at_level(logging.ERROR, logger="mesh_discovery.refresh"):
        async with in_background(every(0.001, job, "test check"), "test-checker"):
            await asyncio.wait_for(third.wait(), timeout=10)
    assert len(rounds) >= 3
    assert "test check failed" in caplog.text
