"""The HTTP API against fake workers and a fake registry served on loopback."""

from __future__ import annotations

from typing import Any

import httpx
from orch_fakes import Mesh, writer_like

from mesh_testkit import read_sse


async def collect(url: str, body: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    out = []
    async with httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body, **kw):
            out.append(msg.json())
            assert str(out[-1]["seq"]) == msg.id
            if out[-1]["type"] == "done":
                break
    return out


async def test_a_query_streams_run_plan_worker_events_result_and_done(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "write a poem about the sea"})
    types = [e["type"] for e in events]
    assert types[0] == "run" and types[1] == "plan"
    assert types[-2:] == ["result", "done"]
    assert [e["data"]["token"] for e in events if e["type"] == "token"] == ["hello", " world"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    running = next(e for e in events if e["type"] == "status")
    assert running["data"]["status"] == "running"
    assert running["agent_id"] == "fakewriter"
    assert events[-1]["data"]["status"] == "completed"
    assert "hello world" in events[-2]["data"]["answer"]
