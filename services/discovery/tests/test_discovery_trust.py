"""Discovery against an attacker holding an agent token, a rebinding DNS name, or a web page:
A2A metadata only from a fetched card, cards fetched only from the checked address, open
mode answering only loopback's names, no CDN-scripted /docs with auth on.

Cards are served by real uvicorn listeners on 127.0.0.1 and 127.0.0.2 (one port, two
addresses); discovery runs in process on the test's event loop, so "DNS" is the test's
``socket.getaddrinfo`` for one made-up name (every other name resolves as usual)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from mesh_auth import Keys
from mesh_discovery import EmbeddedStore, Settings, create_app
from mesh_testkit import free_port, serving

KEYS = Keys(b"r" * 48)
ADMIN = {"Authorization": f"Bearer {KEYS.issue('admin', 86400)}"}
AGENT = {"Authorization": f"Bearer {KEYS.issue('agent:poet', 86400)}"}
NAME = "rebind.mesh.test"


def card(base: str) -> dict[str, Any]:
    return {
        "name": "Poet",
        "description": "Writes poems.",
        "version": "1.0.0",
        "supportedInterfaces": [
            {"url": base + "/rpc", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
        ],
        "capabilities": {"streaming": False},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "poems", "name": "Poems", "description": "d", "tags": ["poetry"]}],
    }


def card_app(hits: list[str], base: str) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/agent-card.json")
    async def agent_card(request: Request) -> dict[str, Any]:
        hits.append(request.headers.get("host", ""))
        return card(base)

    return app


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``rebind.mesh.test`` answers 127.0.0.1 the first time it is asked, 127.0.0.2 after."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host == NAME:
            asked.append(host)
            return real("127.0.0.1" if len(asked) == 1 else "127.0.0.2", port, *args, **kw)
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.fixture
def two_listeners() -> Iterator[tuple[int, list[str], list[str]]]:
    """The agent's card on 127.0.0.1:P; an internal service's on 127.0.0.2:P."""
    port = free_port()
    agent_hits: list[str] = []
    internal_hits: list[str] = []
    base = f"http://{NAME}:{port}"
    with (
        serving(card_app(agent_hits, base), port, name="card"),
        serving(card_app(internal_hits, base), port, name="internal", host="127.0.0.2"),
    ):
        yield port, agent_hits, internal_hits


async def discovery(
    tmp_path: Path, keys: Keys | None = KEYS, **settings: Any
) -> tuple[FastAPI, EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=600)
    s = Settings(
        db_path=store.path, sweep_interval_seconds=3600, a2a_check_seconds=3600, **settings
    )
    return create_app(s, store=store, keys=keys), store


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = await discovery(tmp_path, allowed_networks="127.0.0.1/32")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c


async def test_a_plain_registration_cannot_make_an_agent_speak_a2a_to_a_url_of_its_choice(
    client: httpx.AsyncClient,
) -> None:
    # The attack: an agent token registers its own agent with A2A metadata pointing at a
    # listener it controls (or at the metadata service); the orchestrator would then POST
    # there with its own token. Only the A2A route, from a card it fetched, sets these keys.
    for who in (AGENT, ADMIN):
        for metadata in (
            {"protocol": "a2a", "a2a_url": "http://169.254.169.254/latest/meta-data"},
            {"a2a_url": "http://127.0.0.1:1/"},
            {"a2a_card_url": "http://127.0.0.1:1/card", "note": "x"},
        ):
            descriptor = {
                "agent_id": "poet",
                "endpoint": "http://127.0.0.1:8001",
                "capabilities": ["poetry"],
                "streaming_mode": "static",
                "metadata": metadata,
            }
            r = await client.post("/v1/agents", json={"descriptor": descriptor}, headers=who)
            assert r.status_code == 422, r.text
            (err,) = r.json()["detail"]
            assert err["type"] == "reserved_metadata" and err["field"] == "descriptor.metadata"
    assert (await client.get("/v1/agents", headers=ADMIN)).json() == []
    # The same agent without those keys registers as before.
    plain = {
        "agent_id": "poet",
        "endpoint": "http://127.0.0.1:8001",
        "capabilities": ["poetry"],
        "streaming_mode": "static",
        "metadata": {"team": "words"},
    }
    ok = await client.post("/v1/agents", json={"descriptor": plain}, headers=AGENT)
    assert ok.status_code == 200


async def test_a_card_name_that_rebinds_after_the_check_is_never_fetched_from_the_second_address(
    client: httpx.AsyncClient,
    rebinding_dns: list[str],
    two_listeners: tuple[int, list[str], list[str]],
) -> None:
    port, agent_hits, internal_hits = two_listeners
    body = {"card_url": f"http://{NAME}:{port}/.well-known/agent-card.json", "agent_id": "poet"}
    r = await client.post("/v1/agents/a2a", json=body, headers=AGENT)
    # The check saw 127.0.0.1 (admitted); the name then answered 127.0.0.2, which the policy
    # refuses: the fetch is refused at connect time, and the internal service saw nothing.
    assert internal_hits == []
    assert r.status_code == 502, r.text
    assert "endpoint refused" in r.json()["detail"] and "127.0.0.2" in r.json()["detail"]
    assert agent_hits == []
    assert (await client.get("/v1/agents", headers=ADMIN)).json() == []


async def test_a_registered_card_keeps_its_security_schemes_for_the_orchestrator(
    client: httpx.AsyncClient,
) -> None:
    app = FastAPI()

    @app.get("/.well-known/agent-card.json")
    async def agent_card(request: Request) -> dict[str, Any]:
        body = card(str(request.base_url).rstrip("/"))
        body["securitySchemes"] = {
            "poetKey": {"apiKeySecurityScheme": {"location": "header", "name": "X-Poet-Key"}}
        }
        body["securityRequirements"] = [{"schemes": {"poetKey": {}}}]
        return body

    with serving(app) as base:
        r = await client.post(
            "/v1/agents/a2a", json={"card_url": base, "agent_id": "poet"}, headers=AGENT
        )
    assert r.status_code == 201, r.text
    meta = r.json()["descriptor"]["metadata"]
    assert meta["a2a_security_schemes"] == {
        "poetKey": {"apiKeySecurityScheme": {"location": "header", "name": "X-Poet-Key"}}
    }
    assert meta["a2a_security_requirements"] == [{"schemes": {"poetKey": {}}}]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example", 400),  # a page whose own name was rebound to 127.0.0.1
        ("evil.example:9000", 400),
        ("127.0.0.1.nip.io", 400),
        ("localhost:9000", 200),
        ("127.0.0.1:9000", 200),
        ("[::1]:9000", 200),
        ("mesh.internal", 200),  # named in DISCOVERY_TRUSTED_HOSTS
    ],
)
async def test_open_mode_answers_only_loopback_and_configured_host_names(
    tmp_path: Path, host: str, status: int
) -> None:
    app, _ = await discovery(tmp_path, keys=None, trusted_hosts="mesh.internal")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            r = await c.get("/v1/agents", headers={"Host": host})
    assert r.status_code == status


async def test_with_keys_any_host_gets_the_token_check_and_docs_are_off(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/v1/agents", headers={"Host": "discovery.mesh.svc:9000"})
    assert r.status_code == 401  # the tokens guard it, whatever the Host
    assert (await client.get("/docs")).status_code == 404  # Swagger's CDN scripts: off
    assert (await client.get("/openapi.json")).status_code == 200


async def test_open_mode_heartbeats_from_a_foreign_host_are_refused_too(tmp_path: Path) -> None:
    # Heartbeats are served ahead of the middleware stack (beats.py): the Host check holds
    # for them as for every other route.
    app, _ = await discovery(tmp_path, keys=None)
    descriptor = {
        "agent_id": "poet",
        "endpoint": "http://127.0.0.1:8001",
        "capabilities": ["poetry"],
        "streaming_mode": "static",
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            assert (await c.post("/v1/agents", json={"descriptor": descriptor})).status_code == 200
            beat = "/v1/agents/poet/heartbeat"
            foreign = await c.put(beat, json={}, headers={"Host": "evil.example"})
            own = await c.put(beat, json={}, headers={"Host": "127.0.0.1:9000"})
    assert foreign.status_code == 400
    assert own.status_code == 200
