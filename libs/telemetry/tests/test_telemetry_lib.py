"""mesh_telemetry: off costs nothing; on, server spans join the caller's trace and reach an
OTLP/HTTP collector."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mesh_telemetry import (
    Tracing,
    instrument_app,
    instrument_client,
    service_name,
    start_tracing,
    traceparent_headers,
    traces_url,
)
from mesh_telemetry.testing import OTLPCollector

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traced_app(tracing: Tracing | None) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}", response_class=PlainTextResponse)
    async def item(item_id: str) -> str:
        return item_id

    @app.get("/boom")
    async def boom() -> PlainTextResponse:
        return PlainTextResponse("no", status_code=503)

    @app.get("/health", response_class=PlainTextResponse)
    async def health() -> str:
        return "ok"

    instrument_app(app, enabled=tracing is not None)
    app.state.tracer = tracing.tracer if tracing else None  # as a lifespan sets it
    return app


def test_importing_and_leaving_tracing_off_imports_no_opentelemetry() -> None:
    code = (
        "import sys, mesh_telemetry as t\n"
        "assert t.start_tracing('x', None) is None and t.start_tracing('x', '') is None\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_traces_url_appends_the_otlp_path_once() -> None:
    assert traces_url("http://jaeger:4318") == "http://jaeger:4318/v1/traces"
    assert traces_url("http://jaeger:4318/") == "http://jaeger:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_otel_service_name_overrides_the_default_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    assert service_name("analyst") == "analyst"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "analyst-eu")
    assert service_name("analyst") == "analyst-eu"


async def test_server_span_joins_the_callers_trace_and_is_named_by_route() -> None:
    exporter = InMemorySpanExporter()
    tracing = start_tracing("svc", None, exporter=exporter)
    app = traced_app(tracing)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/items/42", headers={"traceparent": CALLER})).text == "42"
        assert (await c.get("/boom")).status_code == 503
        assert (await c.get("/health")).status_code == 200
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    assert set(by_name) == {"GET /items/{item_id}", "GET /boom"}  # /health is not traced
    item = by_name["GET /items/{item_id}"]
    assert item.kind is SpanKind.SERVER
    assert item.context is not None and item.parent is not None
    assert f"{item.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{item.parent.span_id:016x}" == "b7ad6b7169203331"
    assert item.attributes is not None and item.attributes["url.path"] == "/items/42"
    assert by_name["GET /boom"].status.status_code is StatusCode.ERROR
    assert by_name["GET /boom"].parent is None  # no traceparent: a root span


async def test_without_a_tracer_requests_pass_through_untraced() -> None:
    app = traced_app(None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/items/7")).text == "7"


def test_an_app_left_uninstrumented_loads_neither_instrumentation_nor_sdk() -> None:
    # FastAPI itself imports the OpenTelemetry API (its native telemetry, off here).
    code = (
        "import sys, httpx, fastapi, mesh_telemetry as t\n"
        "t.instrument_app(fastapi.FastAPI(), enabled=False)\n"
        "t.instrument_client(httpx.AsyncClient(), None)\n"
        "print(sorted(m for m in sys.modules if m.startswith(\n"
        "    ('opentelemetry.instrumentation', 'opentelemetry.sdk'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_requests_before_the_lifespan_sets_a_tracer_make_no_spans() -> None:
    exporter = InMemorySpanExporter()
    tracing = start_tracing("svc", None, exporter=exporter)
    assert tracing is not None
    app = traced_app(None)
    instrument_app(app, enabled=True)  # as create_app does, before the lifespan
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/items/1", headers={"traceparent": CALLER})).text == "1"
        app.state.tracer = tracing.tracer  # the lifespan has started tracing
        assert (await c.get("/items/2")).text == "2"
    assert [s.attributes["url.path"] for s in exporter.get_finished_spans() if s.attributes] == [
        "/items/2"
    ]


async def test_a_streamed_response_leaves_chunk_by_chunk_inside_one_server_span() -> None:
    exporter = InMemorySpanExporter()
    tracing = start_tracing("svc", None, exporter=exporter)
    assert tracing is not None
    first_sent = asyncio.Event()
    app = FastAPI()

    @app.get("/events/{n}")
    async def events(n: int) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            await first_sent.wait()  # only once the client side has the first event
            for i in range(2, n + 1):
                yield f"data: {i}\n\n".encode()

        return StreamingResponse(body(), media_type="text/event-stream")

    instrument_app(app, enabled=True)
    app.state.tracer = tracing.tracer
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if message.get("body", b"").startswith(b"data: 1"):
            first_sent.set()

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/events/50", "raw_path": b"/events/50", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"t")], "server": ("t", 80), "client": None,
    }  # fmt: skip
    async with asyncio.timeout(5):  # a buffering middleware would wait here forever
        await app(scope, receive, send)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]
    assert len(bodies) == 50
    (span,) = exporter.get_finished_spans()  # no span per ASGI send or receive
    assert span.name == "GET /events/{n}" and span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/events/{n}"
    assert span.attributes["http.response.status_code"] == 200


async def test_a_client_span_per_request_travels_as_the_callees_traceparent() -> None:
    exporter = InMemorySpanExporter()
    tracing = start_tracing("svc", None, exporter=exporter)
    seen: list[str | None] = []

    def callee(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(callee)) as c:
        instrument_client(c, tracing)
        assert (await c.put("http://discovery/v1/agents/w1/heartbeat")).status_code == 204
    (client,) = exporter.get_finished_spans()
    assert client.kind is SpanKind.CLIENT and client.context is not None
    assert client.attributes is not None
    assert client.attributes["http.request.method"] == "PUT"
    assert client.attributes["http.response.status_code"] == 204
    ctx = client.context
    # less the flags byte
    assert [str(h)[:52] for h in seen] == [f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}"]


def test_traceparent_headers_name_the_span_as_parent() -> None:
    tracing = start_tracing("svc", None, exporter=InMemorySpanExporter())
    assert tracing is not None
    with tracing.tracer.start_as_current_span("call") as span:
        headers = traceparent_headers(span)
    ctx = span.get_span_context()
    # The flags byte may carry more than "sampled" (01): W3C level 2 adds "random" (02).
    assert headers["traceparent"].startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


async def test_spans_reach_the_otlp_http_collector_by_shutdown() -> None:
    collector = OTLPCollector()
    with collector.serving() as url:
        tracing = start_tracing("exporting-svc", url, instrumentation="test")
        assert tracing is not None
        with tracing.tracer.start_as_current_span("work", attributes={"n": 3}):
            pass
        await tracing.shutdown()  # the batch processor exports what it holds
        spans = collector.wait_for(lambda spans: bool(spans), timeout=10)
    assert [(s.service, s.name, s.attributes, s.parent_span_id) for s in spans] == [
        ("exporting-svc", "work", {"n": 3}, "")
    ]
