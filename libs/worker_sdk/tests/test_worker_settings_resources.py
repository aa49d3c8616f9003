"""Settings defaults and overrides; hardware detection, torch imported only on request."""

from __future__ import annotations

import socket
import subprocess
import sys
import types
from typing import Any, ClassVar

import pytest

from mesh_contracts import AgentDescriptor, ResourceSpec, TaskRequest
from mesh_worker import AnyInput, Emit, Worker, WorkerSettings, detect_resources
from mesh_worker.runtime import WorkerRuntime


def test_settings_default_to_loopback_and_derive_url_instance_and_heartbeat() -> None:
    s = WorkerSettings(port=8123)
    assert s.base_url == "http://127.0.0.1:8123"
    assert s.discovery_url == "http://127.0.0.1:9000"
    assert s.heartbeat_every == pytest.approx(s.lease_ttl_seconds / 3)
    host = socket.gethostname().lower()
    assert s.instance_id_for("writer").startswith("writer-")
    assert s.instance_id_for("writer").endswith("-8123")
    assert host.split(".")[0][:3] in s.instance_id_for("writer")
    assert WorkerSettings(instance_id="w-7").instance_id_for("writer") == "w-7"
    assert WorkerSettings(public_url="https://w.example/").base_url == "https://w.example"


def test_settings_read_worker_env_and_the_port_env_beats_the_default_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert WorkerSettings.for_port(8001).port == 8001
    monkeypatch.setenv("WORKER_PORT", "9101")
    monkeypatch.setenv("WORKER_DISCOVERY_URL", "")
    monkeypatch.setenv("WORKER_HEARTBEAT_INTERVAL", "2")
    s = WorkerSettings.for_port(8001)
    assert s.port == 9101
    assert s.discovery_url == ""
    assert s.heartbeat_every == 2


def test_durations_are_named_seconds_and_the_old_interval_names_still_read(monkeypatch) -> None:
    monkeypatch.setenv("WORKER_PING_SECONDS", "0.5")
    monkeypatch.setenv("WORKER_HEARTBEAT_SECONDS", "3")
    s = WorkerSettings()
    assert (s.ping_seconds, s.heartbeat_every) == (0.5, 3)
    monkeypatch.delenv("WORKER_PING_SECONDS")
    monkeypatch.setenv("WORKER_PING_INTERVAL", "0.25")  # the name before
    assert WorkerSettings().ping_seconds == 0.25
    assert WorkerSettings(ping_seconds=2).ping_seconds == 2


def test_importing_the_sdk_does_not_import_torch() -> None:
    code = "import sys, mesh_worker, mesh_worker.resources; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _fake_torch(cuda: bool) -> types.ModuleType:
    """torch with two GPUs: device 0 an 80 GB card, device 1 a 24 GB one (the current one)."""
    torch = types.ModuleType("torch")
    torch.__version__ = "9.9.9"  # type: ignore[attr-defined]
    gpus = [
        types.SimpleNamespace(name="Fake GPU 80GB", total_memory=80 * 1024**3),
        types.SimpleNamespace(name="Fake GPU 24GB", total_memory=24 * 1024**3),
    ]

    def get_device_properties(index: int) -> types.SimpleNamespace:
        if not 0 <= index < len(gpus):
            raise AssertionError(f"Invalid device id {index}")
        return gpus[index]

    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: cuda,
        device_count=lambda: len(gpus),
        current_device=lambda: 1,
        get_device_properties=get_device_properties,
    )
    torch.version = types.SimpleNamespace(cuda="12.4")  # type: ignore[attr-defined]
    return torch


def test_detect_resources_reports_the_gpus_torch_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=True))
    assert detect_resources() == ResourceSpec(
        gpu=True,
        gpu_count=2,
        gpu_model="Fake GPU 80GB",
        vram_mb=80 * 1024,
        device="cuda",
        cuda_version="12.4",
        torch_version="9.9.9",
    )


def test_detect_resources_reports_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=False))
    assert detect_resources() == ResourceSpec(gpu=False, device="cpu", torch_version="9.9.9")


def test_a_worker_on_the_cpu_of_a_gpu_machine_reports_no_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=True))
    assert detect_resources(device="cpu") == ResourceSpec(
        gpu=False, device="cpu", torch_version="9.9.9"
    )


@pytest.mark.parametrize(
    ("device", "model", "vram_gb"),
    [
        ("cuda:0", "Fake GPU 80GB", 80),
        ("cuda:1", "Fake GPU 24GB", 24),
        ("cuda", "Fake GPU 24GB", 24),
    ],
)
def test_a_worker_on_one_gpu_reports_that_gpus_facts(
    monkeypatch: pytest.MonkeyPatch, device: str, model: str, vram_gb: int
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=True))
    assert detect_resources(device=device) == ResourceSpec(
        gpu=True,
        gpu_count=1,
        gpu_model=model,
        vram_mb=vram_gb * 1024,
        device=device,
        cuda_version="12.4",
        torch_version="9.9.9",
    )


@pytest.mark.parametrize(("device", "cuda"), [("cuda:7", True), ("cuda", False)])
def test_a_cuda_device_that_cannot_be_used_is_reported_as_cpu_without_raising(
    monkeypatch: pytest.MonkeyPatch, device: str, cuda: bool
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=cuda))
    assert detect_resources(device=device) == ResourceSpec(
        gpu=False, device="cpu", torch_version="9.9.9"
    )


class FakeGpuWorker(Worker[AnyInput]):
    Input = AnyInput
    detect_gpu: ClassVar[bool] = True

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="fake-gpu", capabilities=["image_generation"], static_response="ok"
        )

    async def run(self, task: TaskRequest, inp: AnyInput, emit: Emit) -> Any:
        return None


async def test_a_worker_that_asks_for_gpu_detection_gets_its_resources_filled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(cuda=True))
    runtime = WorkerRuntime(FakeGpuWorker(), WorkerSettings(discovery_url="", max_concurrency=3))
    await runtime.start()
    d = runtime.describe()
    assert (d.resources.gpu, d.resources.gpu_count, d.resources.device) == (True, 2, "cuda")
    assert d.max_concurrency == runtime.slots.limit == 3
    await runtime.stop()
