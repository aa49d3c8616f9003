"""Tracing of runs: one trace per run (run -> phases -> worker calls), the trace context sent
to the workers, and nothing at all when tracing is off. Spans go to the SDK's in-memory
exporter here; tests/test_e2e_tracing.py checks the same over OTLP/HTTP with real processes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from orch_fakes import Mesh, writer_like

from conftest import MeshFactory
from mesh_orchestrator.tracing import NO_TRACER
from mesh_testkit import read_sse


def client_plan(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": [{"capability": "text_generation", **t} for t in tasks]}


async def run_to_done(url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(20), httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                return out
    raise AssertionError("the stream ended without done")


async def spans_once(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    """Every finished span, once one named ``name`` has ended (the run span ends last)."""
    async with asyncio.timeout(10):
        while True:
            spans = list(exporter.get_finished_spans())
            if any(s.name == name for s in spans):
                return spans
            await asyncio.sleep(0.02)


def span_id(s: ReadableSpan) -> int:
    assert s.context is not None
    return int(s.context.span_id)


def parent_id(s: ReadableSpan) -> int | None:
    return s.parent.span_id if s.parent is not None else None


async def test_a_run_is_one_trace_of_run_phases_and_worker_calls_joined_by_traceparent(
    mesh_factory: MeshFactory,
) -> None:
    exporter = InMemorySpanExporter()
    mesh = await mesh_factory(span_exporter=exporter)
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "query": "a traced run",
        "plan": client_plan(
            {"task_id": "a", "input": {"prompt": "ok"}},
            {"task_id": "b", "input": {"prompt": "no", "fail": True}},
        ),
    }
    events = await run_to_done(mesh.url, body)
    spans = await spans_once(exporter, "run")

    (run,) = [s for s in spans if s.name == "run"]
    assert run.parent is None and run.context is not None
    assert run.attributes == {
        "mesh.run_id": events[0]["run_id"],
        "mesh.query_length": len("a traced run"),
        "mesh.planner": "client",
        "mesh.status": events[-1]["data"]["status"],
    }
    traced = [s for s in spans if s.kind is not SpanKind.SERVER]
    assert {s.context.trace_id for s in traced if s.context} == {run.context.trace_id}

    phases = {s.name: s for s in spans if s.name in ("plan", "execute", "synthesize")}
    # a client's plan needs no planning step, so no plan span
    assert set(phases) == {"execute", "synthesize"}
    assert {parent_id(s) for s in phases.values()} == {span_id(run)}
    assert phases["execute"].attributes is not None
    assert phases["execute"].attributes["mesh.tasks_failed"] == 1

    calls = {
        s.attributes["mesh.task_id"]: s
        for s in spans
        if s.attributes and s.name.startswith("call ")
    }
    assert set(calls) == {"a", "b"}
    for call in calls.values():
        assert call.name == "call fakewriter"
        assert parent_id(call) == span_id(phases["execute"])
        assert call.attributes is not None
        assert call.attributes["mesh.instance_id"] == "fakewriter"
        assert call.attributes["mesh.endpoint"] == mesh.workers[0].url
    a, b = calls["a"].attributes, calls["b"].attributes
    assert a is not None and b is not None
    assert (a["mesh.status"], a["mesh.events"]) == ("completed", 3)  # 2 tokens, done
    assert (b["mesh.status"], b["mesh.events"]) == ("failed", 4)  # 2 tokens, error, done
    assert calls["a"].status.status_code is StatusCode.UNSET
    assert calls["b"].status.status_code is StatusCode.ERROR

    # Each worker request carried its call span as the parent.
    trace = f"{run.context.trace_id:032x}"
    sent = sorted(str(h)[:52] for h in mesh.worker(0).traceparents)  # less the flags
    assert sent == sorted(f"00-{trace}-{span_id(c):016x}" for c in calls.values())

    # The run's read of discovery is a CLIENT span beneath the run (it may end after the
    # run: a run never waits for it when the cache can place its tasks), and discovery got
    # its trace context.
    (read,) = [s for s in await spans_once(exporter, "read registry") if s.name == "read registry"]
    assert read.kind is SpanKind.CLIENT and parent_id(read) == span_id(run)
    assert read.attributes is not None
    assert read.attributes["url.full"] == mesh.disc.url + "/v1/agents"
    assert read.attributes["mesh.registry.outcome"] == "current"  # a 304
    assert read.attributes["mesh.registry.index"] == read.attributes["mesh.registry.cached_index"]
    assert f"00-{trace}-{span_id(read):016x}" in [
        str(h)[:52] for h in mesh.disc.app.state.reads if h
    ]

    # The request that started the run has its own server span, linked from the run span.
    (server,) = [s for s in spans if s.name == "POST /orchestrate/stream"]
    assert server.kind is SpanKind.SERVER
    assert [link.context.span_id for link in run.links] == [span_id(server)]


async def test_a_busy_worker_call_is_an_error_span_and_the_retry_its_sibling(
    mesh_factory: MeshFactory,
) -> None:
    exporter = InMemorySpanExporter()
    mesh = await mesh_factory(span_exporter=exporter)
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"query": "q", "plan": client_plan({"task_id": "a", "input": {"busy": 1}})}
    events = await run_to_done(mesh.url, body)
    assert events[-1]["data"]["status"] == "completed"
    spans = await spans_once(exporter, "run")
    calls = [s for s in spans if s.kind is SpanKind.CLIENT and s.name.startswith("call ")]
    assert [s.attributes["mesh.status"] for s in calls if s.attributes] == [
        "busy",
        "completed",
    ]
    assert [s.status.status_code for s in calls] == [StatusCode.ERROR, StatusCode.UNSET]
    assert len({parent_id(s) for s in calls}) == 1


async def test_without_tracing_nothing_is_traced_and_no_traceparent_is_sent(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"query": "q", "plan": client_plan({"task_id": "a", "input": {"prompt": "p"}})}
    events = await run_to_done(mesh.url, body)
    assert events[-1]["data"]["status"] == "completed"
    services = mesh.orch.app.state.services
    assert mesh.orch.app.state.tracer is None
    assert services.runs.tracer is NO_TRACER and services.executor.tracer is NO_TRACER
    assert mesh.worker(0).traceparents == [None]


def events_named(s: ReadableSpan, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in s.events if e.name == name]


async def test_the_run_event_names_its_trace_and_each_call_span_says_why_its_instance_won(
    mesh_factory: MeshFactory,
) -> None:
    exporter = InMemorySpanExporter()
    mesh = await mesh_factory(span_exporter=exporter)
    await mesh.register(
        writer_like(mesh.workers[0].url, instance="wa", priority=5),
        writer_like(mesh.workers[1].url, instance="wb", priority=1),
    )
    # Both replicas refuse the first call (429): wa, then wb, then wa again takes it.
    body = {"query": "q", "plan": client_plan({"task_id": "a", "input": {"busy": 1}})}
    events = await run_to_done(mesh.url, body)
    assert events[-1]["data"]["status"] == "completed"
    spans = await spans_once(exporter, "run")
    (run,) = [s for s in spans if s.name == "run"]
    assert run.context is not None
    assert events[0]["type"] == "run"
    assert events[0]["data"]["trace_id"] == f"{run.context.trace_id:032x}"

    calls = [s for s in spans if s.kind is SpanKind.CLIENT and s.name.startswith("call ")]
    chosen = [s.attributes["mesh.instance_id"] for s in calls if s.attributes]
    assert chosen == ["wa", "wb", "wa"]
    for call, instance in zip(calls, chosen, strict=True):
        (route,) = events_named(call, "mesh.route")
        assert route["mesh.chosen"] == instance
        assert route["mesh.capability"] == "text_generation"
        assert route["mesh.candidates"] == 2
        assert "priority" in str(route["mesh.reason"])
        candidates = {c["mesh.instance_id"]: c for c in events_named(call, "mesh.candidate")}
        assert set(candidates) == {"wa", "wb"}
        assert candidates[instance]["mesh.chosen"] is True
        assert (candidates["wa"]["mesh.priority"], candidates["wb"]["mesh.priority"]) == (5, 1)
        assert all(c["mesh.breaker"] == "closed" and c["mesh.healthy"] for c in candidates.values())
    # The second call was the failover from wa, tried already in this task.
    (second,) = events_named(calls[1], "mesh.route")
    assert second["mesh.eligible"] == 1
    assert events_named(calls[1], "mesh.candidate")[0]["mesh.excluded"] is True
    # Each refusal is an event on its own span, and the next call says what it follows.
    for refused in calls[:2]:
        (failed,) = events_named(refused, "mesh.attempt_failed")
        assert failed["mesh.outcome"] == "busy"
    assert events_named(calls[0], "mesh.failover") == []
    assert "wa busy (429)" in str(events_named(calls[1], "mesh.failover")[0]["mesh.previous"])
    assert "wb busy (429)" in str(events_named(calls[2], "mesh.failover")[0]["mesh.previous"])
    assert events_named(calls[2], "mesh.attempt_failed") == []


async def test_a_run_started_without_tracing_names_no_trace(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"query": "q", "plan": client_plan({"task_id": "a", "input": {"prompt": "p"}})}
    events = await run_to_done(mesh.url, body)
    assert events[0]["type"] == "run" and "trace_id" not in events[0]["data"]
