"""The LoRA-trainer worker: examples in, progress per step, one adapter artifact out."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mesh_contracts import (
    AgentDescriptor,
    ArtifactEvent,
    ProgressEvent,
    Skill,
    StreamingMode,
    TaskRequest,
)
from mesh_contracts.capabilities import LORA_TRAINING
from mesh_worker import Emit, ModelWorker, ThreadEmit, report_usage
from mesh_worker_lora_trainer.adapters import AdapterStore
from mesh_worker_lora_trainer.base_model import LoadedModel, load_base_model
from mesh_worker_lora_trainer.dataset import Example, from_file, from_items, resolve_dataset
from mesh_worker_lora_trainer.settings import LoraSettings
from mesh_worker_lora_trainer.trainer import (
    StepReport,
    TrainConfig,
    TrainResult,
    train_lora,
)

DEFAULT_PORT = 8005
AGENT_ID = "lora-trainer"


class PromptCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=100_000)
    completion: str = Field(min_length=1, max_length=100_000)


class LoraTrainInput(BaseModel):
    """One training job: ``examples`` or ``dataset_path`` (exactly one), and hyperparameters."""

    model_config = ConfigDict(extra="forbid")

    examples: list[str | PromptCompletion] | None = Field(
        default=None,
        min_length=1,
        max_length=100_000,
        description="Texts or prompt/completion pairs.",
    )
    dataset_path: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="A local .txt (one example per line) or .jsonl file on the worker.",
    )
    steps: int = Field(default=100, ge=1, le=10_000)
    learning_rate: float = Field(default=2e-4, gt=0, le=1)
    rank: int = Field(default=8, ge=1, le=256)
    alpha: int = Field(default=16, ge=1, le=4096)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"], min_length=1, max_length=64
    )
    batch_size: int = Field(default=4, ge=1, le=256)
    max_length: int = Field(default=256, ge=8, le=8192, description="Tokens per example.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    adapter_name: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="Prefix of the adapter id (<name>-<8 hex>).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.examples is None) == (self.dataset_path is None):
            raise ValueError("give exactly one of examples or dataset_path")
        return self


class LoraTrainerWorker(ModelWorker[LoraTrainInput, LoadedModel]):
    """Loads the base model once at start-up (``ModelWorker``: on ``LORA_DEVICE``); trains one
    adapter per ``run`` in a thread, one at a time (peft attaches LoRA layers to the shared
    base model in place)."""

    Input = LoraTrainInput

    def __init__(self, settings: LoraSettings) -> None:
        super().__init__(settings.device, setting="LORA_DEVICE")
        self.settings = settings
        self.store = AdapterStore(settings.adapters_dir)

    def load_model(self, device: str) -> LoadedModel:
        """The configured base model (raises ``ModelLoadError`` with the reason)."""
        return load_base_model(self.settings, device)

    def model_name(self, model: LoadedModel) -> str:
        return model.name

    def describe(self) -> AgentDescriptor:
        base = self.model
        return self.descriptor(
            agent_id=AGENT_ID,
            name="LoRA trainer",
            description="Fine-tunes a LoRA adapter on a causal LM from example texts: "
            "progress per step (loss, tokens/s), then the adapter as an artifact.",
            capabilities=[LORA_TRAINING],
            skills=[
                Skill(
                    id="train_lora_adapter",
                    description="Teach the language model a style or task from examples.",
                    tags=["fine-tuning", "lora", "peft"],
                    examples=["train an adapter that answers like a pirate"],
                )
            ],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            timeout_seconds=7200,
            metadata={"model_source": base.source if base else None},
        )

    def config_for(self, inp: LoraTrainInput) -> TrainConfig:
        return TrainConfig(
            steps=inp.steps,
            learning_rate=inp.learning_rate,
            rank=inp.rank,
            alpha=inp.alpha,
            dropout=inp.dropout,
            target_modules=tuple(inp.target_modules),
            batch_size=inp.batch_size,
            max_length=inp.max_length,
            seed=inp.seed,
        )

    async def run(self, task: TaskRequest, inp: LoraTrainInput, emit: Emit) -> Any:
        """Emit ``progress`` per step and one ``artifact`` (the adapter zip); return its facts.

        On cancellation the adapter so far is saved with ``status: partial`` in its
        ``mesh_job.json`` before the cancellation propagates. CUDA OOM ends the job with an
        ``error`` event (code ``out_of_memory``, retryable) and saves nothing.
        """
        base = self.loaded()
        dataset: Path | None = None
        examples: list[Example] = []
        if inp.dataset_path is not None:
            dataset = resolve_dataset(inp.dataset_path, self.settings.dataset_dir)
        else:
            examples = from_items(
                [e if isinstance(e, str) else e.model_dump() for e in inp.examples or []]
            )
        cfg = self.config_for(inp)
        adapter_id = self.store.new_id(inp.adapter_name)

        def save(model: Any, result: TrainResult) -> None:
            self.store.save(
                adapter_id,
                model,
                {
                    "status": "partial" if result.partial else "complete",
                    "task_id": task.task_id,
                    # Only this owner (or admin) lists, downloads or uses it (writer too).
                    "owner": task.owner,
                    "base_model": base.name,
                    "base_model_source": base.source,
                    "steps_done": result.steps_done,
                    "steps_total": result.total,
                    "final_loss": result.final_loss,
                    "tokens": result.tokens,
                    "elapsed_s": round(result.elapsed_s, 3),
                    "examples": len(examples),
                    "config": inp.model_dump(exclude={"examples"}),
                },
            )

        def job(post: ThreadEmit, stop: threading.Event) -> dict[str, Any]:
            data = from_file(dataset) if dataset is not None else examples
            examples[:] = data

            def on_step(r: StepReport) -> None:
                post(
                    ProgressEvent(
                        step=r.step,
                        total=r.total,
                        loss=round(r.loss, 6),
                        learning_rate=r.learning_rate,
                        tokens_per_s=round(r.tokens_per_s, 2),
                        elapsed_s=round(r.elapsed_s, 4),
                    )
                )

            result = train_lora(base, data, cfg, stop, save, on_step)
            # tokens trained on, none generated (its GPU-seconds: ``run_on_model``)
            report_usage(prompt_tokens=result.tokens, completion_tokens=0)
            archive = self.store.zip_bytes(adapter_id) or b""
            facts: dict[str, Any] = {
                "adapter_id": adapter_id,
                "url": f"{self.endpoint}/artifacts/{adapter_id}.zip",
                "path": str(self.settings.adapters_dir / adapter_id),
                "partial": result.partial,
                "steps_done": result.steps_done,
                "final_loss": result.final_loss,
                "tokens": result.tokens,
                "base_model": base.name,
            }
            post(
                ArtifactEvent(
                    name=f"{adapter_id}.zip",
                    content_type="application/zip",
                    size_bytes=len(archive),
                    **facts,
                )
            )
            return facts

        return await self.run_on_model(job, emit, name=f"lora-trainer-{task.task_id}")
