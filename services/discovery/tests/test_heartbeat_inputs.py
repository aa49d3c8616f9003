"""The heartbeat fast path (``beats.py``) against hostile bodies, and what one heartbeat
costs it in look-ups (counted, never timed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.datastructures import State

from mesh_auth import Keys
from mesh_contracts import Lease
from mesh_discovery import EmbeddedStore, Settings, create_app
from mesh_discovery.index import Entry, RegistryIndex

KEYS = Keys(b"i" * 48)
WRITER = {"Authorization": f"Bearer {KEYS.issue('agent:writer', 86400)}"}
READER = {"Authorization": f"Bearer {KEYS.issue('orchestrator', 86400)}"}


@pytest.fixture
async def served(tmp_path: Path, clock) -> AsyncIterator[tuple[httpx.AsyncClient, EmbeddedStore]]:
    """Discovery with its default body limit (1 MiB), so a large body reaches the fast path's
    validation instead of the limit."""
    store = EmbeddedStore(tmp_path / "reg.sqlite3", reap_after_seconds=60, clock=clock)
    app = create_app(
        Settings(db_path=store.path, sweep_interval_seconds=3600), store=store, keys=KEYS
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://discovery") as c:
            yield c, store


async def _register(c: httpx.AsyncClient, make_descriptor: Any, iid: str) -> None:
    d = make_descriptor(iid, agent_id="writer").model_dump(mode="json")
    r = await c.post("/v1/agents", json={"descriptor": d, "ttl_seconds": 30}, headers=WRITER)
    assert r.status_code == 200, r.text


TAGS = [f"t{i}" for i in range(10_000)]
HOSTILE: list[tuple[str, bytes, int]] = [
    ("wrong type", b'{"load":{"slots_in_use":"many"}}', 422),
    ("a float for an int", b'{"load":{"queue_depth":1.5}}', 422),
    ("a list for the load", b'{"load":[1,2,3]}', 422),
    ("a string body", b'"beat"', 422),
    ("an array body", b"[]", 422),
    ("not JSON", b'{"load":', 422),
    ("a number past any int", b'{"load":{"slots_in_use":' + b"9" * 5000 + b"}}", 422),
    ("10,000 tags", json.dumps({"load": {"slots_in_use": 1, "tags": TAGS}}).encode(), 422),
    ("10,000 tags beside the load", json.dumps({"load": None, "tags": TAGS}).encode(), 422),
    ("deeply nested", b'{"load":' + b"[" * 10_000 + b"]" * 10_000 + b"}", 422),
    ("past the body limit", b'{"load":{"slots_in_use":1}' + b" " * (1 << 20) + b"}", 413),
]


@pytest.mark.parametrize(("what", "body", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_heartbeat_body_gets_a_short_json_4xx_and_renews_nothing(
    served: tuple[httpx.AsyncClient, EmbeddedStore], make_descriptor, clock, what, body, status
) -> None:
    c, store = served
    await _register(c, make_descriptor, "w-1")
    before = (await c.get("/v1/agents/w-1", headers=READER)).json()
    beats = store.counts.heartbeats
    clock.advance(5)

    r = await c.put("/v1/agents/w-1/heartbeat", content=body, headers=WRITER)

    assert r.status_code == status, (what, r.text[:300])
    assert r.headers["content-type"] == "application/json"
    assert len(r.content) < 2048, what  # never the input echoed back
    assert "detail" in r.json()
    assert store.counts.heartbeats == beats
    assert (await c.get("/v1/agents/w-1", headers=READER)).json() == before


async def test_a_hostile_instance_id_is_a_short_404(
    served: tuple[httpx.AsyncClient, EmbeddedStore],
) -> None:
    c, store = served
    for iid in ("x" * 10_000, "%00", "..", "w-1%2Fheartbeat"):
        r = await c.put(f"/v1/agents/{iid}/heartbeat", json={"load": {}}, headers=WRITER)
        assert r.status_code == 404, (iid[:20], r.text[:300])
        assert len(r.content) < 1024
    assert store.counts.heartbeats == 0


async def test_a_heartbeat_looks_its_instance_up_once_and_reads_no_state_attribute(
    served: tuple[httpx.AsyncClient, EmbeddedStore], make_descriptor, monkeypatch
) -> None:
    """The owner and write-rate checks run on the entry the renewal looks up (one look-up,
    was two), and the app's state is read from its dict, never through ``State``'s
    ``__getattr__`` (a raised and caught ``AttributeError`` each; four a heartbeat before)."""
    c, store = served
    await _register(c, make_descriptor, "w-1")
    counts = {"get": 0, "state": 0}
    index_get, state_get = RegistryIndex.get, State.__getattr__

    def counted_get(self: RegistryIndex, instance_id: str) -> Entry | None:
        counts["get"] += 1
        return index_get(self, instance_id)

    def counted_state(self: State, key: Any) -> Any:
        counts["state"] += 1
        return state_get(self, key)

    monkeypatch.setattr(RegistryIndex, "get", counted_get)
    monkeypatch.setattr(State, "__getattr__", counted_state)
    for _ in range(3):
        r = await c.put(
            "/v1/agents/w-1/heartbeat", json={"load": {"slots_in_use": 1}}, headers=WRITER
        )
        assert r.status_code == 200
    assert counts == {"get": 3, "state": 0}
    assert store.counts.heartbeats == 3


def test_an_entrys_kept_lease_is_what_pydantic_writes(make_descriptor) -> None:
    from mesh_contracts import HealthStatus

    for iid, ttl, expires, index in (
        ("w-1", 30, 1_800_000_030.123456, 7),
        ("a.b_c-9", 0.5, 1e9, 0),
        ("W_2.x", 3600.25, 1796119172.632894, 2**40),
        ("9" * 200, 15.0, 1_800_000_015.0, 3),
    ):
        e = Entry(make_descriptor(iid), HealthStatus.PASSING, 0.0, 0.0, expires, ttl, "api")
        lease = Lease(instance_id=iid, ttl_seconds=ttl, expires_at=expires, index=index)
        assert e.lease_json(index) == lease.model_dump_json().encode()
