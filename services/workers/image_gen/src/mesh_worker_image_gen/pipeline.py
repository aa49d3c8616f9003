"""Loading the diffusers pipeline once, and running one generation on it (blocking).

``ImagePipeline.generate`` is called from a worker thread; it reports each denoising step
through a callback and stops between steps when its ``threading.Event`` is set.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoPipelineForText2Image

from mesh_worker.models import TINY_MODEL_NAME, ModelLoadError, OutOfMemory, choose_device
from mesh_worker_image_gen.tiny import build_tiny_pipeline

__all__ = ["GenerationCancelled", "ImagePipeline", "ImageRequest", "ModelLoadError"]

StepCallback = Callable[[int, int, float], None]
"""Called after each denoising step with (step, total, elapsed seconds)."""


class GenerationCancelled(Exception):
    """Raised inside the pipeline's step callback to stop between steps."""


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    negative_prompt: str | None
    steps: int
    guidance: float
    width: int
    height: int
    seed: int


@dataclass(frozen=True)
class GeneratedImage:
    png: bytes
    width: int
    height: int
    seed: int
    steps: int
    elapsed_s: float


class ImagePipeline:
    """One loaded text-to-image pipeline on one device. Not safe for concurrent ``generate``
    calls: the worker runs one job per GPU."""

    def __init__(self, pipe: Any, *, device: str, model: str, max_side: int) -> None:
        self.pipe = pipe
        self.device = device
        self.model = model
        self.max_side = max_side
        self.default_side = 512 if model != TINY_MODEL_NAME else 64

    @classmethod
    def load(
        cls, model_path: Path | None, *, device: str = "auto", max_side: int | None = None
    ) -> ImagePipeline:
        """Load ``model_path`` (float16 on CUDA, float32 on CPU), or build the tiny random
        pipeline when it is ``None``. Raises ``ModelLoadError`` with the reason."""
        dev = choose_device(device, setting="IMAGEGEN_DEVICE")
        if model_path is None:
            pipe: Any = build_tiny_pipeline()
            name = TINY_MODEL_NAME
        else:
            if not model_path.is_dir():
                raise ModelLoadError(
                    f"IMAGEGEN_MODEL_PATH={model_path} does not exist or is not a folder"
                )
            if not (model_path / "model_index.json").is_file():
                raise ModelLoadError(
                    f"IMAGEGEN_MODEL_PATH={model_path} is not a diffusers pipeline "
                    "folder (no model_index.json)"
                )
            dtype = torch.float16 if dev == "cuda" else torch.float32
            try:
                pipe = AutoPipelineForText2Image.from_pretrained(  # type: ignore[no-untyped-call]
                    str(model_path), torch_dtype=dtype, local_files_only=True
                )
            except (OSError, ValueError) as exc:
                raise ModelLoadError(f"cannot load {model_path}: {exc}") from exc
            name = model_path.name
        pipe.to(dev)
        pipe.set_progress_bar_config(disable=True)
        side = max_side or (1024 if name != TINY_MODEL_NAME else 256)
        return cls(pipe, device=dev, model=name, max_side=side)

    def generate(
        self, req: ImageRequest, stop: threading.Event, on_step: StepCallback | None = None
    ) -> GeneratedImage:
        """Run the pipeline; ``stop`` is a ``threading.Event`` checked after every step.

        Raises ``GenerationCancelled`` when stopped, ``OutOfMemory`` on CUDA OOM (the cache
        emptied: the worker answers a retryable error and keeps serving).
        """
        started = time.perf_counter()

        def step_end(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if on_step is not None:
                on_step(step + 1, req.steps, time.perf_counter() - started)
            if stop.is_set():
                # Raising is immediate; pipe._interrupt would still decode the latents.
                raise GenerationCancelled(f"cancelled after step {step + 1}/{req.steps}")
            return kwargs

        # A CPU generator gives the same noise, hence the same image, on any device.
        generator = torch.Generator("cpu").manual_seed(req.seed)
        try:
            with torch.inference_mode():
                out = self.pipe(
                    prompt=req.prompt,
                    negative_prompt=req.negative_prompt,
                    num_inference_steps=req.steps,
                    guidance_scale=req.guidance,
                    width=req.width,
                    height=req.height,
                    generator=generator,
                    callback_on_step_end=step_end,
                    output_type="pil",
                )
        except torch.cuda.OutOfMemoryError as exc:  # the worker empties the cache
            raise OutOfMemory(f"CUDA out of memory at {req.width}x{req.height}: {exc}") from exc
        image = out.images[0]
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return GeneratedImage(
            png=buf.getvalue(),
            width=image.width,
            height=image.height,
            seed=req.seed,
            steps=req.steps,
            elapsed_s=time.perf_counter() - started,
        )
