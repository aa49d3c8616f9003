"""``ModelWorker`` and the typed ``Worker[InputT]``: what reaches ``run``, the bound endpoint,
one job at a time on the model, out-of-memory as a retryable error."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from mesh_contracts import AgentDescriptor, ErrorEvent, ProgressEvent, TaskRequest, WorkerEvent
from mesh_worker import (
    Emit,
    ModelLoadError,
    ModelWorker,
    OutOfMemory,
    ThreadEmit,
    Worker,
    WorkerSettings,
    choose_device,
    create_worker_app,
)
from mesh_worker.runtime import WorkerRuntime
from mesh_worker.testing import serving

DEADLINE = 10.0


class FakeJobInput(BaseModel):
    steps: int = 1
    oom: bool = False


class FakeModelWorker(ModelWorker[FakeJobInput, dict[str, str]]):
    """A "model" that is a dict; a job emits one progress event per step in a thread."""

    Input = FakeJobInput

    def __init__(self) -> None:
        super().__init__("cpu", setting="FAKE_DEVICE")
        self.seen: list[type[BaseModel]] = []
        self.on_model = 0
        self.most_on_model = 0
        self.lock = threading.Lock()

    def load_model(self, device: str) -> dict[str, str]:
        return {"name": "fake-model", "device": device}

    def model_name(self, model: dict[str, str]) -> str:
        return model["name"]

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id="fake-model",
            capabilities=["image_generation"],
            streaming_mode="dynamic_events",
            metadata={"extra": 1},
        )

    async def run(self, task: TaskRequest, inp: FakeJobInput, emit: Emit) -> Any:
        self.seen.append(type(inp))

        def job(post: ThreadEmit, stop: threading.Event) -> int:
            with self.lock:
                self.on_model += 1
                self.most_on_model = max(self.most_on_model, self.on_model)
            try:
                if inp.oom:
                    raise OutOfMemory("CUDA out of memory. Tried to allocate 9.00 GiB")
                for step in range(inp.steps):
                    post(ProgressEvent(step=step + 1, total=inp.steps))
                return inp.steps
            finally:
                with self.lock:
                    self.on_model -= 1

        return await self.run_on_model(job, emit, name=f"fake-{task.task_id}")


async def _run(worker: FakeModelWorker, **inp: Any) -> tuple[list[WorkerEvent], Any]:
    events: list[WorkerEvent] = []

    async def emit(event: WorkerEvent) -> None:
        events.append(event)

    out = await worker.run(TaskRequest(input=inp), FakeJobInput(**inp), emit)
    return events, out


async def test_out_of_memory_becomes_a_retryable_error_event_and_the_worker_keeps_serving() -> None:
    worker = FakeModelWorker()
    await worker.startup()
    events, out = await _run(worker, oom=True)
    assert out is None
    [error] = events
    assert isinstance(error, ErrorEvent)
    assert (error.code, error.retryable) == ("out_of_memory", True)
    assert "out of memory" in error.error
    events, out = await _run(worker, steps=2)
    assert out == 2 and len(events) == 2
    assert worker.health()["running"] == 0


async def test_torchs_cuda_out_of_memory_error_is_recognised_too() -> None:
    torch = pytest.importorskip("torch")
    worker = FakeModelWorker()
    await worker.startup()

    def job(post: ThreadEmit, stop: threading.Event) -> int:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    events: list[WorkerEvent] = []

    async def emit(event: WorkerEvent) -> None:
        events.append(event)

    assert await worker.run_on_model(job, emit, name="torch-oom") is None
    assert [type(e) for e in events] == [ErrorEvent]


async def test_jobs_take_turns_on_the_model() -> None:
    worker = FakeModelWorker()
    await worker.startup()
    outs = await asyncio.gather(*(_run(worker, steps=50) for _ in range(4)))
    assert [out for _, out in outs] == [50] * 4
    assert worker.most_on_model == 1


async def test_startup_loads_on_the_chosen_device_and_health_and_descriptor_say_so() -> None:
    worker = FakeModelWorker()
    assert worker.health() == {
        "model_loaded": False,
        "model": None,
        "device": None,
        "running": 0,
    }
    await worker.startup()
    assert worker.loaded() == {"name": "fake-model", "device": "cpu"}
    assert worker.health()["model_loaded"] is True
    d = worker.describe()
    assert d.metadata == {"model": "fake-model", "device": "cpu", "extra": 1}
    assert (d.max_concurrency, d.tags, d.resources.device) == (1, [], "cpu")
    assert d.input_schema == FakeJobInput.model_json_schema()


def test_choose_device_refuses_a_cuda_device_torch_cannot_see(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device("auto") == "cpu"
    assert choose_device("cpu") == "cpu"
    with pytest.raises(ModelLoadError, match="FAKE_DEVICE=cuda:1 but torch sees no CUDA"):
        choose_device("cuda:1", setting="FAKE_DEVICE")


def test_the_runtime_binds_the_endpoint_so_describe_need_not_name_it() -> None:
    worker = FakeModelWorker()
    s = WorkerSettings(discovery_url="", public_url="http://models.example:8123/")
    runtime = WorkerRuntime(worker, s)
    assert worker.endpoint == "http://models.example:8123"
    assert runtime.describe().endpoint == "http://models.example:8123"


class EchoTypeInput(BaseModel):
    text: str


class EchoTypeWorker(Worker[EchoTypeInput]):
    Input = EchoTypeInput

    def describe(self) -> AgentDescriptor:
        return self.descriptor(agent_id="echo-type", capabilities=["search"])

    async def run(self, task: TaskRequest, inp: EchoTypeInput, emit: Emit) -> Any:
        return {"type": type(inp).__name__, "upper": inp.text.upper()}


def test_run_receives_the_input_validated_as_the_workers_input_model() -> None:
    s = WorkerSettings(discovery_url="", port=8123)
    with serving(create_worker_app(EchoTypeWorker(), s)) as url:
        resp = httpx.post(url + "/invoke", json={"input": {"text": "hi"}}, timeout=DEADLINE)
        d = AgentDescriptor.model_validate(httpx.get(url + "/descriptor").json())
    assert resp.json()["output"] == {"type": "EchoTypeInput", "upper": "HI"}
    assert d.endpoint == "http://127.0.0.1:8123"  # from the settings: describe() named none
