"""The heartbeat fast path (``beats.py``), the remembered token checks (``tokens.py``) and
the watch's deltas (``GET /v1/changes``), through the app as a client sees them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mesh_auth import Keys, Principal
from mesh_auth.tokens import LEEWAY_SECONDS, InvalidToken
from mesh_contracts import RegistryChanges
from mesh_discovery import EmbeddedStore, Settings, create_app
from mesh_discovery.tokens import MAX_AGE_SECONDS, MAX_TOKENS, VerifiedTokens

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

    def __init__(self) -> None:
        self.checks = 0

    def verify(self, token: str) -> Principal:
        self.checks += 1
        return KEYS.verify(token)


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
