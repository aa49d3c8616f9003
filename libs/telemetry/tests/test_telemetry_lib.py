"""mesh_telemetry: off costs nothing; on, server spans join the caller's trace and reach an
OTLP/HTTP collector."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mesh_telemetry import (
    Tracing,
    TracingMiddleware,
    service_name,
    start_tracing,
    traceparent_headers,
    traces_url,
)
from mesh_telemetry.testing import OTLPCollector

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def traced_app(tracing: Tracing | None) -> Starlette:
    async def item(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["item_id"])

    async def boom(request: Request) -> PlainTextResponse:
        return PlainTextResponse("no", status_code=503)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/items/{item_id}", item),
            Route("/boom", boom),
            Route("/health", health),
        ]
    )
    app.state.tracer = tracing.tracer if tracing else None
    app.add_middleware(TracingMiddleware)
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
