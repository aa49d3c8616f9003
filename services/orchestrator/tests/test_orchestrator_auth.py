"""The orchestrator with a mesh secret: run ownership, the per-client bound, its own token
on every outgoing call, endpoints checked again at connect time, bounded bodies and errors.

Real uvicorn servers on loopback (fake discovery, fake workers, the orchestrator)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

sys.path.insert(0, str(Path(__file__).parent))

from orch_fakes import Served, fake_discovery_app, record, serve, stop

from mesh_auth import AUDIENCES, Keys
from mesh_auth.endpoints import EndpointPolicy, default_networks
from mesh_contracts import TaskRequest, WorkerResult, encode_event
from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings

KEYS = Keys(b"o" * 48)
DEADLINE = 10.0


def auth(scope: str) -> dict[str, str]:
    # A day: the module's tokens are made when it is imported (collection), and a whole
    # suite may reach its tests many minutes later. Every audience: these tests check
    # scopes (tests/test_e2e_trust.py checks audiences).
    return {"Authorization": f"Bearer {KEYS.issue(scope, 86400, audience=AUDIENCES)}"}


ALICE, BOB, ADMIN = auth("client:alice"), auth("client:bob"), auth("admin")


class Seen:
    def __init__(self) -> None:
        self.auth: list[str | None] = []
        self.calls = 0
        self.release = asyncio.Event()


def worker_app(seen: Seen) -> FastAPI:
    app = FastAPI()

    @app.post("/stream")
    async def stream(task: TaskRequest, request: Request) -> Any:
        seen.calls += 1
        seen.auth.append(request.headers.get("authorization"))
        if task.input.get("status"):
            return JSONResponse({"detail": "E" * 10_000}, status_code=int(task.input["status"]))

        async def gen() -> AsyncIterator[bytes]:
            if task.input.get("wait"):
                await seen.release.wait()
            yield encode_event({"type": "token", "token": "hi"})
            yield encode_event({"type": "done"})

        return StreamingResponse(gen(), media_type="text/event-stream")

    @app.post("/invoke")
    async def invoke(task: TaskRequest, request: Request) -> Any:
        seen.calls += 1
        seen.auth.append(request.headers.get("authorization"))
        if task.input.get("redirect"):
            return JSONResponse({}, status_code=307, headers={"Location": task.input["redirect"]})
        return WorkerResult(task_id=task.task_id, agent_id="static", output="ok")

    return app


async def fake_resolve(host: str, port: int) -> list[str]:
    if host == "meta.mesh.test":
        return ["169.254.169.254"]
    raise OSError("unknown")


class Mesh:
    def __init__(self) -> None:
        self.served: list[Served] = []
        self.seen = Seen()
        self.bystander = Seen()  # a redirect's target: must never be called
        self.disc_auth: list[str | None] = []

    async def start(self, tmp: Path, exporter: Any = None, **settings: Any) -> Mesh:
        disc_app = fake_discovery_app()

        @disc_app.middleware("http")
        async def note(request: Request, call_next: Any) -> Any:
            if request.url.path == "/v1/agents":
                self.disc_auth.append(request.headers.get("authorization"))
            return await call_next(request)

        self.disc = await serve(disc_app)
        self.worker = await serve(worker_app(self.seen))
        self.other = await serve(worker_app(self.bystander))
        self.served += [self.disc, self.worker, self.other]
        s = Settings(
            discovery_url=self.disc.url,
            db_path=tmp / "orch.sqlite3",
            watch_wait_seconds=1.0,
            discovery_retry_seconds=0.05,
            **settings,
        )
        policy = EndpointPolicy(default_networks("127.0.0.1"), resolver=fake_resolve)
        self.orch = await serve(create_app(s, keys=KEYS, endpoints=policy, span_exporter=exporter))
        self.served.append(self.orch)
        self.url = self.orch.url
        self.disc.app.state.publish(
            [
                record(
                    agent_id="streamer",
                    endpoint=self.worker.url,
                    capabilities=["text_generation"],
                    streaming_mode="dynamic_events",
                ),
                record(
                    agent_id="static",
                    endpoint=self.worker.url,
                    capabilities=["search"],
                    streaming_mode="static",
                ),
                record(
                    agent_id="sneaky",
                    endpoint="http://meta.mesh.test:8001",
                    capabilities=["summarization"],
                    streaming_mode="dynamic_events",
                ),
            ]
        )
        async with httpx.AsyncClient() as c:
            for _ in range(500):
                if (await c.get(self.url + "/health")).json()["agents"] == 3:
                    break
                await asyncio.sleep(0.02)
            else:
                raise TimeoutError("the orchestrator never saw the registry")
        return self

    async def stop(self) -> None:
        for s in reversed(self.served):
            await stop(s)


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await Mesh().start(tmp_path, max_runs_per_client=1)
    yield m
    await m.stop()


def plan(agent: str = "streamer", **inp: Any) -> dict[str, Any]:
    cap = {"streamer": "text_generation", "static": "search", "sneaky": "summarization"}[agent]
    task = {"task_id": "t1", "capability": cap, "agent_id": agent, "input": inp}
    return {"plan": {"tasks": [task]}, "options": {"on_disconnect": "continue"}}


async def runs_of(c: httpx.AsyncClient, url: str, who: dict[str, str]) -> list[str]:
    r = await c.get(url + "/v1/runs", headers=who)
    assert r.status_code == 200
    return [x["run_id"] for x in r.json()]


async def test_run_routes_need_a_client_token(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url) as c:
        assert (await c.get("/health")).status_code == 200
        for method, path in (("POST", "/orchestrate"), ("GET", "/v1/runs"), ("GET", "/v1/agents")):
            r = await c.request(method, path, json=plan())
            assert r.status_code == 401 and r.json()["error"] == "missing_token"
            assert r.headers["www-authenticate"].startswith("Bearer")
        wrong = await c.post("/orchestrate", json=plan(), headers=auth("agent:streamer"))
        assert wrong.status_code == 403 and wrong.json()["error"] == "insufficient_scope"
        assert await runs_of(c, mesh.url, ADMIN) == []
    assert mesh.seen.calls == 0


async def test_the_stream_route_refuses_what_its_fast_path_must_not_admit(mesh: Mesh) -> None:
    """``POST /orchestrate/stream`` is answered ahead of the stack (``api/stream_path.py``)
    for well-formed JSON: a missing, forged, wrong-scope or wrong-audience token must still
    get the route's 401/403 and start nothing."""
    forged = Keys(b"x" * 48).issue("client:alice", 86400, audience=AUDIENCES)
    elsewhere = KEYS.issue("client:alice", 86400, audience=("workers",))  # not for us
    cases = (
        ({}, 401),
        ({"Authorization": f"Bearer {forged}"}, 401),
        ({"Authorization": f"Bearer {elsewhere}"}, 401),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, 401),
        (auth("agent:streamer"), 403),
        (auth("orchestrator"), 403),
    )
    async with httpx.AsyncClient(base_url=mesh.url) as c:
        for headers, status in cases:
            r = await c.post("/orchestrate/stream", json=plan(), headers=headers)
            assert r.status_code == status, (headers, r.text)
            assert r.headers["content-type"].startswith("application/json")
        assert await runs_of(c, mesh.url, ADMIN) == []
    assert mesh.seen.calls == 0


