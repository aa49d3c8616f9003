"""The worker contract: every mesh worker, started as its own process, must pass this module.

Each worker runs once (a module-scoped fixture per parameter) as ``python -m <module>`` on a
free loopback port with registration off (``WORKER_DISCOVERY_URL=""``). A worker whose package
is not installed is skipped, with the reason. To add a worker, add a ``WorkerCase``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
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
from mesh_testkit import free_port, running

TIMEOUT = httpx.Timeout(120.0, connect=5.0)


@dataclass(frozen=True)
class WorkerCase:
    """One worker under contract: how to start it and what it must accept and refuse."""

    module: str
    mode: StreamingMode
    valid: dict[str, Any]
    invalid: dict[str, Any]
    env: Callable[[Path], dict[str, str]] = field(default=lambda tmp: {})
    startup_timeout: float = 60.0


CASES = [
    WorkerCase(
        "mesh_worker_writer",
        StreamingMode.DYNAMIC_EVENTS,
        # The model takes ~25 s to load on a CPU: keep the generations tiny.
        valid={"prompt": "Say hello.", "max_tokens": 8},
        invalid={"prompt": "Say hello.", "max_tokens": 0},
        env=lambda tmp: {"WRITER_ADAPTERS_DIR": str(tmp / "adapters")},
        startup_timeout=240.0,
    ),
    WorkerCase(
        "mesh_worker_analyst",
        StreamingMode.DYNAMIC_MESSAGES,
        valid={"data": "a,b\n1,2\n3,4"},
        invalid={"data": "a,b\n1,2\n3,4", "max_rows": 0},
    ),
    WorkerCase(
        "mesh_worker_lookup",
        StreamingMode.STATIC,
        valid={"query": "what is the agent mesh?"},
        invalid={"query": ""},
    ),
    WorkerCase(
        "mesh_worker_image_gen",
        StreamingMode.DYNAMIC_EVENTS,
        valid={"prompt": "a red square", "steps": 2, "width": 32, "height": 32, "seed": 1},
        invalid={"prompt": "a red square", "steps": 0},
        env=lambda tmp: {"IMAGEGEN_OUTPUT_DIR": str(tmp / "images")},
        startup_timeout=120.0,
    ),
    WorkerCase(
        "mesh_worker_lora_trainer",
        StreamingMode.DYNAMIC_EVENTS,
        valid={
            "examples": ["hello world", "good morning"],
            "steps": 2,
            "batch_size": 2,
            "max_length": 16,
        },
        invalid={"examples": ["hello world"], "steps": 0},
        env=lambda tmp: {"LORA_BASE_MODEL": "tiny", "LORA_ADAPTERS_DIR": str(tmp / "adapters")},
        startup_timeout=120.0,
    ),
]


@dataclass(frozen=True)
class RunningWorker:
    case: WorkerCase
    url: str


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.module.removeprefix("mesh_worker_"))
def worker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningWorker]:
    case: WorkerCase = request.param
    if importlib.util.find_spec(case.module) is None:
        pytest.skip(f"{case.module} is not installed (pip install -e services/workers/<name>)")
    tmp = tmp_path_factory.mktemp(case.module)
    port = free_port()
    env = {"WORKER_PORT": str(port), "WORKER_DISCOVERY_URL": "", **case.env(tmp)}
    with running(case.module, port, env, startup_timeout=case.startup_timeout) as svc:
        yield RunningWorker(case, svc.url)


def stream(url: str, body: Any) -> tuple[httpx.Response, list[WorkerEvent]]:
    """POST /stream and parse every frame as a worker event (raises on a malformed one)."""
    decoder = SSEDecoder()
    events: list[WorkerEvent] = []
    with httpx.stream("POST", url + "/stream", json=body, timeout=TIMEOUT) as resp:
        for chunk in resp.iter_bytes():
            events += [parse_worker_event(m.json()) for m in decoder.feed(chunk)]
    return resp, events


def test_health_answers_ok_with_the_instance_and_its_load(worker: RunningWorker) -> None:
    resp = httpx.get(worker.url + "/health", timeout=TIMEOUT)
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["agent_id"] and body["instance_id"]
    assert 0 <= body["in_flight"] <= body["max_concurrency"]


def test_descriptor_is_valid_with_the_workers_streaming_mode(worker: RunningWorker) -> None:
    resp = httpx.get(worker.url + "/descriptor", timeout=TIMEOUT)
    assert resp.status_code == 200
    d = AgentDescriptor.model_validate(resp.json())
    assert d.streaming_mode is worker.case.mode
    assert d.endpoint == worker.url
    assert d.input_schema.get("type") == "object"
    assert d.capabilities


def test_stream_yields_worker_events_ending_in_done(worker: RunningWorker) -> None:
    resp, events = stream(worker.url, {"task_id": "contract-stream", "input": worker.case.valid})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert events, "no events"
    assert isinstance(events[-1], DoneEvent)
    assert sum(isinstance(e, DoneEvent) for e in events) == 1
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert not errors, errors
    assert len(events) >= 2, "nothing but done"


def test_invoke_returns_a_completed_worker_result(worker: RunningWorker) -> None:
    body = {"task_id": "contract-invoke", "input": worker.case.valid}
    resp = httpx.post(worker.url + "/invoke", json=body, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    result = WorkerResult.model_validate(resp.json())
    assert result.task_id == "contract-invoke"
    assert result.status == "completed", result.error
    descriptor = httpx.get(worker.url + "/descriptor", timeout=TIMEOUT).json()
    assert result.agent_id == descriptor["agent_id"]


def test_invoke_refuses_invalid_input_with_a_422(worker: RunningWorker) -> None:
    body = {"input": worker.case.invalid}
    resp = httpx.post(worker.url + "/invoke", json=body, timeout=TIMEOUT)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"]


def test_stream_refuses_invalid_input_with_an_error_event_then_done(worker: RunningWorker) -> None:
    resp, events = stream(worker.url, {"input": worker.case.invalid})
    assert resp.status_code == 200
    assert [e.type for e in events] == ["error", "done"]
    assert isinstance(events[0], ErrorEvent)
    assert events[0].code == "invalid_input"


@pytest.mark.parametrize("path", ["/invoke", "/stream"])
def test_malformed_json_is_a_422(worker: RunningWorker, path: str) -> None:
    resp = httpx.post(
        worker.url + path,
        content=b'{"input": {',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 422
    assert resp.json()["detail"]
