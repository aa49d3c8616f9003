"""Tracing end to end on real processes: discovery, the analyst worker and the orchestrator
export OTLP/HTTP to a fake collector, and one run is one trace across the mesh: from the run
through discovery (the run's read of the registry) to the worker.

The collector (``mesh_telemetry.testing.OTLPCollector``) decodes every ``POST /v1/traces``
body as an ``ExportTraceServiceRequest``. Spans are batched in each process, so the test
stops the processes with SIGTERM (their lifespans shut the tracer providers down, which
exports the rest) and then waits on the collector with a deadline.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_telemetry.testing import CollectedSpan, OTLPCollector
from mesh_testkit import read_sse
from mesh_testkit.mesh import process_mesh

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mesh_worker_analyst") is None, reason="analyst not installed"
)
CSV = "city,temp,rain\nOslo,4,80\nRome,18,40\nCairo,30,2\nLima,19,1\n"


async def run_once(url: str) -> list[dict[str, Any]]:
    """One run with a client plan for the analyst, read to its ``done`` event."""
    body = {
        "query": "which city is the driest?",
        "plan": {
            "tasks": [
                {
                    "task_id": "t1",
                    "capability": "data_analysis",
                    "input": {"data": CSV, "question": "driest city"},
                }
            ]
        },
    }
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


def one(spans: list[CollectedSpan], service: str, name: str) -> CollectedSpan:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, (service, name, sorted({(s.service, s.name) for s in spans}))
    return found[0]


def has_run_and_worker_span(spans: list[CollectedSpan]) -> bool:
    names = {(s.service, s.name) for s in spans}
    return {("orchestrator", "run"), ("analyst", "POST /stream")} <= names


def in_trace(spans: list[CollectedSpan], trace_id: str, service: str, name: str) -> CollectedSpan:
    found = [s for s in spans if (s.trace_id, s.service, s.name) == (trace_id, service, name)]
    assert len(found) == 1, (service, name, sorted({(s.service, s.name) for s in spans}))
    return found[0]


async def test_a_run_is_one_trace_from_the_orchestrator_into_the_worker(tmp_path: Path) -> None:
    collector = OTLPCollector()
    with collector.serving() as otlp:
        with process_mesh(
            tmp_path,
            {"analyst": ("mesh_worker_analyst", {"OTEL_SERVICE_NAME": "analyst"})},
            discovery_env={"DISCOVERY_OTLP_ENDPOINT": otlp, "OTEL_SERVICE_NAME": "discovery"},
            worker_env={"WORKER_OTLP_ENDPOINT": otlp},
            orchestrator_env={"ORCH_OTLP_ENDPOINT": otlp, "OTEL_SERVICE_NAME": "orchestrator"},
            ready_timeout=30,
        ) as mesh:
            try:
                events = await run_once(mesh.url)
                assert events[-1]["data"]["status"] == "completed", events[-3:]
            finally:
                mesh.stop()  # SIGTERM: each lifespan shuts its tracer provider down, exporting
        spans = collector.wait_for(has_run_and_worker_span, timeout=20)

    run = one(spans, "orchestrator", "run")
    assert run.parent_span_id == ""  # the root of the run's trace
    assert run.attributes["mesh.run_id"] == events[0]["run_id"]
    assert run.attributes["mesh.status"] == "completed"
    execute = one(spans, "orchestrator", "execute")
    assert (execute.trace_id, execute.parent_span_id) == (run.trace_id, run.span_id)
    call = one(spans, "orchestrator", "call analyst")
    assert call.kind == "client"
    assert (call.trace_id, call.parent_span_id) == (run.trace_id, execute.span_id)
    assert call.attributes["mesh.task_id"] == "t1"
    assert call.attributes["mesh.status"] == "completed"
    assert call.attributes["mesh.events"] >= 2  # the analyst's messages, its result, done
    # The stream's run event names the trace; the call span says why the analyst was chosen.
    assert events[0]["type"] == "run" and events[0]["data"]["trace_id"] == run.trace_id
    (route,) = call.events_named("mesh.route")
    instance = call.attributes["mesh.instance_id"]
    assert route["mesh.chosen"] == instance and route["mesh.capability"] == "data_analysis"
    assert route["mesh.candidates"] == route["mesh.eligible"] == 1
    (candidate,) = call.events_named("mesh.candidate")
    assert candidate["mesh.instance_id"] == instance and candidate["mesh.chosen"] is True
    assert candidate["mesh.breaker"] == "closed" and candidate["mesh.healthy"] is True

    served = one(spans, "analyst", "POST /stream")
    assert served.kind == "server"
    assert served.trace_id == run.trace_id  # the worker joined the run's trace
    assert served.parent_span_id == call.span_id  # beneath the orchestrator's call

    # Through discovery: the run's read of the registry is a CLIENT span beneath the run,
    # and discovery's server span for it is in the run's trace, beneath that read.
    read = one(spans, "orchestrator", "read registry")
    assert read.kind == "client"
    assert (read.trace_id, read.parent_span_id) == (run.trace_id, run.span_id)
    assert read.attributes["mesh.registry.outcome"] == "current"  # a 304: nothing changed
    listed = in_trace(spans, run.trace_id, "discovery", "GET /v1/agents")
    assert listed.kind == "server" and listed.parent_span_id == read.span_id
    assert listed.attributes["http.response.status_code"] == 304
    # Discovery traced otherwise too: the worker's registration is one of its server spans.
    assert any(s.service == "discovery" and s.name == "POST /v1/agents" for s in spans)
    # The request that started the run is the orchestrator's own server span.
    request = one(spans, "orchestrator", "POST /orchestrate/stream")
    assert request.kind == "server" and run.links == ((request.trace_id, request.span_id),)