async def test_a_client_sees_only_its_own_runs(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        done = await c.post("/orchestrate", json=plan(), headers=ALICE)
        assert done.status_code == 200 and done.json()["status"] == "completed"
        run_id = done.json()["run_id"]
        before = (await c.get(f"/v1/runs/{run_id}", headers=ALICE)).json()
        assert before["owner"] == "client:alice"
        for method, path in (
            ("GET", f"/v1/runs/{run_id}"),
            ("GET", f"/v1/runs/{run_id}/events"),
            ("POST", f"/v1/runs/{run_id}/cancel"),
        ):
            r = await c.request(method, path, headers=BOB)
            assert r.status_code == 404 and r.json() == {"detail": f"unknown run {run_id!r}"}
        assert await runs_of(c, mesh.url, BOB) == []
        assert await runs_of(c, mesh.url, ALICE) == [run_id]
        assert await runs_of(c, mesh.url, ADMIN) == [run_id]
        assert (await c.get(f"/v1/runs/{run_id}", headers=ADMIN)).status_code == 200
        assert (await c.get(f"/v1/runs/{run_id}", headers=ALICE)).json() == before


async def test_the_orchestrator_sends_its_own_token_to_discovery_and_workers(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        for agent in ("streamer", "static"):
            # One run at a time for this client (max_runs_per_client=1): the second starts
            # only because the first's end is stored when its answer comes back.
            r = await c.post("/orchestrate", json=plan(agent), headers=ALICE)
            assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    sent = [*mesh.disc_auth, *mesh.seen.auth]
    assert sent and all(h is not None and h.startswith("Bearer ") for h in sent)
    assert {KEYS.verify(h.split()[1]).scope for h in sent if h} == {"orchestrator"}


async def test_a_client_past_its_concurrent_runs_gets_429_with_retry_after(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        async with c.stream(
            "POST", "/orchestrate/stream", json=plan(wait=True), headers=ALICE
        ) as live:
            assert live.status_code == 200
            for _ in range(500):
                if mesh.seen.calls:
                    break
                await asyncio.sleep(0.02)
            before = await runs_of(c, mesh.url, ADMIN)
            second = await c.post("/orchestrate", json=plan(), headers=ALICE)
            assert second.status_code == 429 and second.headers["retry-after"] == "5"
            assert "already has 1 runs in progress" in second.json()["detail"]
            assert await runs_of(c, mesh.url, ADMIN) == before
            mesh.seen.release.set()
        bob = await c.post("/orchestrate", json=plan(), headers=BOB)
        assert bob.status_code == 200


async def test_an_endpoint_resolving_to_metadata_is_refused_at_connect_time(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        r = await c.post("/orchestrate", json=plan("sneaky"), headers=ALICE)
    body = r.json()
    assert body["status"] == "failed"
    (node,) = body["plan"]
    assert "meta.mesh.test -> 169.254.169.254" in node["error"]


async def test_a_worker_redirect_is_not_followed(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        r = await c.post(
            "/orchestrate", json=plan("static", redirect=mesh.other.url + "/invoke"), headers=ALICE
        )
    (node,) = r.json()["plan"]
    assert node["status"] == "failed" and "answered 307" in node["error"]
    assert mesh.bystander.calls == 0


async def test_a_worker_error_text_is_trimmed(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        r = await c.post("/orchestrate", json=plan(status=400), headers=ALICE)
    (node,) = r.json()["plan"]
    assert node["status"] == "failed" and "EEEE" in node["error"] and len(node["error"]) < 400


async def test_oversized_and_invalid_bodies_are_short_errors_and_start_nothing(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        big = await c.post("/orchestrate/stream", json={"query": "q" * (2 << 20)}, headers=ALICE)
        assert big.status_code == 413
        assert big.json() == {
            "detail": "request body larger than 1048576 bytes",
            "error": "body_too_large",
        }
        long = await c.post("/orchestrate", json={"query": "q" * 9000}, headers=ALICE)
        assert long.status_code == 422 and len(long.content) < 1000
        assert await runs_of(c, mesh.url, ADMIN) == []
    assert mesh.seen.calls == 0


async def test_no_span_records_a_token(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    mesh = await Mesh().start(tmp_path, exporter=exporter)
    try:
        async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
            r = await c.post("/orchestrate", json=plan(), headers=ALICE)
            assert r.json()["status"] == "completed"
            assert (await c.get("/v1/runs", headers=ALICE)).status_code == 200
        for _ in range(500):
            names = {s.name for s in exporter.get_finished_spans()}
            if "GET /v1/runs" in names:
                break
            await asyncio.sleep(0.02)
        spans = list(exporter.get_finished_spans())
        assert len(spans) >= 3
    finally:
        await mesh.stop()
    tokens = [ALICE["Authorization"].split()[1], *(h.split()[1] for h in mesh.seen.auth if h)]
    for span in spans:
        text = repr(dict(span.attributes or {})) + repr([e.attributes for e in span.events])
        assert "authorization" not in text.lower()
        assert not any(t in text for t in tokens), span.name


async def test_the_a2a_and_openai_routes_need_a_client_token_too(mesh: Mesh) -> None:
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
    chat = {"model": "mesh", "messages": [{"role": "user", "content": "hello"}]}
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        for path, body in (("/a2a", rpc), ("/v1/chat/completions", chat)):
            anon = await c.post(path, json=body)
            assert anon.status_code == 401 and anon.json()["error"] == "missing_token", path
            wrong = await c.post(path, json=body, headers=auth("agent:streamer"))
            assert wrong.status_code == 403, path
        assert (await c.get("/v1/models")).status_code == 401
        assert (await c.get("/.well-known/agent-card.json")).status_code == 200
        assert await runs_of(c, mesh.url, ADMIN) == []
    assert mesh.seen.calls == 0


async def test_an_a2a_message_naming_another_clients_task_is_task_not_found(mesh: Mesh) -> None:
    # A follow-up (taskId) answers a task awaiting input only for the client that owns it.
    parked = {
        "message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "wait"}]},
        "metadata": {**plan(), "options": {"approval": "required"}},
    }

    def rpc(params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}

    a2a = {"A2A-Version": "1.0"}
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        task = (await c.post("/a2a", json=rpc(parked), headers=ALICE | a2a)).json()
        task_id = task["result"]["task"]["id"]
        follow = {"messageId": "m2", "role": "ROLE_USER", "parts": [{"text": "go"}]}
        bob = await c.post(
            "/a2a", json=rpc({"message": {**follow, "taskId": task_id}}), headers=BOB | a2a
        )
        assert bob.json()["error"]["code"] == -32001, bob.text
        get = {"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": task_id}}
        still = (await c.post("/a2a", json=get, headers=ALICE | a2a)).json()["result"]
        assert still["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", still
    assert mesh.seen.calls == 0
