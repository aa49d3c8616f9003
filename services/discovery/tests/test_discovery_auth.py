"""Discovery with a mesh secret: who may write what, SSRF-safe endpoints, bounded bodies.

Every refusal is checked three ways: the status, the JSON error, and a registry left as it
was (read back with an admin token)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_auth import Keys
from mesh_discovery import EmbeddedStore, Settings, create_app
from mesh_discovery.quota import AgentQuota

KEYS = Keys(b"d" * 48)
DNS = {"writer.mesh.test": ["127.0.0.1"], "sneaky.mesh.test": ["169.254.169.254"]}


def auth(scope: str) -> dict[str, str]:
    # A day: the module's tokens are made when it is imported (collection), and a whole
    # suite may reach its tests many minutes later.
    return {"Authorization": f"Bearer {KEYS.issue(scope, 86400)}"}


ADMIN, WRITER, ANALYST, CLIENT = (
    auth("admin"),
    auth("agent:writer"),
    auth("agent:analyst"),
    auth("client:alice"),
)


async def fake_resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError("unknown host")
    return DNS[host]


@pytest.fixture
async def client(tmp_path: Path, clock) -> AsyncIterator[httpx.AsyncClient]:
    store = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)
    agents = tmp_path / "agents.yaml"
    agents.write_text(
        "- agent_id: facts\n  capabilities: [search]\n  streaming_mode: static\n"
        "  endpoint: null\n  invoke_path: null\n  static_response: Paris.\n"
    )
    settings = Settings(db_path=store.path, sweep_interval_seconds=3600, agents_file=agents)
    app = create_app(settings, store=store, keys=KEYS, resolver=fake_resolve)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c


def reg(make_descriptor, instance_id: str = "writer-1", **fields: Any) -> dict[str, Any]:
    return {"descriptor": make_descriptor(instance_id, **fields).model_dump(mode="json")}


def raw(instance_id: str = "writer-vm-8001", **fields: Any) -> dict[str, Any]:
    d = {
        "agent_id": "writer",
        "instance_id": instance_id,
        "endpoint": "http://127.0.0.1:8001",
        "capabilities": ["text_generation"],
        "streaming_mode": "dynamic_events",
        **fields,
    }
    return {"descriptor": d}


async def registry(client: httpx.AsyncClient) -> list[tuple[str, str, str | None, int]]:
    r = await client.get("/v1/agents", headers=ADMIN)
    assert r.status_code == 200
    return [
        (
            x["descriptor"]["instance_id"],
            x["descriptor"]["agent_id"],
            x["descriptor"]["endpoint"],
            x["descriptor"]["priority"],
        )
        for x in r.json()
    ]


async def test_reads_need_a_token_and_health_does_not(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    r = await client.get("/v1/agents")
    assert r.status_code == 401 and r.json()["error"] == "missing_token"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/v1/manifest")).status_code == 401
    assert (await client.get("/v1/agents", headers=CLIENT)).status_code == 200


async def test_registering_without_a_token_is_refused_and_changes_nothing(
    client, make_descriptor
) -> None:
    before = await registry(client)
    r = await client.post("/v1/agents", json=reg(make_descriptor))
    assert r.status_code == 401 and r.json() == {
        "detail": "missing bearer token",
        "error": "missing_token",
    }
    assert await registry(client) == before


async def test_registering_with_another_agents_token_is_a_403(client, make_descriptor) -> None:
    before = await registry(client)
    for token in (ANALYST, CLIENT, auth("orchestrator")):
        r = await client.post("/v1/agents", json=reg(make_descriptor), headers=token)
        assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert await registry(client) == before


async def test_an_agent_may_write_only_its_own_instances(client, make_descriptor) -> None:
    assert (
        await client.post("/v1/agents", json=reg(make_descriptor), headers=WRITER)
    ).status_code == 200
    before = await registry(client)
    hb = await client.put("/v1/agents/writer-1/heartbeat", headers=ANALYST)
    assert hb.status_code == 403 and "belongs to agent 'writer'" in hb.json()["detail"]
    gone = await client.delete("/v1/agents/writer-1", headers=ANALYST)
    assert gone.status_code == 403 and gone.json()["error"] == "insufficient_scope"
    anon = await client.delete("/v1/agents/writer-1")
    assert anon.status_code == 401
    # Another agent's token cannot take the instance id over under its own agent id either.
    takeover = await client.post(
        "/v1/agents", json=reg(make_descriptor, agent_id="analyst"), headers=ANALYST
    )
    assert takeover.status_code == 403 and "belongs to agent 'writer'" in takeover.json()["detail"]
    assert await registry(client) == before
    assert (await client.put("/v1/agents/writer-1/heartbeat", headers=WRITER)).status_code == 200
    assert (await client.delete("/v1/agents/writer-1", headers=WRITER)).status_code == 204


async def test_an_agent_token_cannot_capture_tasks_by_priority_or_a_capability_it_was_not_issued(
    client,
) -> None:
    """Attack: a writer token registers priority 10 (outranking every writer) or claims
    image_generation (receiving every client's image prompts). Its token states
    text_generation and priority 0: both refused, the registry unchanged."""
    issued = {
        "Authorization": "Bearer "
        + KEYS.issue("agent:writer", 86400, caps=["text_generation"], priority=(0, 0))
    }
    before = await registry(client)
    huge = await client.post("/v1/agents", json=raw(priority=1_000_000_000), headers=ADMIN)
    assert huge.status_code == 422 and huge.json()["detail"][0]["field"] == "descriptor.priority"
    high = await client.post("/v1/agents", json=raw(priority=10), headers=issued)
    assert high.status_code == 403 and high.json()["detail"].startswith(
        "priority 10 is outside your token's range 0 to 0"
    )
    other = await client.post(
        "/v1/agents",
        json=raw(capabilities=["text_generation", "image_generation"]),
        headers=issued,
    )
    assert other.status_code == 403
    assert other.json()["detail"] == "your token may register text_generation; not image_generation"
    assert await registry(client) == before
    ranked = {"Authorization": "Bearer " + KEYS.issue("agent:writer", 86400, priority=(0, 5))}
    assert (
        await client.post("/v1/agents", json=raw("writer-2", priority=5), headers=ranked)
    ).status_code == 200
    assert (
        await client.post("/v1/agents", json=raw(priority=90), headers=ADMIN)
    ).status_code == 200


async def test_an_agent_may_hold_only_so_many_instances_and_heartbeat_only_so_fast(
    tmp_path: Path, clock
) -> None:
    store = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)
    settings = Settings(db_path=store.path, sweep_interval_seconds=3600)
    app = create_app(settings, store=store, keys=KEYS, resolver=fake_resolve)
    now = [0.0]
    app.state.quota = AgentQuota(2, 1.0, clock=lambda: now[0])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://d") as c:
            for i in (1, 2):
                now[0] += 1
                r = await c.post("/v1/agents", json=raw(f"writer-{i}"), headers=WRITER)
                assert r.status_code == 200
            now[0] += 1
            third = await c.post("/v1/agents", json=raw("writer-3"), headers=WRITER)
            assert third.status_code == 429 and third.json()["error"] == "quota_exceeded"
            assert "already has 2 instances" in third.json()["detail"]
            assert third.headers["retry-after"] == "30"
            now[0] += 1
            assert (await c.put("/v1/agents/writer-1/heartbeat", headers=WRITER)).status_code == 200
            fast = await c.put("/v1/agents/writer-2/heartbeat", headers=WRITER)  # same instant
            assert fast.status_code == 429 and fast.headers["retry-after"] == "1"
            assert (await c.put("/v1/agents/writer-2/heartbeat", headers=ADMIN)).status_code == 200
            now[0] += 1
            assert (await c.delete("/v1/agents/writer-1", headers=WRITER)).status_code == 204
            r = await c.post("/v1/agents", json=raw("writer-3"), headers=WRITER)
            assert r.status_code == 200
            listed = await c.get("/v1/agents", headers=ADMIN)
            ids = [x["descriptor"]["instance_id"] for x in listed.json()]
            assert ids == ["writer-2", "writer-3"]


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("http://169.254.169.254", "169.254.0.0/16"),
        ("http://[fd00:ec2::254]:80", "fd00:ec2::254"),
        ("http://[::ffff:169.254.169.254]", "169.254.0.0/16"),
        ("http://sneaky.mesh.test:8001", "sneaky.mesh.test -> 169.254.169.254"),
        ("http://10.0.0.7:8001", "allowed networks do not admit"),
        ("http://0.0.0.0:8001", "0.0.0.0/8"),
        ("http://nowhere.mesh.test:8001", "cannot resolve"),
    ],
)
async def test_endpoints_into_metadata_or_unadmitted_networks_are_refused(
    client, endpoint: str, why: str
) -> None:
    before = await registry(client)
    r = await client.post("/v1/agents", json=raw(endpoint=endpoint), headers=WRITER)
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["type"] == "endpoint_refused" and err["field"] == "descriptor.endpoint"
    assert why in err["msg"]
    assert await registry(client) == before


async def test_a_name_resolving_to_loopback_is_admitted_on_a_loopback_discovery(client) -> None:
    r = await client.post(
        "/v1/agents", json=raw(endpoint="http://writer.mesh.test:8001"), headers=WRITER
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"endpoint": "http://169.254.169.254/latest/meta-data/iam/security-credentials?x="},
        {"endpoint": "http://127.0.0.1:8001#frag"},
        {"stream_path": "/stream?redirect=http://elsewhere"},
        {"instance_id": "../../mesh/agents/writer"},
        {"instance_id": "writer\r\nX-Injected: 1"},
        {"description": "d" * 5000},
        {"static_response": "s" * 70_000},
    ],
)
async def test_malformed_descriptor_fields_are_422_without_echoing_them(client, fields) -> None:
    before = await registry(client)
    r = await client.post("/v1/agents", json=raw(**fields), headers=WRITER)
    assert r.status_code == 422
    assert len(r.content) < 2000
    assert await registry(client) == before


async def test_declared_agents_cannot_be_overwritten_or_removed(client) -> None:
    before = await registry(client)
    assert ("facts", "facts", None, 0) in before
    body = raw("facts", agent_id="facts", capabilities=["search"])
    over = await client.post("/v1/agents", json=body, headers=auth("agent:facts"))
    assert over.status_code == 409 and "declared in the agents file" in over.json()["detail"]
    assert (await client.post("/v1/agents", json=body, headers=ADMIN)).status_code == 409
    gone = await client.delete("/v1/agents/facts", headers=ADMIN)
    assert gone.status_code == 409
    assert await registry(client) == before


async def test_an_oversized_body_is_a_413_and_changes_nothing(client) -> None:
    before = await registry(client)
    body = raw(description="x")
    payload = httpx.Request("POST", "/", json=body).content[:-2] + b" " * (2 << 20) + b"}}"
    r = await client.post(
        "/v1/agents", content=payload, headers={**WRITER, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json() == {
        "detail": "request body larger than 1048576 bytes",
        "error": "body_too_large",
    }
    assert await registry(client) == before


async def test_a2a_registration_needs_the_agents_token_and_an_admitted_card_url(client) -> None:
    before = await registry(client)
    card = {"card_url": "http://127.0.0.1:1/.well-known/agent-card.json", "agent_id": "poet"}
    anon = await client.post("/v1/agents/a2a", json=card)
    assert anon.status_code == 401 and anon.json()["error"] == "missing_token"
    other = await client.post("/v1/agents/a2a", json=card, headers=WRITER)
    assert other.status_code == 403 and other.json()["error"] == "insufficient_scope"
    unnamed = await client.post(
        "/v1/agents/a2a", json={"card_url": card["card_url"]}, headers=auth("agent:poet")
    )
    assert unnamed.status_code == 403
    meta = {"card_url": "http://169.254.169.254/latest/meta-data", "agent_id": "poet"}
    refused = await client.post("/v1/agents/a2a", json=meta, headers=auth("agent:poet"))
    assert refused.status_code == 422
    (err,) = refused.json()["detail"]
    assert err["type"] == "endpoint_refused" and err["field"] == "card_url"
    assert await registry(client) == before


def test_the_consul_token_comes_from_the_setting_or_a_mounted_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("3f1c-token\n")
    assert Settings(consul_token_file=tmp_path / "token").consul_acl_token() == "3f1c-token"
    assert Settings(consul_token="direct").consul_acl_token() == "direct"
    assert Settings().consul_acl_token() is None
