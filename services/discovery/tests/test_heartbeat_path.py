"""The heartbeat fast path (``beats.py``), the remembered token checks (``tokens.py``) and
the watch's deltas (``GET /v1/changes``), through the app as a client sees them."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mesh_auth import Issuer, Keys, Principal, RevocationList
from mesh_auth.tokens import LEEWAY_SECONDS, InvalidToken
from mesh_contracts import RegistryChanges
from mesh_discovery import AgentFilter, EmbeddedStore, Settings, create_app
from mesh_discovery.tokens import MAX_AGE_SECONDS, MAX_TOKENS, VerifiedTokens
from mesh_testkit import wait_until

KEYS = Keys(b"h" * 48)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


WRITER = bearer(KEYS.issue("agent:writer", 86400))
ANALYST = bearer(KEYS.issue("agent:analyst", 86400))
READER = bearer(KEYS.issue("orchestrator", 86400))


@pytest.fixture
async def client(tmp_path: Path, clock) -> AsyncIterator[httpx.AsyncClient]:
    store = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)
    settings = Settings(db_path=store.path, sweep_interval_seconds=3600, max_body_bytes=2048)
    app = create_app(settings, store=store, keys=KEYS)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://discovery") as c:
            yield c


async def register(c: httpx.AsyncClient, make_descriptor, iid: str, agent: str) -> None:
    d = make_descriptor(iid, agent_id=agent).model_dump(mode="json")
    headers = WRITER if agent == "writer" else ANALYST
    r = await c.post("/v1/agents", json={"descriptor": d, "ttl_seconds": 30}, headers=headers)
    assert r.status_code == 200, r.text


def test_a_token_differing_from_a_remembered_one_in_its_signature_is_refused():
    tokens = VerifiedTokens(KEYS)
    good = KEYS.issue("agent:writer")
    assert tokens.verify(good).scope == "agent:writer"
    head, payload, signature = good.split(".")
    for forged in (f"{head}.{payload}.{signature[:-2]}AA", f"{head}.{payload}.", good + "x"):
        with pytest.raises(InvalidToken):
            tokens.verify(forged)
    other = Keys(b"z" * 48).issue("admin")
    with pytest.raises(InvalidToken):
        tokens.verify(other)


class CountingKeys:
    """A fake verifier for a unit test: the real keys, counting the checks it makes."""

    revoked = None

    def __init__(self) -> None:
        self.checks = 0

    def verify(self, token: str, audience: str | None = None) -> Principal:
        self.checks += 1
        return KEYS.verify(token, audience)


def test_a_remembered_token_is_checked_again_once_it_expired_or_after_a_minute():
    now = [time.time()]
    keys = CountingKeys()
    tokens = VerifiedTokens(keys, clock=lambda: now[0])  # type: ignore[arg-type]
    short = KEYS.issue("agent:writer", 5)
    long = KEYS.issue("agent:analyst", 3600)
    for _ in range(3):
        tokens.verify(short), tokens.verify(long)
    assert keys.checks == 2  # remembered
    now[0] += 5 + LEEWAY_SECONDS + 1  # past the short token's expiry (and leeway)
    tokens.verify(long)
    assert keys.checks == 2
    with contextlib.suppress(InvalidToken):
        tokens.verify(short)  # the real clock has not moved: it may still pass, but
    assert keys.checks == 3  # it was checked again, not answered from memory
    now[0] += MAX_AGE_SECONDS
    tokens.verify(long)
    assert keys.checks == 4


def test_a_flood_of_distinct_tokens_never_holds_more_than_the_bound():
    tokens = VerifiedTokens(KEYS)
    for n in range(MAX_TOKENS + 50):
        tokens.verify(KEYS.issue(f"agent:a{n}"))
    assert len(tokens) <= MAX_TOKENS


async def test_a_token_remembered_for_its_own_instance_cannot_renew_another_agents(
    client: httpx.AsyncClient, make_descriptor
):
    await register(client, make_descriptor, "w-1", "writer")
    await register(client, make_descriptor, "a-1", "analyst")
    assert (await client.put("/v1/agents/a-1/heartbeat", headers=ANALYST)).status_code == 200

    stolen = await client.put("/v1/agents/w-1/heartbeat", headers=ANALYST)

    assert stolen.status_code == 403 and stolen.json()["error"] == "insufficient_scope"
    missing = await client.put("/v1/agents/w-1/heartbeat")
    assert missing.status_code == 401 and missing.json()["error"] == "missing_token"
    assert (await client.put("/v1/agents/ghost/heartbeat", headers=WRITER)).status_code == 404


async def test_a_heartbeat_body_past_the_limit_is_413_and_a_bad_one_422_renewing_nothing(
    client: httpx.AsyncClient, make_descriptor, clock
):
    await register(client, make_descriptor, "w-1", "writer")
    before = (await client.get("/v1/agents/w-1", headers=READER)).json()["lease_expires_at"]
    clock.advance(5)
    big = b'{"load":{"slots_in_use":1}' + b" " * 4096 + b"}"
    too_big = await client.put("/v1/agents/w-1/heartbeat", content=big, headers=WRITER)
    assert too_big.status_code == 413 and too_big.json()["error"] == "body_too_large"
    bad = await client.put(
        "/v1/agents/w-1/heartbeat", json={"load": {"slots_in_use": -1}}, headers=WRITER
    )
    assert bad.status_code == 422 and "load.slots_in_use" in bad.text
    assert len(bad.content) < 2048
    after = (await client.get("/v1/agents/w-1", headers=READER)).json()["lease_expires_at"]
    assert after == before


async def test_a_heartbeat_with_a_chunked_body_is_served_by_the_route(
    client: httpx.AsyncClient, make_descriptor
):
    await register(client, make_descriptor, "w-1", "writer")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"load":{"slots_in_use":'
        yield b"3}}"

    headers = {"Content-Type": "application/json", **WRITER}
    beat = await client.put("/v1/agents/w-1/heartbeat", content=chunks(), headers=headers)

    assert beat.status_code == 200 and beat.json()["instance_id"] == "w-1"
    record = (await client.get("/v1/agents/w-1", headers=READER)).json()
    assert record["load"]["slots_in_use"] == 3


async def test_the_watch_answers_what_changed_after_its_index_and_304_when_nothing_did(
    client: httpx.AsyncClient, make_descriptor
):
    await register(client, make_descriptor, "w-1", "writer")
    await register(client, make_descriptor, "w-2", "writer")
    first = await client.get("/v1/changes", headers=READER)
    everything = RegistryChanges.model_validate_json(first.content)
    assert everything.full and [r.descriptor.instance_id for r in everything.upserts] == [
        "w-1",
        "w-2",
    ]
    await register(client, make_descriptor, "a-1", "analyst")
    assert (await client.delete("/v1/agents/w-1", headers=WRITER)).status_code == 204

    delta = await client.get(
        "/v1/changes", params={"index": everything.index, "wait": "1s"}, headers=READER
    )

    changes = RegistryChanges.model_validate_json(delta.content)
    assert not changes.full
    assert [r.descriptor.instance_id for r in changes.upserts] == ["a-1"]
    assert changes.removals == ["w-1"]
    tag = {"If-None-Match": f'"{changes.index}"', **READER}
    quiet = await client.get("/v1/changes", params={"index": changes.index, "wait": "10ms"},
                             headers=tag)  # fmt: skip
    assert quiet.status_code == 304 and quiet.content == b""
    assert (await client.get("/v1/changes")).status_code == 401


def test_a_remembered_token_is_refused_as_soon_as_it_is_revoked(tmp_path: Path) -> None:
    listed = tmp_path / "revoked"
    listed.write_text("")
    issuer = Issuer.generate()
    tokens = VerifiedTokens(issuer.keys(revoked=RevocationList(listed)))
    leaked = issuer.issue("agent:writer", caps=["text_generation"])
    principal = tokens.verify(leaked, "discovery")  # remembered from here on
    listed.write_text(f"{principal.jti}\n")
    os.utime(listed, ns=(time.time_ns(), time.time_ns() + 10**9))

    def refused() -> bool:
        try:
            tokens.verify(leaked, "discovery")
        except InvalidToken as exc:
            return exc.code == "revoked_token"
        return False

    wait_until(refused, timeout=5, what="the remembered token refused once revoked")


async def test_the_fast_path_refuses_a_token_for_another_service_like_the_route(
    client: httpx.AsyncClient, make_descriptor
) -> None:
    await register(client, make_descriptor, "w-1", "writer")
    elsewhere = bearer(KEYS.issue("agent:writer", 86400, audience=["workers"]))
    r = await client.put("/v1/agents/w-1/heartbeat", headers=elsewhere)
    assert (
        r.status_code == 401 and r.json()["detail"] == "token is not for this service (discovery)"
    )
    assert (await client.put("/v1/agents/w-1/heartbeat", headers=WRITER)).status_code == 200


def test_the_hand_written_lease_is_what_pydantic_writes():
    from mesh_contracts import Lease
    from mesh_discovery.beats import lease_json

    for lease in (
        Lease(instance_id="w-1", ttl_seconds=30, expires_at=1_800_000_030.123456, index=7),
        Lease(instance_id="a.b_c-9", ttl_seconds=0.5, expires_at=1e9, index=0),
        Lease(instance_id="w-2", ttl_seconds=3600.25, expires_at=1796119172.632894, index=2**40),
    ):
        assert lease_json(lease) == lease.model_dump_json().encode()


async def test_a_plain_list_answered_ahead_of_the_stack_is_the_routes_answer(
    client: httpx.AsyncClient, make_descriptor, clock
):
    await register(client, make_descriptor, "w-1", "writer")
    await register(client, make_descriptor, "a-1", "analyst")
    assert (await client.put("/v1/agents/w-1/heartbeat", headers=WRITER)).status_code == 200
    # ``healthy=true`` is the fast path's; ``healthy=yes`` (pydantic's too) only the route's.
    fast = await client.get("/v1/agents?capability=text_generation&healthy=true", headers=READER)
    route = await client.get("/v1/agents?capability=text_generation&healthy=yes", headers=READER)
    assert fast.status_code == route.status_code == 200
    assert fast.content == route.content
    assert [r["descriptor"]["instance_id"] for r in fast.json()] == ["a-1", "w-1"]
    for name in ("x-mesh-index", "etag", "content-type", "content-length"):
        assert fast.headers[name] == route.headers[name], name
    tagged = {"If-None-Match": f'W/"0", {fast.headers["etag"]}', **READER}
    quiet = await client.get("/v1/agents?agent_id=writer", headers=tagged)
    assert quiet.status_code == 304 and quiet.content == b""
    assert quiet.headers["x-mesh-index"] == fast.headers["x-mesh-index"]
    # What the fast path does not take is the route's: no token, a bad value, a bad token.
    assert (await client.get("/v1/agents")).status_code == 401
    bad = await client.get("/v1/agents?capability=Not-A-Cap", headers=READER)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "capability"
    forged = bearer(Keys(b"z" * 48).issue("orchestrator", 60))
    assert (await client.get("/v1/agents", headers=forged)).status_code == 401


def test_the_list_fast_path_takes_only_queries_the_route_would_answer_the_same():
    from mesh_discovery.reads import parse_filter

    assert parse_filter(b"") == AgentFilter()
    assert parse_filter(b"capability=search&tag=gpu&agent_id=w&healthy=FALSE") == AgentFilter(
        "search", "gpu", "w", False
    )
    assert parse_filter(b"tag=a%20b") == AgentFilter(tag="a b")
    for query in (
        b"index=3",  # a blocking query
        b"wait=1s",
        b"healthy=yes",  # the route takes it; left to the route
        b"healthy=",
        b"tag=",
        b"tag=a&tag=b",
        b"capability=Bad-Name",
        b"other=1",
        b"tag",
    ):
        assert parse_filter(query) is None, query


async def test_the_list_fast_path_hands_anything_else_to_the_stack(
    tmp_path: Path, clock, make_descriptor
):
    """ListPath alone in front of a fake stack (a unit test: the fake only answers 418)."""
    from types import SimpleNamespace

    from mesh_discovery.reads import ListPath

    store = EmbeddedStore(tmp_path / "reg.sqlite3", clock=clock)
    await store.open()
    await store.register(make_descriptor("w-1"), 30)
    handed: list[str] = []

    async def fake_stack(scope, receive, send) -> None:
        handed.append(f"{scope['method']} {scope['path']}?{scope['query_string'].decode()}")
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    state = {"store": store, "mesh_keys": VerifiedTokens(KEYS), "mesh_audience": "discovery"}
    path = ListPath(fake_stack, state, None)

    async def app(scope, receive, send) -> None:
        scope["app"] = SimpleNamespace(state=SimpleNamespace(**state))
        await path(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://discovery") as c:
        served = await c.get("/v1/agents?capability=text_generation", headers=READER)
        assert served.status_code == 200 and served.json()[0]["descriptor"]["instance_id"] == "w-1"
        assert served.content == await store.list_json(AgentFilter(capability="text_generation"))
        for url, headers in (
            ("/v1/agents", {}),
            ("/v1/agents?index=1&wait=1s", READER),
            ("/v1/agents?healthy=maybe", READER),
            ("/v1/agents/w-1", READER),
            ("/v1/manifest", READER),
        ):
            assert (await c.get(url, headers=headers)).status_code == 418, url
        assert (await c.delete("/v1/agents", headers=READER)).status_code == 418
    assert handed == [
        "GET /v1/agents?",
        "GET /v1/agents?index=1&wait=1s",
        "GET /v1/agents?healthy=maybe",
        "GET /v1/agents/w-1?",
        "GET /v1/manifest?",
        "DELETE /v1/agents?",
    ]
    await store.close()


async def test_the_fast_path_refuses_a_forged_or_expired_token_and_renews_nothing(
    client: httpx.AsyncClient, make_descriptor
) -> None:
    await register(client, make_descriptor, "w-1", "writer")
    assert (await client.put("/v1/agents/w-1/heartbeat", headers=WRITER)).status_code == 200
    before = (await client.get("/v1/agents/w-1", headers=READER)).json()
    good = KEYS.issue("agent:writer", 86400)
    head, payload, _ = good.split(".")
    for token in (
        Keys(b"z" * 48).issue("agent:writer", 86400),  # another secret
        f"{head}.{payload}.",  # no signature
        good + "x",  # a remembered token's bytes changed
        KEYS.issue("agent:writer", 60, now=time.time() - 60 - LEEWAY_SECONDS - 5),  # expired
    ):
        r = await client.put("/v1/agents/w-1/heartbeat", headers=bearer(token))
        assert r.status_code == 401, (token, r.text)
    assert (await client.get("/v1/agents/w-1", headers=READER)).json() == before


def test_uvicorn_access_lines_are_built_only_where_the_level_lets_them_out():
    from mesh_discovery.__main__ import access_logged

    assert access_logged("info") and access_logged("debug") and access_logged("trace")
    assert not access_logged("warning") and not access_logged("error")


def test_the_lease_writes_every_instance_id_as_json_dumps_does():
    import json

    from mesh_discovery.registry import json_string

    texts = ["inst00001", 'a"b', "a\\b", "tab\there", "", " x~", "x\x00", "é", "\u2028"]
    texts += [chr(c) for c in range(0x300)]
    for text in texts:
        assert json_string(text) == json.dumps(text), text
