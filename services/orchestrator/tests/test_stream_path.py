"""``POST /orchestrate/stream``'s fast path (``api.stream_path``): plain requests are served
ahead of FastAPI, everything else reaches the route with its body intact, and errors
after admission are the app's own short JSON answers."""

from __future__ import annotations

import asyncio
import gc
import weakref
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from orch_fakes import Mesh, writer_like
from starlette.responses import Response
from test_orchestrator_tracing import spans_once

from conftest import MeshFactory
from mesh_orchestrator.api import stream_path
from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.caps import TooMany
from mesh_orchestrator.runs.service import Draining
from mesh_testkit import read_sse

DEADLINE = 20.0


def query(text: str = "write a poem about the sea") -> dict[str, Any]:
    return {"query": text}


def served_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the streams the fast path opened (the route calls its own name)."""
    calls: list[int] = []
    real = stream_path.open_run_stream

    async def counting(*args: Any) -> Any:
        calls.append(1)
        return await real(*args)

    monkeypatch.setattr(stream_path, "open_run_stream", counting)
    return calls


async def events(c: httpx.AsyncClient, url: str, **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(DEADLINE):
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", **kw):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


async def test_a_plain_stream_request_skips_the_stack_and_is_counted_under_its_route(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    calls = served_here(monkeypatch)
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        got = await events(c, mesh.url, json=query())
        assert got[-1]["type"] == "done" and got[-1]["data"]["status"] == "completed"
        assert calls == [1]
        # A browser's request (CORS is the stack's) takes the route, with the same stream.
        got = await events(c, mesh.url, json=query(), headers={"Origin": "http://127.0.0.1"})
        assert got[-1]["type"] == "done" and calls == [1]
        text = (await c.get(mesh.url + "/metrics")).text
    counted = 'mesh_http_requests_total{method="POST",route="/orchestrate/stream",status="200"}'
    assert f"{counted} 2.0" in text


async def test_with_tracing_on_the_fast_path_serves_inside_the_traced_stack(
    mesh_factory: MeshFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    mesh = await mesh_factory(span_exporter=exporter)
    await mesh.register(writer_like(mesh.workers[0].url))
    calls = served_here(monkeypatch)
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        got = await events(c, mesh.url, json=query())
    assert got[-1]["type"] == "done" and calls == [1]
    spans = await spans_once(exporter, "POST /orchestrate/stream")
    (server,) = [s for s in spans if s.name == "POST /orchestrate/stream"]
    assert server.attributes is not None
    assert server.attributes.get("http.response.status_code") == 200


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{nope", {"Content-Type": "application/json"}),
        (b'{"query": "x", "nope": 1}', {"Content-Type": "application/json"}),
        (b'{"query": "   "}', {"Content-Type": "application/json"}),
        (b"null", {"Content-Type": "application/json"}),
        (b"", {"Content-Type": "application/json"}),
        (b'{"query": "x"}', {"Content-Type": "text/plain"}),
        (b"[" * 300 + b"]" * 300, {"Content-Type": "application/json"}),
    ],
)
async def test_bad_bodies_reach_the_route_and_get_a_short_422(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch, content: bytes, headers: dict[str, str]
) -> None:
    calls = served_here(monkeypatch)
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        r = await c.post(mesh.url + "/orchestrate/stream", content=content, headers=headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/json" and len(r.content) < 2000
        assert "detail" in r.json()
        assert calls == []
        assert (await c.get(mesh.url + "/v1/runs")).json() == []  # nothing started


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (TooMany("this client already has 1 streams open here", 3), 429, "streams open"),
        (Draining(), 503, "shutting down"),
        (RuntimeError("boom"), 500, "internal error: RuntimeError"),
    ],
)
async def test_errors_once_admitted_are_the_apps_json_answers(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, detail: str
) -> None:
    async def refuse(*_: Any) -> Any:
        raise error

    monkeypatch.setattr(stream_path, "open_run_stream", refuse)
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        r = await c.post(mesh.url + "/orchestrate/stream", json=query())
        assert r.status_code == status, r.text
        assert detail in r.json()["detail"]
        if status == 429:
            assert r.headers["retry-after"] == "3"
        if status == 503:
            assert r.headers["retry-after"] == "1"
        text = (await c.get(mesh.url + "/metrics")).text
    counted = (
        f'mesh_http_requests_total{{method="POST",route="/orchestrate/stream",status="{status}"}}'
    )
    assert f"{counted} 1.0" in text


class Inner:
    """The stack behind the fast path: what it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 422, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def request(body: bytes, *extra: tuple[bytes, bytes]) -> tuple[dict[str, Any], Any, Any]:
    app = SimpleNamespace(state=SimpleNamespace(services=object(), mesh_keys=None))
    app.state.mesh_trusted_hosts = ["127.0.0.1"]
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    scope = {"type": "http", "method": "POST", "path": "/orchestrate/stream"}
    scope |= {"headers": headers, "app": app}
    parts = [{"type": "http.request", "body": body[:3], "more_body": True}]
    parts += [{"type": "http.request", "body": body[3:], "more_body": False}]
    inbox: list[dict[str, Any]] = [*parts, {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope["sent"] = sent
    return scope, receive, send


async def test_a_body_handed_to_the_route_is_the_one_sent_read_once() -> None:
    inner = Inner()
    path = stream_path.StreamPath(inner, None, max_body_bytes=1000)
    for body, extra in [
        (b'{"query": 1}', ()),  # does not validate
        (b'{"query": "x"}', ((b"host", b"evil.example"),)),  # a foreign Host, open mesh
    ]:
        scope, receive, send = request(body, *extra)
        if extra:
            scope["headers"] = [h for h in scope["headers"] if h[0] != b"host"] + list(extra)
        await path(scope, receive, send)
        assert inner.bodies[-1] == body
        assert scope["sent"][0]["status"] == 422  # the inner app's answer, untouched


async def test_a_body_past_the_limit_or_undeclared_goes_to_the_stack_unread() -> None:
    inner = Inner()
    path = stream_path.StreamPath(inner, None, max_body_bytes=5)
    scope, receive, send = request(b'{"query": "x"}')
    await path(scope, receive, send)
    assert inner.bodies == [b'{"q']  # unread here: the stack gets the first part as sent
    scope, receive, send = request(b'{"query": "x"}')
    scope["headers"] = [h for h in scope["headers"] if h[0] != b"content-length"]
    path.max_body_bytes = 1000
    await path(scope, receive, send)
    assert inner.bodies[-1] == b'{"q'  # chunked: the stack's body limit counts it


async def test_a_client_that_leaves_before_its_body_ends_gets_nothing_and_nothing_starts() -> None:
    inner = Inner()
    path = stream_path.StreamPath(inner, None, max_body_bytes=1000)
    scope, _, send = request(b'{"query": "x"}')
    messages = [
        {"type": "http.request", "body": b'{"q', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def leaving() -> dict[str, Any]:
        return messages.pop(0)

    await path(scope, leaving, send)
    assert scope["sent"] == [] and inner.bodies == []


async def test_an_open_stream_keeps_nothing_of_its_parsed_request(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request model (its options, budget, query) is dropped once the run is started:
    a stream held open for minutes keeps only what the run took of it (~1 KB a stream)."""
    alive: list[bool] = []
    made: list[weakref.ref[OrchestrateRequest]] = []

    class Held(Response):
        def __init__(self) -> None:
            self.status_code = 200

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            gc.collect()  # the stream is open here: what is still referenced is held by it
            alive.append(made[0]() is not None)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def opened(svc: Any, caller: Any, request: OrchestrateRequest) -> Response:
        made.append(weakref.ref(request))
        return Held()

    monkeypatch.setattr(stream_path, "open_run_stream", opened)
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        r = await c.post(mesh.url + "/orchestrate/stream", json=query())
    assert r.status_code == 200 and alive == [False]
