"""Tracing: with WORKER_OTLP_ENDPOINT set, request spans reach the collector over OTLP/HTTP,
as children of the caller's span; unset, the app has no tracer."""

from __future__ import annotations

from typing import Any

import httpx

from mesh_contracts import AgentDescriptor, TaskRequest
from mesh_telemetry.testing import OTLPCollector
from mesh_worker import AnyInput, Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.telemetry import instrument_app, make_tracer_provider  # re-exported
from mesh_worker.testing import serving

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


class FakeTracedWorker(Worker[AnyInput]):
    Input = AnyInput

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(agent_id="fake-traced", capabilities=["search"], static_response=1)

    async def run(self, task: TaskRequest, inp: AnyInput, emit: Emit) -> Any:
        return "traced"


def test_request_spans_are_exported_to_the_otlp_endpoint_by_shutdown(monkeypatch: Any) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    collector = OTLPCollector()
    with serving(collector.app) as otlp:
        s = WorkerSettings(discovery_url="", otlp_endpoint=otlp)
        with serving(create_worker_app(FakeTracedWorker(), s)) as url:
            headers = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
            assert httpx.post(url + "/invoke", json={}, headers=headers).status_code == 200
            assert httpx.get(url + "/descriptor").status_code == 200
        # The worker's lifespan shutdown flushed the batch processor.
        spans = collector.wait_for(lambda spans: len(spans) >= 2, timeout=10)
    by_name = {s.name: s for s in spans}
    invoke = by_name["POST /invoke"]
    assert (invoke.service, invoke.kind) == ("fake-traced", "server")
    assert (invoke.trace_id, invoke.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert by_name["GET /descriptor"].parent_span_id == ""  # no traceparent: its own trace


def test_without_an_otlp_endpoint_the_worker_has_no_tracer() -> None:
    app = create_worker_app(FakeTracedWorker(), WorkerSettings(discovery_url=""))
    with serving(app) as url:
        assert httpx.post(url + "/invoke", json={}).status_code == 200
        assert app.state.tracer is None


def test_the_sdk_still_exports_its_tracing_names() -> None:
    assert instrument_app.__module__ == "mesh_telemetry.instrumentation"
    assert callable(make_tracer_provider)
