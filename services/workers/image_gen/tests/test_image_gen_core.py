"""The image worker's core, driven directly (no HTTP): tiny random pipeline on CPU."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from mesh_contracts import ArtifactEvent, ErrorEvent, ProgressEvent, TaskRequest, WorkerEvent
from mesh_worker.worker import InputError
from mesh_worker_image_gen import ImageGenInput, ImageGenSettings, ImageGenWorker
from mesh_worker_image_gen.pipeline import (
    GenerationCancelled,
    ImagePipeline,
    ImageRequest,
    ModelLoadError,
)

PUBLIC = "http://images.test:8004"


@pytest.fixture(scope="module")
def tiny_pipeline() -> ImagePipeline:
    return ImagePipeline.load(None, device="cpu")


@pytest.fixture
def worker(tiny_pipeline: ImagePipeline, tmp_path: Path) -> ImageGenWorker:
    w = ImageGenWorker(ImageGenSettings(output_dir=tmp_path, device="cpu"))
    w.endpoint = PUBLIC  # what the SDK's runtime binds
    w.model, w.device = tiny_pipeline, "cpu"  # shared across tests; startup is tested below
    return w


async def _generate(worker: ImageGenWorker, **inp: Any) -> tuple[list[WorkerEvent], Any]:
    events: list[WorkerEvent] = []

    async def emit(event: WorkerEvent) -> None:
        events.append(event)

    out = await worker.run(TaskRequest(input=inp), ImageGenInput(**inp), emit)
    return events, out


async def test_generation_streams_one_progress_event_per_step_then_a_png_artifact(
    worker: ImageGenWorker, tmp_path: Path
) -> None:
    events, out = await _generate(worker, prompt="a red fox", steps=3, seed=7)

    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert [(p.step, p.total) for p in progress] == [(1, 3), (2, 3), (3, 3)]
    assert all(p.model_extra and p.model_extra["elapsed_s"] >= 0 for p in progress)
    artifact = events[-1]
    assert isinstance(artifact, ArtifactEvent)
    assert artifact.content_type == "image/png"
    assert artifact.url == f"{PUBLIC}/artifacts/{artifact.name}"
    png = (tmp_path / artifact.name).read_bytes()
    assert artifact.size_bytes == len(png)
    assert artifact.data_base64 is not None and base64.b64decode(artifact.data_base64) == png
    extra = artifact.model_extra or {}
    assert (extra["width"], extra["height"], extra["seed"]) == (64, 64, 7)
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert out["url"] == artifact.url


async def test_the_same_seed_gives_the_same_image_and_another_seed_does_not(
    worker: ImageGenWorker, tmp_path: Path
) -> None:
    _, a = await _generate(worker, prompt="a lighthouse", steps=2, seed=42)
    _, b = await _generate(worker, prompt="a lighthouse", steps=2, seed=42)
    _, c = await _generate(worker, prompt="a lighthouse", steps=2, seed=43)
    png = [(tmp_path / o["name"]).read_bytes() for o in (a, b, c)]
    assert png[0] == png[1]
    assert png[0] != png[2]


async def test_a_missing_seed_is_chosen_and_reported(worker: ImageGenWorker) -> None:
    _, out = await _generate(worker, prompt="a boat", steps=1)
    assert isinstance(out["seed"], int)


def test_setting_the_stop_flag_stops_the_pipeline_between_steps(
    tiny_pipeline: ImagePipeline,
) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def on_step(step: int, total: int, elapsed: float) -> None:
        seen.append(step)
        if step == 2:
            stop.set()

    req = ImageRequest("a cat", None, steps=10, guidance=5.0, width=64, height=64, seed=1)
    with pytest.raises(GenerationCancelled):
        tiny_pipeline.generate(req, stop, on_step)
    assert seen == [1, 2]


@pytest.mark.parametrize(
    "bad",
    [
        {"prompt": ""},
        {"prompt": "   "},
        {"prompt": "x" * 2001},
        {"prompt": "a cat", "steps": 0},
        {"prompt": "a cat", "steps": 151},
        {"prompt": "a cat", "guidance": 31},
        {"prompt": "a cat", "width": 60},
        {"prompt": "a cat", "height": 4096},
        {"prompt": "a cat", "seed": -1},
        {"prompt": "a cat", "num_steps": 5},
    ],
)
def test_out_of_range_input_is_rejected_by_the_schema(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ImageGenInput(**bad)


async def test_a_size_beyond_the_model_limit_is_an_input_error_before_any_work(
    worker: ImageGenWorker, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="width=512"):
        await _generate(worker, prompt="a cat", width=512, steps=1)
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - a tmp dir listing


def test_a_model_path_that_does_not_exist_fails_startup_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match=r"no-such-model.*does not exist"):
        ImagePipeline.load(missing, device="cpu")
    with pytest.raises(ModelLoadError, match=r"model_index\.json"):
        ImagePipeline.load(tmp_path, device="cpu")


async def test_cuda_out_of_memory_is_reported_and_the_worker_keeps_serving(
    worker: ImageGenWorker, tiny_pipeline: ImagePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tiny_pipeline.pipe

    def oom(**kw: Any) -> Any:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(tiny_pipeline, "pipe", oom)
    events, out = await _generate(worker, prompt="a huge cat", steps=1, seed=1)
    assert out is None
    [error] = events
    assert isinstance(error, ErrorEvent) and error.code == "out_of_memory" and error.retryable
    assert "out of memory" in error.error
    monkeypatch.setattr(tiny_pipeline, "pipe", real)
    _, out = await _generate(worker, prompt="a small cat", steps=1, seed=1)
    assert out["size_bytes"] > 0


async def test_startup_builds_the_tiny_model_and_describes_the_hardware(tmp_path: Path) -> None:
    w = ImageGenWorker(ImageGenSettings(output_dir=tmp_path, device="cpu"))
    await w.startup()
    d = w.describe()
    assert d.metadata["model"] == "tiny-random"
    assert d.capabilities == ["image_generation"]
    assert d.streaming_mode == "dynamic_events"
    assert d.resources.device == "cpu" and d.resources.torch_version == torch.__version__
    assert d.max_concurrency == 1 and d.tags == []
    assert w.health()["model_loaded"] is True


async def test_a_cancelled_run_returns_only_after_its_generation_thread_has_stopped(
    worker: ImageGenWorker,
) -> None:
    first_step = asyncio.Event()

    async def emit(event: WorkerEvent) -> None:
        if isinstance(event, ProgressEvent):
            first_step.set()

    inp = ImageGenInput(prompt="a slow cat", steps=150, seed=1)
    run = asyncio.create_task(worker.run(TaskRequest(task_id="slow-cat", input={}), inp, emit))
    await asyncio.wait_for(first_step.wait(), 60)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert [t for t in threading.enumerate() if t.name == "image-gen-slow-cat"] == []
    assert worker.health()["running"] == 0
    assert list(worker.store.root.iterdir()) == []  # stopped before the image was saved
