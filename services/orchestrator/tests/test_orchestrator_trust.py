"""The orchestrator against an attacker: a worker name that rebinds after the check, an A2A
agent waiting for the orchestrator's token, a worker sending a ``javascript:`` artifact, a
web page driving an open orchestrator through DNS rebinding; and the card and dashboard
headers that tell clients and browsers what the mesh accepts.

Every server is a real uvicorn on loopback (127.0.0.1, and 127.0.0.2 for the address a
rebinding name turns to) inside the test's event loop, so "DNS" is the test's
``socket.getaddrinfo`` for one made-up name (every other name resolves as usual)."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from a2a.helpers.proto_helpers import new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

sys.path.insert(0, str(Path(__file__).parent))

from orch_fakes import Served, fake_discovery_app, record, serve, stop

from mesh_auth import InvalidToken, Keys
from mesh_auth.certs import init_certs
from mesh_contracts import SSEDecoder, encode_event
from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings
from mesh_testkit import free_port

KEYS = Keys(b"t" * 48)
CLIENT = {"Authorization": f"Bearer {KEYS.issue('client:alice', 86400)}"}
NAME = "rebind.mesh.test"
DEADLINE = 15.0


async def serve_at(app: Any, host: str, port: int) -> Served:
    """``orch_fakes.serve`` on a given address and port."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        await asyncio.sleep(0.01)
    return Served(app, server, task, f"http://{host}:{port}")


def streaming_worker(seen: list[dict[str, str]], frames: list[dict[str, Any]]) -> FastAPI:
    """A worker that notes each call's Host and Authorization and streams ``frames``."""
    app = FastAPI()

    @app.post("/stream")
    async def stream(request: Request) -> StreamingResponse:
        seen.append(
            {
                "host": request.headers.get("host", ""),
                "authorization": request.headers.get("authorization", ""),
            }
        )

        async def gen() -> AsyncIterator[bytes]:
            for frame in frames:
                yield encode_event(frame)
            yield encode_event({"type": "done"})

        return StreamingResponse(gen(), media_type="text/event-stream")

    return app


class Mesh:
    """A fake discovery and the orchestrator; what else runs is the test's."""

    def __init__(self) -> None:
        self.served: list[Served] = []

    async def start(self, tmp: Path, keys: Keys | None = KEYS, **settings: Any) -> Mesh:
        self.disc = await serve(fake_discovery_app())
        self.served.append(self.disc)
        s = Settings(
            discovery_url=self.disc.url,
            db_path=tmp / "orch.sqlite3",
            watch_wait_seconds=1.0,
            discovery_retry_seconds=0.05,
            **settings,
        )
        self.orch = await serve(create_app(s, keys=keys))
        self.served.append(self.orch)
        self.url = self.orch.url
        return self

    async def publish(self, *records: Any) -> None:
        self.disc.app.state.publish(list(records))
        async with httpx.AsyncClient() as c:
            for _ in range(500):
                if (await c.get(self.url + "/health")).json()["agents"] == len(records):
                    return
                await asyncio.sleep(0.02)
        raise TimeoutError("the orchestrator never saw the registry")

    async def run(self, agent: str, capability: str) -> dict[str, Any]:
        task = {"task_id": "t1", "capability": capability, "agent_id": agent, "input": {}}
        body = {"plan": {"tasks": [task]}}
        async with httpx.AsyncClient(base_url=self.url, timeout=DEADLINE) as c:
            r = await c.post("/orchestrate", json=body, headers=CLIENT)
            assert r.status_code == 200, r.text
            run: dict[str, Any] = r.json()
            events = await c.get(f"/v1/runs/{run['run_id']}/events", headers=CLIENT)
            run["events"] = events.text
        return run

    async def stop(self) -> None:
        for s in reversed(self.served):
            await stop(s)


@pytest.fixture
async def mesh() -> AsyncIterator[Mesh]:
    m = Mesh()
    yield m
    await m.stop()


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


