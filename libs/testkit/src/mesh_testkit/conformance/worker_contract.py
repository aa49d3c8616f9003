"""The worker contract suite: what every mesh worker must answer over HTTP.

Subclass ``WorkerContract`` in a test module and override the ``worker`` fixture with a
worker already serving on a URL (a real process, or uvicorn on a loopback port), plus one
input it must accept and one it must refuse::

    from mesh_testkit import free_port, running
    from mesh_testkit.conformance.worker_contract import WorkerContract, WorkerUnderTest

    class TestMyWorker(WorkerContract):
        @pytest.fixture(scope="class")
        @classmethod
        def worker(cls):
            port = free_port()
            env = {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": ""}
            with running("my_worker", port, env) as svc:
                yield WorkerUnderTest(
                    svc.url, StreamingMode.STATIC, valid={"query": "hi"}, invalid={"query": ""}
                )

The checks speak HTTP only (httpx), and parse what comes back with ``mesh_contracts``: the
worker API is ``GET /health``, ``GET /descriptor``, ``POST /invoke`` and ``POST /stream``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mesh_contracts import (
    AgentDescriptor,
    DoneEvent,
    ErrorEvent,
    SSEDecoder,
    StreamingMode,
    WorkerEvent,
    WorkerResult,
    parse_worker_event,
)

__all__ = ["TIMEOUT", "WorkerContract", "WorkerUnderTest", "stream"]

TIMEOUT = httpx.Timeout(120.0, connect=5.0)
"""Generous: a model-backed worker on a CPU may take a while to answer its first request."""


@dataclass(frozen=True)
class WorkerUnderTest:
    """A serving worker: its base URL (the endpoint its descriptor must report), its streaming
    mode, one task input it must accept (kept small: it really runs) and one it must refuse."""

    url: str
    mode: StreamingMode
    valid: dict[str, Any]
    invalid: dict[str, Any]


def stream(url: str, body: Any) -> tuple[httpx.Response, list[WorkerEvent]]:
    """POST ``url``/stream and parse every frame as a worker event (raises on a malformed one)."""
    decoder = SSEDecoder()
    events: list[WorkerEvent] = []
    with httpx.stream("POST", url + "/stream", json=body, timeout=TIMEOUT) as resp:
        for chunk in resp.iter_bytes():
            events += [parse_worker_event(m.json()) for m in decoder.feed(chunk)]
    return resp, events


class WorkerContract:
    """Every worker passes these tests. Override ``worker``, class-scoped as a classmethod (the
    tests only read the worker, and a model-backed worker is slow to start)."""

    @pytest.fixture(scope="class")
    @classmethod
    def worker(cls) -> WorkerUnderTest:
        raise NotImplementedError(
            f"{cls.__name__} must override the `worker` fixture of WorkerContract"
        )

    def test_health_answers_ok_with_the_instance_and_its_load(
        self, worker: WorkerUnderTest
    ) -> None:
        resp = httpx.get(worker.url + "/health", timeout=TIMEOUT)
        assert resp.status_code == 200
        body = resp.json()
        assert body["status"] == "ok"
        assert body["agent_id"] and body["instance_id"]
        assert 0 <= body["in_flight"] <= body["max_concurrency"]

    def test_descriptor_is_valid_with_the_workers_streaming_mode(
        self, worker: WorkerUnderTest
    ) -> None:
        resp = httpx.get(worker.url + "/descriptor", timeout=TIMEOUT)
        assert resp.status_code == 200
        d = AgentDescriptor.model_validate(resp.json())
        assert d.streaming_mode is worker.mode
        assert d.endpoint == worker.url
        assert d.input_schema.get("type") == "object"
        assert d.capabilities

    def test_stream_yields_worker_events_ending_in_done(self, worker: WorkerUnderTest) -> None:
        resp, events = stream(worker.url, {"task_id": "contract-stream", "input": worker.valid})
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert events, "no events"
        assert isinstance(events[-1], DoneEvent)
        assert sum(isinstance(e, DoneEvent) for e in events) == 1
        errors = [e for e in events if isinstance(e, ErrorEvent)]
        assert not errors, errors
        assert len(events) >= 2, "nothing but done"

    def test_invoke_returns_a_completed_worker_result(self, worker: WorkerUnderTest) -> None:
        body = {"task_id": "contract-invoke", "input": worker.valid}
        resp = httpx.post(worker.url + "/invoke", json=body, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        result = WorkerResult.model_validate(resp.json())
        assert result.task_id == "contract-invoke"
        assert result.status == "completed", result.error
        descriptor = httpx.get(worker.url + "/descriptor", timeout=TIMEOUT).json()
        assert result.agent_id == descriptor["agent_id"]

    def test_invoke_says_what_the_call_cost(self, worker: WorkerUnderTest) -> None:
        """``usage`` (the worker SDK measures ``wall_s`` of every call; the rest is what
        the worker reported with ``report_usage``)."""
        body = {"task_id": "contract-usage", "input": worker.valid}
        resp = httpx.post(worker.url + "/invoke", json=body, timeout=TIMEOUT)
        usage = WorkerResult.model_validate(resp.json()).usage
        assert usage is not None and usage.wall_s is not None and usage.wall_s >= 0

    def test_invoke_refuses_invalid_input_with_a_422(self, worker: WorkerUnderTest) -> None:
        body = {"input": worker.invalid}
        resp = httpx.post(worker.url + "/invoke", json=body, timeout=TIMEOUT)
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"]

    def test_stream_refuses_invalid_input_with_an_error_event_then_done(
        self, worker: WorkerUnderTest
    ) -> None:
        resp, events = stream(worker.url, {"input": worker.invalid})
        assert resp.status_code == 200
        assert [e.type for e in events] == ["error", "done"]
        assert isinstance(events[0], ErrorEvent)
        assert events[0].code == "invalid_input"

    @pytest.mark.parametrize("path", ["/invoke", "/stream"])
    def test_malformed_json_is_a_422(self, worker: WorkerUnderTest, path: str) -> None:
        resp = httpx.post(
            worker.url + path,
            content=b'{"input": {',
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        assert resp.status_code == 422
        assert resp.json()["detail"]
