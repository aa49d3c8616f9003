"""The LoRA trainer as a real process on a loopback port (tiny random Llama, CPU)."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_testkit import ServiceProcess, free_port, read_sse, running

MODULE = "mesh_worker_lora_trainer"
EXAMPLES = ["the cat sat on the mat", {"prompt": "Q: hi\nA:", "completion": " ahoy"}]


def _env(port: int, adapters: Path, **extra: str) -> dict[str, str]:
    return {
        "WORKER_PORT": str(port),
        "WORKER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WORKER_DISCOVERY_URL": "",
        "LORA_ADAPTERS_DIR": str(adapters),
        "LORA_DEVICE": "cpu",
        **extra,
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    port = free_port()
    env = _env(port, tmp_path_factory.mktemp("adapters"), LORA_BASE_MODEL="tiny")
    with running(MODULE, port, env, startup_timeout=120) as svc:
        yield svc


async def _events(url: str, inp: dict[str, Any]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=60) as client:
        return [
            m.json() async for m in read_sse(client, "POST", f"{url}/stream", json={"input": inp})
        ]


async def test_stream_sends_progress_then_an_adapter_zip_that_downloads(
    service: ServiceProcess,
) -> None:
    events = await _events(service.url, {"examples": EXAMPLES, "steps": 2, "rank": 4})

    assert [e["type"] for e in events] == ["progress"] * 2 + ["artifact", "result", "done"]
    assert {"loss", "learning_rate", "tokens_per_s"} <= events[0].keys()
    artifact = events[2]
    adapter_id = artifact["adapter_id"]
    async with httpx.AsyncClient() as client:
        archive = await client.get(artifact["url"])
        listing = (await client.get(f"{service.url}/adapters")).json()["adapters"]
        detail = (await client.get(f"{service.url}/adapters/{adapter_id}")).json()
        missing = await client.get(f"{service.url}/adapters/nope")
        descriptor = (await client.get(f"{service.url}/descriptor")).json()
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert len(archive.content) == artifact["size_bytes"]
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "adapter_config.json" in names and "adapter_model.safetensors" in names
    assert adapter_id in [a["adapter_id"] for a in listing]
    assert detail["config"]["r"] == 4 and detail["job"]["status"] == "complete"
    assert missing.status_code == 404
    assert descriptor["metadata"]["model"] == "tiny-random"
    assert descriptor["capabilities"] == ["lora_training"]


async def test_a_busy_trainer_refuses_a_second_job_and_a_dropped_job_leaves_a_checkpoint(
    service: ServiceProcess,
) -> None:
    body = {"input": {"examples": EXAMPLES, "steps": 10_000, "adapter_name": "dropped"}}
    async with httpx.AsyncClient(timeout=60) as client:
        async for msg in read_sse(client, "POST", f"{service.url}/stream", json=body):
            assert msg.json()["type"] == "progress"
            second = await client.post(f"{service.url}/stream", json=body)
            assert second.status_code == 429 and "retry-after" in second.headers
            break  # leaving the stream drops the connection: the job is cancelled
        deadline = time.monotonic() + 60
        # The SDK frees its slot only once the job's thread is done (checkpoint saved).
        while (health := (await client.get(f"{service.url}/health")).json())["in_flight"] != 0:
            assert time.monotonic() < deadline, "the trainer never went idle"
            await asyncio.sleep(0.05)
        assert health["running"] == 0
        listing = (await client.get(f"{service.url}/adapters")).json()["adapters"]
    [dropped] = [a for a in listing if a["adapter_id"].startswith("dropped-")]
    assert dropped["status"] == "partial"
    assert 1 <= dropped["steps_done"] < 10_000


async def test_bad_input_is_refused_before_training(service: ServiceProcess) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        url = f"{service.url}/invoke"
        steps = await client.post(url, json={"input": {"examples": ["a"], "steps": 0}})
        empty = await client.post(url, json={"input": {"examples": []}})
        missing = await client.post(url, json={"input": {"dataset_path": "/no/such.jsonl"}})
    assert steps.status_code == 422 and "steps" in steps.text
    assert empty.status_code == 422 and "examples" in empty.text
    assert missing.status_code == 422 and "LORA_DATASET_DIR" in missing.text

    events = await _events(service.url, {"dataset_path": "/no/such.txt"})
    assert [e["type"] for e in events] == ["error", "done"]
    assert events[0]["code"] == "invalid_input"


def test_a_base_model_path_that_does_not_exist_stops_the_worker_with_a_clear_error(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = _env(port, tmp_path, LORA_BASE_MODEL_PATH=str(tmp_path / "no-such-model"))
    with pytest.raises(RuntimeError, match="no-such-model does not exist"):
        ServiceProcess(MODULE, port, env, startup_timeout=120).start()