async def test_a_worker_name_that_rebinds_after_the_check_never_reaches_the_second_address(
    mesh: Mesh, tmp_path: Path, rebinding_dns: list[str]
) -> None:
    port = free_port()
    worker_seen: list[dict[str, str]] = []
    internal_seen: list[dict[str, str]] = []
    frames = [{"type": "token", "token": "hi"}]
    mesh.served.append(await serve_at(streaming_worker(worker_seen, frames), "127.0.0.1", port))
    # An internal service on the same port of another address the policy does not admit.
    mesh.served.append(await serve_at(streaming_worker(internal_seen, []), "127.0.0.2", port))
    await mesh.start(tmp_path, allowed_networks="127.0.0.1/32")
    await mesh.publish(
        record(
            agent_id="writer",
            endpoint=f"http://{NAME}:{port}",
            capabilities=["text_generation"],
            streaming_mode="dynamic_events",
        )
    )
    run = await mesh.run("writer", "text_generation")
    # Whatever the name answers after the check, the connection goes to the checked address
    # (or nowhere): the internal service never sees a request, nor the orchestrator's token.
    assert internal_seen == []
    assert run["status"] == "completed", run
    assert [s["host"] for s in worker_seen] == [f"{NAME}:{port}"]
    assert worker_seen[0]["authorization"].startswith("Bearer ")


async def test_a_worker_gets_a_token_for_itself_alone_that_it_cannot_replay_anywhere(
    mesh: Mesh, tmp_path: Path
) -> None:
    # A compromised writer keeps the token the orchestrator called it with and replays it:
    # at discovery, at another worker. The token names the writer alone (worker:writer)
    # and lives minutes: every other service refuses it.
    writer_seen: list[dict[str, str]] = []
    analyst_seen: list[dict[str, str]] = []
    frames = [{"type": "token", "token": "hi"}]
    writer = await serve(streaming_worker(writer_seen, frames))
    analyst = await serve(streaming_worker(analyst_seen, frames))
    mesh.served += [writer, analyst]
    await mesh.start(tmp_path)
    await mesh.publish(
        record(
            agent_id="writer",
            endpoint=writer.url,
            capabilities=["text_generation"],
            streaming_mode="dynamic_events",
        ),
        record(
            agent_id="analyst",
            instance_id="analyst-1",
            endpoint=analyst.url,
            capabilities=["data_analysis"],
            streaming_mode="dynamic_events",
        ),
    )
    assert (await mesh.run("writer", "text_generation"))["status"] == "completed"
    assert (await mesh.run("analyst", "data_analysis"))["status"] == "completed"
    kept = writer_seen[0]["authorization"].removeprefix("Bearer ")
    assert KEYS.verify(kept, ("workers", "worker:writer")).scope == "orchestrator"
    for elsewhere in ("discovery", ("workers", "worker:analyst"), "orchestrator"):
        with pytest.raises(InvalidToken, match="not for this service"):
            KEYS.verify(kept, elsewhere)
    claims = KEYS.verify(kept)
    assert claims.audience == ("worker:writer",)
    assert claims.expires_at is not None and claims.expires_at - time.time() <= 600
    analysts = analyst_seen[0]["authorization"].removeprefix("Bearer ")
    assert KEYS.verify(analysts).audience == ("worker:analyst",)


