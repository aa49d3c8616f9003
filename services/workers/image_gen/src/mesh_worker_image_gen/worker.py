"""The image-generation worker: validated input in, progress per step, one PNG artifact out."""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mesh_contracts import (
    AgentDescriptor,
    ArtifactEvent,
    ErrorEvent,
    ProgressEvent,
    ResourceSpec,
    Skill,
    StreamingMode,
    TaskRequest,
)
from mesh_contracts.capabilities import IMAGE_GENERATION
from mesh_worker.resources import detect_resources
from mesh_worker.threads import ThreadEmit, run_in_thread
from mesh_worker.worker import Emit, InputError, Worker
from mesh_worker_image_gen.images import ImageStore
from mesh_worker_image_gen.pipeline import GpuOutOfMemory, ImagePipeline, ImageRequest
from mesh_worker_image_gen.settings import ImageGenSettings

AGENT_ID = "image-gen"
_MAX_SEED = 2**63 - 1


class ImageGenInput(BaseModel):
    """One text-to-image request. Width/height default to the model's native size."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=2000, description="What to draw.")
    negative_prompt: str | None = Field(default=None, max_length=2000)
    steps: int = Field(default=30, ge=1, le=150, description="Denoising steps.")
    guidance: float = Field(default=7.5, ge=0, le=30, description="Classifier-free guidance.")
    width: int | None = Field(default=None, ge=8, le=2048, multiple_of=8)
    height: int | None = Field(default=None, ge=8, le=2048, multiple_of=8)
    seed: int | None = Field(
        default=None, ge=0, le=_MAX_SEED, description="Same seed, same image. Unset: random."
    )

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return value


class ImageGenWorker(Worker):
    """Loads the pipeline once in ``startup``; runs one generation per ``run`` in a thread."""

    Input = ImageGenInput

    def __init__(self, settings: ImageGenSettings, public_url: str) -> None:
        self.settings = settings
        self.public_url = public_url.rstrip("/")
        self.store = ImageStore(settings.output_dir)
        self.pipeline: ImagePipeline | None = None
        self.resources = ResourceSpec()
        self._running = 0
        # The SDK already runs one job at a time (max_concurrency 1, and a cancelled job keeps
        # its slot until its thread has stopped). This lock keeps that true if an operator
        # raises WORKER_MAX_CONCURRENCY: the pipeline is not safe for concurrent calls (its
        # scheduler holds per-call state), so extra jobs take turns instead of corrupting it.
        self._model_lock = asyncio.Lock()

    async def startup(self) -> None:
        """Load the model (raises ``ModelLoadError`` with the reason) and read the hardware."""
        s = self.settings
        pipe: ImagePipeline = await asyncio.to_thread(
            ImagePipeline.load, s.model_path, device=s.device, max_side=s.max_side
        )
        self.pipeline = pipe
        self.resources = await asyncio.to_thread(detect_resources, pipe.device)

    @property
    def max_concurrency(self) -> int:
        """One job at a time: the model is loaded once, on one device. Use one replica per
        GPU (``CUDA_VISIBLE_DEVICES``) to use several."""
        return 1

    def describe(self) -> AgentDescriptor:
        pipe = self.pipeline
        return AgentDescriptor(
            agent_id=AGENT_ID,
            name="Image generator",
            description="Text-to-image with a diffusers pipeline: progress per denoising "
            "step, then a PNG artifact.",
            endpoint=self.public_url,
            capabilities=[IMAGE_GENERATION],
            skills=[
                Skill(
                    id="text_to_image",
                    description="Draw an image from a text prompt.",
                    tags=["image", "diffusion"],
                    examples=["a watercolor fox in the snow", "a logo for a coffee shop"],
                )
            ],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            input_schema=ImageGenInput.model_json_schema(),
            timeout_seconds=600,
            max_concurrency=self.max_concurrency,
            resources=self.resources,
            tags=["gpu"] if self.resources.gpu else [],
            metadata={
                "model": pipe.model if pipe else None,
                "device": pipe.device if pipe else None,
                "max_side": pipe.max_side if pipe else None,
                "default_side": pipe.default_side if pipe else None,
            },
        )

    def health(self) -> dict[str, Any]:
        pipe = self.pipeline
        return {
            "model_loaded": pipe is not None,
            "model": pipe.model if pipe else None,
            "device": pipe.device if pipe else None,
            "running": self._running,
        }

    def request_for(self, inp: ImageGenInput) -> ImageRequest:
        """Resolve defaults and check the model's limits; ``InputError`` before any GPU work."""
        pipe = self._loaded()
        width = inp.width or pipe.default_side
        height = inp.height or pipe.default_side
        for field, value in (("width", width), ("height", height)):
            if value > pipe.max_side:
                raise InputError(f"{field}={value} exceeds this model's limit of {pipe.max_side}")
        seed = inp.seed if inp.seed is not None else secrets.randbelow(2**31)
        return ImageRequest(
            prompt=inp.prompt,
            negative_prompt=inp.negative_prompt,
            steps=inp.steps,
            guidance=inp.guidance,
            width=width,
            height=height,
            seed=seed,
        )

    async def run(self, task: TaskRequest, inp: BaseModel, emit: Emit) -> Any:
        """Emit ``progress`` per step and one ``artifact``; return the image's facts.

        Cancellation stops the pipeline between steps. CUDA OOM ends the job with an
        ``error`` event (code ``out_of_memory``, retryable) after the cache was emptied.
        """
        assert isinstance(inp, ImageGenInput)
        req = self.request_for(inp)
        pipe = self._loaded()

        def job(post: ThreadEmit, stop: threading.Event) -> dict[str, Any]:
            def on_step(step: int, total: int, elapsed: float) -> None:
                post(ProgressEvent(step=step, total=total, elapsed_s=round(elapsed, 4)))

            image = pipe.generate(req, stop, on_step)
            name = self.store.save(image.png)
            facts: dict[str, Any] = {
                "url": f"{self.public_url}/artifacts/{name}",
                "width": image.width,
                "height": image.height,
                "seed": image.seed,
                "steps": image.steps,
                "elapsed_s": round(image.elapsed_s, 4),
                "model": pipe.model,
            }
            inline = None
            if len(image.png) < self.settings.inline_max_bytes:
                inline = base64.b64encode(image.png).decode("ascii")
            post(
                ArtifactEvent(
                    name=name,
                    content_type="image/png",
                    size_bytes=len(image.png),
                    data_base64=inline,
                    **facts,
                )
            )
            return {"name": name, "size_bytes": len(image.png), **facts}

        self._running += 1
        try:
            async with self._model_lock:
                return await run_in_thread(job, emit, name=f"image-gen-{task.task_id}")
        except GpuOutOfMemory as exc:
            await emit(ErrorEvent(error=str(exc), code="out_of_memory", retryable=True))
            return None
        finally:
            self._running -= 1

    def _loaded(self) -> ImagePipeline:
        if self.pipeline is None:
            raise RuntimeError("the model is not loaded yet (startup has not run)")
        return self.pipeline
