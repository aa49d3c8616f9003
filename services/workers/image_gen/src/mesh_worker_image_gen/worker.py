"""The image-generation worker: validated input in, progress per step, one PNG artifact out."""

from __future__ import annotations

import base64
import secrets
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mesh_contracts import (
    AgentDescriptor,
    ArtifactEvent,
    ProgressEvent,
    Skill,
    StreamingMode,
    TaskRequest,
)
from mesh_contracts.capabilities import IMAGE_GENERATION
from mesh_worker import Emit, InputError, ModelWorker, ThreadEmit, report_usage
from mesh_worker_image_gen.images import ImageStore
from mesh_worker_image_gen.pipeline import ImagePipeline, ImageRequest
from mesh_worker_image_gen.settings import ImageGenSettings

DEFAULT_PORT = 8004
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


class ImageGenWorker(ModelWorker[ImageGenInput, ImagePipeline]):
    """Loads the pipeline once at start-up (``ModelWorker``: on ``IMAGEGEN_DEVICE``); runs one
    generation per ``run`` in a thread, one at a time."""

    Input = ImageGenInput

    def __init__(self, settings: ImageGenSettings) -> None:
        super().__init__(settings.device, setting="IMAGEGEN_DEVICE")
        self.settings = settings
        self.store = ImageStore(settings.output_dir)

    def load_model(self, device: str) -> ImagePipeline:
        """The configured pipeline, or the tiny random one (raises ``ModelLoadError``)."""
        s = self.settings
        return ImagePipeline.load(s.model_path, device=device, max_side=s.max_side)

    def model_name(self, model: ImagePipeline) -> str:
        return model.model

    def describe(self) -> AgentDescriptor:
        pipe = self.model
        return self.descriptor(
            agent_id=AGENT_ID,
            name="Image generator",
            description="Text-to-image with a diffusers pipeline: progress per denoising "
            "step, then a PNG artifact.",
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
            timeout_seconds=600,
            metadata={
                "max_side": pipe.max_side if pipe else None,
                "default_side": pipe.default_side if pipe else None,
            },
        )

    def request_for(self, inp: ImageGenInput) -> ImageRequest:
        """Resolve defaults and check the model's limits; ``InputError`` before any GPU work."""
        pipe = self.loaded()
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

    async def run(self, task: TaskRequest, inp: ImageGenInput, emit: Emit) -> Any:
        """Emit ``progress`` per step and one ``artifact``; return the image's facts.

        Cancellation stops the pipeline between steps. CUDA OOM ends the job with an
        ``error`` event (code ``out_of_memory``, retryable) after the cache was emptied.
        """
        req = self.request_for(inp)
        pipe = self.loaded()
        report_usage(completion_tokens=0)  # no text generated (its GPU-seconds: run_on_model)

        def job(post: ThreadEmit, stop: threading.Event) -> dict[str, Any]:
            def on_step(step: int, total: int, elapsed: float) -> None:
                post(ProgressEvent(step=step, total=total, elapsed_s=round(elapsed, 4)))

            image = pipe.generate(req, stop, on_step)
            name = self.store.save(image.png, owner=task.owner)  # its run owner's alone
            facts: dict[str, Any] = {
                "url": f"{self.endpoint}/artifacts/{name}",
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

        return await self.run_on_model(job, emit, name=f"image-gen-{task.task_id}")
