"""GET /metrics of discovery: registry size by status, registrations, heartbeats, lease
lapses and reaps, parsed as Prometheus text and moving with the registry (fake clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_discovery import EmbeddedStore, Settings, create_app
from mesh_testkit.metrics import Key
from mesh_testkit.metrics import scrape_async as scrape


@pytest.fixture
async def client(tmp_path: Path, clock: Any) -> AsyncIterator[httpx.AsyncClient]:
    store = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)
    app = create_app(Settings(db_path=store.path, sweep_interval_seconds=3600), store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c


def instances(status: str) -> Key:
    return ("mesh_registry_instances", (("status", status),))


def total(name: str) -> Key:
    return (f"mesh_registry_{name}_total", ())


async def test_registry_metrics_follow_registrations_heartbeats_lapses_and_reaps(
    client: httpx.AsyncClient, make_descriptor: Any, clock: Any
) -> None:
    start = await scrape(client)
    assert (start[instances("passing")], start[instances("critical")]) == (0, 0)
    assert start[total("registrations")] == 0 and start[total("lease_lapses")] == 0

    for iid in ("w-1", "w-2"):
        body = {"descriptor": make_descriptor(iid).model_dump(mode="json"), "ttl_seconds": 10}
        assert (await client.post("/v1/agents", json=body)).status_code == 200
    assert (await client.put("/v1/agents/w-1/heartbeat")).status_code == 200
    up = await scrape(client)
    assert up[instances("passing")] == 2
    assert (up[total("registrations")], up[total("heartbeats")]) == (2, 1)

    clock.advance(11)  # w-2's lease ran out; w-1's (renewed at the same instant) too
    lapsed = await scrape(client)
    assert (lapsed[instances("passing")], lapsed[instances("critical")]) == (0, 2)
    assert lapsed[total("lease_lapses")] == 2 and lapsed[total("reaps")] == 0

    clock.advance(61)  # critical past reap_after_seconds
    reaped = await scrape(client)
    assert reaped[instances("critical")] == 0
    assert reaped[total("reaps")] == 2
    route = (("method", "POST"), ("route", "/v1/agents"), ("status", "200"))
    assert reaped[("mesh_http_requests_total", route)] == 2
    beat = (("method", "PUT"), ("route", "/v1/agents/{instance_id}/heartbeat"), ("status", "200"))
    assert reaped[("mesh_http_requests_total", beat)] == 1
