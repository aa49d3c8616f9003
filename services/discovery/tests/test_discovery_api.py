"""The HTTP API in process (httpx over ASGI with the lifespan running): no streaming needed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_discovery import EmbeddedStore, Settings, create_app


@pytest.fixture
def store(tmp_path: Path, clock) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)


@pytest.fixture
async def client(tmp_path: Path, store: EmbeddedStore) -> AsyncIterator[httpx.AsyncClient]:
    # The sweeper is parked (1h interval): tests move the fake clock and reads apply lapses.
    settings = Settings(db_path=store.path, sweep_interval_seconds=3600)
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c


def body(descriptor: Any, ttl: float = 15) -> dict[str, Any]:
    return {"descriptor": descriptor.model_dump(mode="json"), "ttl_seconds": ttl}


def fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {err["field"] for err in response.json()["detail"]}


async def test_health_reports_the_index_and_the_store(client: httpx.AsyncClient):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "index": 0, "store": "embedded"}


async def test_register_returns_a_lease_and_get_returns_the_record(
    client: httpx.AsyncClient, make_descriptor, clock
):
    response = await client.post("/v1/agents", json=body(make_descriptor("w-1"), ttl=10))
    assert response.status_code == 200
    lease = response.json()
    assert lease == {
        "instance_id": "w-1",
        "ttl_seconds": 10.0,
        "expires_at": clock() + 10,
        "index": 1,
    }
    record = (await client.get("/v1/agents/w-1")).json()
    assert record["status"] == "passing"
    assert record["descriptor"]["endpoint"] == "http://127.0.0.1:8001"


async def test_heartbeat_renews_and_delete_removes(
    client: httpx.AsyncClient, make_descriptor, clock
):
    await client.post("/v1/agents", json=body(make_descriptor("w-1"), ttl=10))
    clock.advance(5)
    beat = await client.put("/v1/agents/w-1/heartbeat")
    assert beat.status_code == 200
    assert beat.json()["expires_at"] == clock() + 10

    assert (await client.delete("/v1/agents/w-1")).status_code == 204
    assert (await client.get("/v1/agents/w-1")).status_code == 404


async def test_a_heartbeat_with_a_load_report_shows_on_the_record_and_wakes_watchers(
    client: httpx.AsyncClient, make_descriptor
):
    await client.post("/v1/agents", json=body(make_descriptor("w-1"), ttl=10))
    index = int((await client.get("/v1/agents")).headers["X-Mesh-Index"])
    load = {"slots_in_use": 2, "queue_depth": 1, "max_concurrency": 4}
    assert (await client.put("/v1/agents/w-1/heartbeat", json={"load": load})).status_code == 200
    listed = await client.get("/v1/agents")
    assert listed.json()[0]["load"]["slots_in_use"] == 2
    assert int(listed.headers["X-Mesh-Index"]) == index + 1  # routers learn it by the watch
    await client.put("/v1/agents/w-1/heartbeat", json={"load": load})  # the same load again
    assert int((await client.get("/v1/agents")).headers["X-Mesh-Index"]) == index + 1
    bad = await client.put("/v1/agents/w-1/heartbeat", json={"load": {"slots_in_use": -1}})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/agents/ghost"),
        ("PUT", "/v1/agents/ghost/heartbeat"),
        ("DELETE", "/v1/agents/ghost"),
    ],
)
async def test_unknown_instance_is_a_json_404(client: httpx.AsyncClient, method: str, path: str):
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown instance 'ghost'"}


async def test_malformed_json_is_a_422_naming_the_body(client: httpx.AsyncClient):
    response = await client.post(
        "/v1/agents", content=b'{"descriptor": ', headers={"content-type": "application/json"}
    )
    assert fields(response) == {"body"}


async def test_missing_descriptor_is_a_422_naming_it(client: httpx.AsyncClient):
    assert fields(await client.post("/v1/agents", json={"ttl_seconds": 5})) == {"descriptor"}


async def test_wrong_types_are_422s_naming_each_field(client: httpx.AsyncClient, make_descriptor):
    payload = body(make_descriptor("w-1"))
    payload["ttl_seconds"] = "soon"
    payload["descriptor"]["priority"] = "high"
    assert fields(await client.post("/v1/agents", json=payload)) == {
        "ttl_seconds",
        "descriptor.priority",
    }


async def test_invalid_endpoint_and_capability_are_422s(client: httpx.AsyncClient, make_descriptor):
    payload = body(make_descriptor("w-1"))
    payload["descriptor"]["endpoint"] = "ftp://files"
    payload["descriptor"]["capabilities"] = ["Text Generation"]
    response = await client.post("/v1/agents", json=payload)
    assert fields(response) == {"descriptor.endpoint", "descriptor.capabilities.0"}
    assert "http(s) URL" in response.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("wait=soon", "wait"),
        ("wait=-1s", "wait"),
        ("wait=6m", "wait"),
        ("index=-1", "index"),
        ("index=abc", "index"),
        ("healthy=maybe", "healthy"),
        ("capability=Not-A-Name", "capability"),
    ],
)
async def test_bad_query_parameters_are_422s_naming_them(
    client: httpx.AsyncClient, query: str, field: str
):
    assert fields(await client.get(f"/v1/agents?{query}")) == {field}
    if field != "capability":
        assert fields(await client.get(f"/v1/manifest?{query}")) == {field}


async def test_list_filters_and_reports_the_index_header(
    client: httpx.AsyncClient, make_descriptor, clock
):
    await client.post("/v1/agents", json=body(make_descriptor("w-1", tags=("gpu",)), ttl=5))
    await client.post("/v1/agents", json=body(make_descriptor("w-2"), ttl=60))
    clock.advance(10)

    response = await client.get("/v1/agents?healthy=true&capability=text_generation")
    assert [r["descriptor"]["instance_id"] for r in response.json()] == ["w-2"]
    assert int(response.headers["X-Mesh-Index"]) == (await client.get("/health")).json()["index"]
    tagged = await client.get("/v1/agents", params={"tag": "gpu"})
    assert [(r["descriptor"]["instance_id"], r["status"]) for r in tagged.json()] == [
        ("w-1", "critical")
    ]


async def test_blocking_list_returns_when_another_client_registers(
    client: httpx.AsyncClient, store: EmbeddedStore, make_descriptor, monkeypatch
):
    blocking = asyncio.Event()
    wait_for_change = store.wait_for_change

    async def spy(index: int, timeout: float) -> int:  # noqa: ASYNC109 (the store signature)
        blocking.set()
        return await wait_for_change(index, timeout)

    monkeypatch.setattr(store, "wait_for_change", spy)
    index = int((await client.get("/v1/agents")).headers["X-Mesh-Index"])
    watch = asyncio.create_task(client.get(f"/v1/agents?index={index}&wait=1m"))
    await asyncio.wait_for(blocking.wait(), 10)
    await asyncio.sleep(0)
    assert not watch.done()
    await client.post("/v1/agents", json=body(make_descriptor("w-1")))

    response = await asyncio.wait_for(watch, 10)
    assert int(response.headers["X-Mesh-Index"]) > index
    assert [r["descriptor"]["instance_id"] for r in response.json()] == ["w-1"]


async def test_blocking_list_returns_the_unchanged_index_when_the_wait_elapses(
    client: httpx.AsyncClient, make_descriptor
):
    await client.post("/v1/agents", json=body(make_descriptor("w-1")))
    index = int((await client.get("/v1/agents")).headers["X-Mesh-Index"])
    response = await client.get(f"/v1/agents?index={index}&wait=100ms")
    assert response.status_code == 200
    assert int(response.headers["X-Mesh-Index"]) == index


async def test_a_conditional_read_answers_304_with_no_body_until_the_registry_changes(
    client: httpx.AsyncClient, make_descriptor
):
    await client.post("/v1/agents", json=body(make_descriptor("w-1")))
    first = await client.get("/v1/agents")
    tag = first.headers["ETag"]
    assert tag == '"{}"'.format(first.headers["X-Mesh-Index"])

    same = await client.get("/v1/agents", headers={"If-None-Match": tag})
    assert (same.status_code, same.content) == (304, b"")
    assert (same.headers["ETag"], same.headers["X-Mesh-Index"]) == (
        tag,
        first.headers["X-Mesh-Index"],
    )
    # A list of tags (one weak), and the manifest, by the same rule.
    assert (
        await client.get("/v1/agents", headers={"If-None-Match": f'"0", W/{tag}'})
    ).status_code == 304
    manifest = await client.get("/v1/manifest", headers={"If-None-Match": tag})
    assert manifest.status_code == 304

    await client.post("/v1/agents", json=body(make_descriptor("w-2")))
    changed = await client.get("/v1/agents", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert [r["descriptor"]["instance_id"] for r in changed.json()] == ["w-1", "w-2"]
    # A blocking query with the tag: 304 when the wait elapses with nothing changed.
    tag, index = changed.headers["ETag"], changed.headers["X-Mesh-Index"]
    quiet = await client.get(f"/v1/agents?index={index}&wait=50ms", headers={"If-None-Match": tag})
    assert quiet.status_code == 304


async def test_manifest_groups_logical_agents_by_capability(
    client: httpx.AsyncClient, make_descriptor, clock
):
    both = ("text_generation", "summarization")
    await client.post("/v1/agents", json=body(make_descriptor("w-1", capabilities=both), ttl=60))
    await client.post("/v1/agents", json=body(make_descriptor("w-2", capabilities=both), ttl=60))
    await client.post("/v1/agents", json=body(make_descriptor("w-3"), ttl=5))
    analyst = make_descriptor(
        "a-1", agent_id="analyst", capabilities=("data_analysis",), priority=3
    )
    await client.post("/v1/agents", json=body(analyst, ttl=5))
    clock.advance(10)  # w-3 and a-1 lapse

    healthy = (await client.get("/v1/manifest")).json()
    assert [c["name"] for c in healthy["capabilities"]] == ["summarization", "text_generation"]
    writers = healthy["capabilities"][1]["agents"]
    assert [(a["agent_id"], a["healthy_instances"]) for a in writers] == [("writer", 2)]

    everything = (await client.get("/v1/manifest?healthy=false")).json()
    by_name = {c["name"]: c["agents"] for c in everything["capabilities"]}
    assert [(a["agent_id"], a["healthy_instances"]) for a in by_name["data_analysis"]] == [
        ("analyst", 0)
    ]
    assert by_name["data_analysis"][0]["priority"] == 3
    assert [a["healthy_instances"] for a in by_name["text_generation"]] == [2]