class Echo(AgentExecutor):
    """An A2A agent (the a2a-sdk's server, no mesh code): answers with one text artifact;
    ``url`` makes it send a file part with that URL instead."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        part = Part(url=self.url, filename="x.html") if self.url else Part(text="hello")
        await updater.add_artifact([part], artifact_id="out", last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id and context.context_id
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def a2a_agent(port: int, seen: list[dict[str, str]], url: str | None = None) -> FastAPI:
    card = AgentCard(
        name="Echo",
        description="echo",
        version="1",
        supported_interfaces=[
            AgentInterface(
                url=f"http://127.0.0.1:{port}/rpc",
                protocol_binding="JSONRPC",
                protocol_version="1.0",
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="poetry", name="poetry", description="echo", tags=["poetry"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=Echo(url), task_store=InMemoryTaskStore(), agent_card=card
    )
    app = FastAPI(routes=create_jsonrpc_routes(handler, "/rpc"))

    @app.middleware("http")
    async def note(request: Request, call_next: Any) -> Any:
        body = await request.body()
        seen.append({**dict(request.headers), "body": body.decode(errors="replace")})
        return await call_next(request)

    return app


def a2a_record(agent_id: str, port: int, **metadata: Any) -> Any:
    return record(
        agent_id=agent_id,
        instance_id=f"{agent_id}-1",
        endpoint=f"http://127.0.0.1:{port}",
        invoke_path="/rpc",
        stream_path="/rpc",
        capabilities=["poetry"],
        streaming_mode="dynamic_events",
        tags=["a2a"],
        metadata={
            "protocol": "a2a",
            "a2a_url": f"http://127.0.0.1:{port}/rpc",
            "a2a_protocol_version": "1.0",
            "a2a_card_url": f"http://127.0.0.1:{port}/.well-known/agent-card.json",
            **metadata,
        },
    )


BEARER_CARD = {
    "a2a_security_schemes": {"bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer"}}},
    "a2a_security_requirements": [{"schemes": {"bearer": {}}}],
}


async def test_an_a2a_agent_never_receives_the_orchestrators_token_only_its_own_credential(
    mesh: Mesh, tmp_path: Path
) -> None:
    # Two external agents: one whose card asks for a bearer credential (configured for its
    # origin), one listener anyone could have registered (no credential configured).
    with_cred, stranger = free_port(), free_port()
    seen_cred: list[dict[str, str]] = []
    seen_stranger: list[dict[str, str]] = []
    mesh.served.append(await serve_at(a2a_agent(with_cred, seen_cred), "127.0.0.1", with_cred))
    mesh.served.append(await serve_at(a2a_agent(stranger, seen_stranger), "127.0.0.1", stranger))
    creds = tmp_path / "a2a-credentials.json"
    creds.write_text(json.dumps({f"http://127.0.0.1:{with_cred}": {"bearer": "poet-credential"}}))
    await mesh.start(tmp_path, a2a_credentials_file=creds)
    await mesh.publish(
        a2a_record("poet", with_cred, **BEARER_CARD),
        a2a_record("stranger", stranger, **BEARER_CARD),
    )
    poet = await mesh.run("poet", "poetry")
    other = await mesh.run("stranger", "poetry")
    assert poet["status"] == "completed" and other["status"] == "completed", (poet, other)
    assert seen_cred and seen_stranger
    for request in seen_cred + seen_stranger:
        # No mesh token (a JWT: "eyJ...") in any header or in the body, under any name.
        assert not any("eyJ" in value for value in request.values()), request
    assert {r.get("authorization") for r in seen_cred} == {"Bearer poet-credential"}
    assert {r.get("authorization") for r in seen_stranger} == {None}
    assert {r.get("a2a-version") for r in seen_cred + seen_stranger} == {"1.0"}


async def test_an_artifact_url_that_is_not_a_web_link_fails_the_task_and_is_never_relayed(
    mesh: Mesh, tmp_path: Path
) -> None:
    worker_seen: list[dict[str, str]] = []
    frames = [{"type": "artifact", "name": "report", "url": "javascript:alert(document.cookie)"}]
    worker = await serve(streaming_worker(worker_seen, frames))
    mesh.served.append(worker)
    a2a_port = free_port()
    agent = a2a_agent(a2a_port, [], url="data:text/html;base64,PHNjcmlwdD4=")
    mesh.served.append(await serve_at(agent, "127.0.0.1", a2a_port))
    await mesh.start(tmp_path)
    await mesh.publish(
        record(
            agent_id="writer",
            endpoint=worker.url,
            capabilities=["text_generation"],
            streaming_mode="dynamic_events",
        ),
        a2a_record("poet", a2a_port),
    )
    for agent_id, capability in (("writer", "text_generation"), ("poet", "poetry")):
        run = await mesh.run(agent_id, capability)
        (node,) = run["plan"]
        assert node["status"] == "failed" and "artifact URL must be" in node["error"], node
        relayed = [m.json() for m in SSEDecoder().feed(run["events"].encode())]
        assert relayed and not [e for e in relayed if e["type"] == "artifact"]


HOSTS = {
    "evil.example": 400,  # a page whose own name was rebound to 127.0.0.1
    "evil.example:8000": 400,
    "localhost:8000": 200,
    "127.0.0.1:8000": 200,
    "[::1]:8000": 200,
    "mesh.localtest": 200,  # ORCH_TRUSTED_HOSTS
}


async def test_an_open_orchestrator_answers_only_loopback_and_configured_host_names(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.start(tmp_path, keys=None, trusted_hosts="mesh.localtest")
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        for host, status in HOSTS.items():
            for path in ("/v1/runs", "/ui/", "/.well-known/agent-card.json"):
                r = await c.get(path, headers={"Host": host})
                assert r.status_code == status, (host, path, r.text)


async def test_with_auth_the_card_declares_the_bearer_scheme_and_docs_are_off(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.start(tmp_path)
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        card = (await c.get("/.well-known/agent-card.json")).json()
        unauthenticated = await c.post("/a2a", json={"jsonrpc": "2.0", "id": 1, "method": "x"})
        docs = await c.get("/docs")
    assert card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
    assert card["securityRequirements"] == [{"schemes": {"bearer": {}}}]
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    assert docs.status_code == 404


async def test_under_mtls_the_card_declares_the_client_certificate_with_the_token(
    mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client reading the card of an orchestrator that requires client certificates learns
    # it must present one (A2A MutualTlsSecurityScheme), besides its bearer token.
    certs = tmp_path / "certs"
    init_certs(certs, ["orchestrator"])
    monkeypatch.setenv("MESH_TLS_CERT_FILE", str(certs / "orchestrator.pem"))
    monkeypatch.setenv("MESH_TLS_KEY_FILE", str(certs / "orchestrator-key.pem"))
    monkeypatch.setenv("MESH_TLS_CA_FILE", str(certs / "ca.pem"))
    await mesh.start(tmp_path)  # served plainly here: the card is what is looked at
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        card = (await c.get("/.well-known/agent-card.json")).json()
    assert set(card["securitySchemes"]) == {"bearer", "mtls"}
    assert "mtlsSecurityScheme" in card["securitySchemes"]["mtls"]
    assert card["securityRequirements"] == [{"schemes": {"bearer": {}, "mtls": {}}}]


async def test_open_the_card_declares_no_scheme(mesh: Mesh, tmp_path: Path) -> None:
    await mesh.start(tmp_path, keys=None)
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        card = (await c.get("/.well-known/agent-card.json")).json()
    assert "securitySchemes" not in card and "securityRequirements" not in card


async def test_the_dashboard_is_served_with_a_content_security_policy(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.start(tmp_path)
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        for path in ("/ui/", "/ui/js/run.js", "/ui/style.css"):
            r = await c.get(path)
            assert r.status_code == 200
            csp = {
                d.strip().split(" ", 1)[0]: d.strip()
                for d in r.headers["content-security-policy"].split(";")
            }
            assert csp["default-src"] == "default-src 'self'"
            assert csp["frame-ancestors"] == "frame-ancestors 'none'"
            assert csp["img-src"] == "img-src 'self' data:"
            assert r.headers["x-content-type-options"] == "nosniff"
