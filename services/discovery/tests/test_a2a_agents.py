"""A2A agents registered by card URL: the mapping, the refusals, and the card check that
keeps (or lets lapse) their lease. Cards are served by a real uvicorn on loopback; the
registry runs in process with a fake clock and the periodic check parked (tests call it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from mesh_contracts import AgentDescriptor
from mesh_contracts.a2a import descriptor_card
from mesh_discovery import EmbeddedStore, Settings, create_app
from mesh_testkit import free_port, serving


def card(base: str, **over: Any) -> dict[str, Any]:
    body = {
        "name": "Travel Planner",
        "description": "Plans trips.",
        "version": "2.1.0",
        "supportedInterfaces": [
            {"url": base + "/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {
                "id": "itinerary",
                "name": "Itinerary",
                "description": "d",
                "tags": ["text_generation", "travel"],
            },
            {"id": "Find Flights", "name": "Flights", "description": "d", "tags": ["flights"]},
        ],
    }
    return body | over


@pytest.fixture
def card_server() -> Iterator[tuple[str, FastAPI]]:
    """Serves ``app.state.card`` (a dict, raw bytes, or None for a 503)."""
    app = FastAPI()
    app.state.card = None

    @app.get("/.well-known/agent-card.json")
    async def agent_card() -> Response:
        c = app.state.card
        if c is None:
            return JSONResponse({"detail": "down"}, status_code=503)
        if isinstance(c, bytes):
            return Response(c, media_type="application/json")
        return JSONResponse(c)

    with serving(app) as base:
        app.state.card = card(base)
        yield base, app


@pytest.fixture
def store(tmp_path: Path, clock: Any) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=600, clock=clock)


@pytest.fixture
async def discovery(store: EmbeddedStore) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    settings = Settings(
        db_path=store.path,
        sweep_interval_seconds=3600,
        a2a_check_seconds=3600,
        a2a_card_max_bytes=4096,
    )
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c, app


async def test_a_card_becomes_a_descriptor_with_capabilities_from_skill_tags_and_ids(
    card_server: tuple[str, FastAPI], discovery: tuple[httpx.AsyncClient, FastAPI]
) -> None:
    base, _ = card_server
    c, _ = discovery
    r = await c.post("/v1/agents/a2a", json={"card_url": base})
    assert r.status_code == 201, r.text
    d = AgentDescriptor.model_validate(r.json()["descriptor"])
    assert d.agent_id == "travel-planner"
    assert d.capabilities == ["text_generation", "find_flights"]
    assert (d.endpoint, d.stream_path, d.streaming_mode.value) == (base, "/rpc", "dynamic_events")
    assert d.metadata["protocol"] == "a2a" and d.metadata["a2a_url"] == base + "/rpc"
    stored = (await c.get(f"/v1/agents/{d.instance_id}")).json()
    assert stored["status"] == "passing" and stored["descriptor"]["tags"] == ["a2a"]
    assert r.json()["lease"]["ttl_seconds"] == 3 * 3600


async def test_the_card_check_renews_the_lease_and_a_silent_card_turns_critical_then_recovers(
    card_server: tuple[str, FastAPI],
    discovery: tuple[httpx.AsyncClient, FastAPI],
    store: EmbeddedStore,
    clock: Any,
) -> None:
    base, card_app = card_server
    c, app = discovery
    r = await c.post(
        "/v1/agents/a2a", json={"card_url": base, "agent_id": "trips", "ttl_seconds": 10}
    )
    iid = r.json()["lease"]["instance_id"]
    checker = app.state.a2a_cards

    async def status() -> str:
        await store.sweep()
        got: str = (await c.get(f"/v1/agents/{iid}")).json()["status"]
        return got

    clock.advance(8)
    assert await checker.check_once() == 1  # the card answered: the lease is renewed
    clock.advance(8)
    assert await status() == "passing"
    card_app.state.card = None  # the agent goes away
    assert await checker.check_once() == 0
    clock.advance(11)  # past the 10 s lease, well before the reap
    assert await status() == "critical"
    card_app.state.card = card(base, version="2.2.0")  # back, with a new version
    assert await checker.check_once() == 1
    assert await status() == "passing"
    assert (await c.get(f"/v1/agents/{iid}")).json()["descriptor"]["version"] == "2.2.0"


@pytest.mark.parametrize(
    ("served", "status", "says"),
    [
        (b"x" * 5000, 422, "larger than 4096 bytes"),
        (b"<html>", 422, "not an A2A agent card"),
        ("mesh-worker-card", 422, "no JSON-RPC interface (bindings: MESH-WORKER)"),
        ("no-skills", 422, "no skills"),
        (None, 502, "answered 503"),
    ],
)
async def test_unusable_or_unreachable_cards_are_refused_with_the_reason(
    card_server: tuple[str, FastAPI],
    discovery: tuple[httpx.AsyncClient, FastAPI],
    served: Any,
    status: int,
    says: str,
) -> None:
    base, card_app = card_server
    c, _ = discovery
    if served == "mesh-worker-card":
        worker = AgentDescriptor(
            agent_id="w", endpoint=base, capabilities=["search"], streaming_mode="dynamic_events"
        )
        served = descriptor_card(worker, base)
    elif served == "no-skills":
        served = card(base, skills=[])
    card_app.state.card = served
    r = await c.post("/v1/agents/a2a", json={"card_url": base + "/.well-known/agent-card.json"})
    assert r.status_code == status, r.text
    assert says in r.json()["detail"]
    assert (await c.get("/v1/agents")).json() == []


async def test_a_card_url_nobody_answers_is_a_502(
    discovery: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    c, _ = discovery
    r = await c.post("/v1/agents/a2a", json={"card_url": f"http://127.0.0.1:{free_port()}"})
    assert r.status_code == 502
    assert "cannot fetch" in r.json()["detail"]
