"""The LoRA training loop (blocking, one job at a time on the shared base model).

Called from a worker thread by the worker and directly by ``bench/gpu.py``. It reports
every step through a callback, checks a ``threading.Event`` before each step, and on a
stop saves what it has as a partial checkpoint. The base model is restored (LoRA layers
unloaded) whatever happens, so the next job starts from the same weights.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from peft import LoraConfig, get_peft_model

from mesh_worker.models import OutOfMemory, free_device_memory
from mesh_worker.worker import InputError
from mesh_worker_lora_trainer.base_model import LoadedModel
from mesh_worker_lora_trainer.dataset import Example

IGNORE = -100  # label value the loss skips (prompt and padding positions)


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    learning_rate: float
    rank: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]
    batch_size: int
    max_length: int
    seed: int


@dataclass(frozen=True)
class StepReport:
    step: int
    total: int
    loss: float
    learning_rate: float
    tokens_per_s: float
    elapsed_s: float


@dataclass(frozen=True)
class TrainResult:
    steps_done: int
    total: int
    final_loss: float | None
    partial: bool
    tokens: int
    elapsed_s: float


StepCallback = Callable[[StepReport], None]
SaveFn = Callable[[Any, TrainResult], None]
"""Persists the trained adapter: gets the peft model and the result (partial or not)."""


def encode(
    tokenizer: Any, examples: list[Example], max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Token ids and labels per example; prompt tokens are labelled ``IGNORE``."""
    eos = tokenizer.eos_token_id
    rows: list[tuple[list[int], list[int]]] = []
    for ex in examples:
        prompt = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"] if ex.prompt else []
        target = tokenizer(ex.completion, add_special_tokens=False)["input_ids"]
        if eos is not None:
            target = [*target, eos]
        ids = (prompt + target)[:max_length]
        labels = ([IGNORE] * len(prompt) + target)[:max_length]
        if any(label != IGNORE for label in labels):
            rows.append((ids, labels))
    if not rows:
        raise InputError(f"max_length={max_length} leaves no completion tokens to train on")
    return rows


def _batch(
    rows: list[tuple[list[int], list[int]]], pad_id: int, device: str
) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in rows)
    ids = [r[0] + [pad_id] * (width - len(r[0])) for r in rows]
    labels = [r[1] + [IGNORE] * (width - len(r[1])) for r in rows]
    mask = [[1] * len(r[0]) + [0] * (width - len(r[0])) for r in rows]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "labels": torch.tensor(labels, device=device),
        "attention_mask": torch.tensor(mask, device=device),
    }


def _attach_lora(base: LoadedModel, cfg: TrainConfig) -> Any:
    lora = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        task_type="CAUSAL_LM",
    )
    torch.manual_seed(cfg.seed)  # LoRA A matrices are random: same seed, same start
    try:
        with warnings.catch_warnings():
            # peft probes a property transformers 5 deprecated; harmless, fixed upstream.
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
            )
            return get_peft_model(base.model, lora)
    except ValueError as exc:
        raise InputError(f"target_modules {list(cfg.target_modules)}: {exc}") from exc


def train_lora(
    base: LoadedModel,
    examples: list[Example],
    cfg: TrainConfig,
    stop: threading.Event,
    save: SaveFn,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Train a LoRA adapter for ``cfg.steps`` steps (or until ``stop``), then ``save`` it.

    Raises ``InputError`` for examples or target modules that cannot be trained,
    ``OutOfMemory`` on CUDA OOM (nothing saved).
    """
    rows = encode(base.tokenizer, examples, cfg.max_length)
    pad_id = base.tokenizer.pad_token_id
    model = _attach_lora(base, cfg)
    started = time.perf_counter()
    steps_done, tokens, loss_value = 0, 0, None
    try:
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate)
        # Linear decay to zero over the planned steps.
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: max(0.0, 1.0 - s / cfg.steps)
        )
        order = torch.Generator().manual_seed(cfg.seed)
        queue: list[int] = []
        model.train()
        for step in range(1, cfg.steps + 1):
            if stop.is_set():
                break
            t0 = time.perf_counter()
            picked: list[tuple[list[int], list[int]]] = []
            while len(picked) < min(cfg.batch_size, len(rows)):
                if not queue:
                    queue = torch.randperm(len(rows), generator=order).tolist()
                picked.append(rows[queue.pop()])
            batch = _batch(picked, pad_id, base.device)
            lr = float(schedule.get_last_lr()[0])
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            loss_value = float(loss.detach())
            n_tokens = int(batch["attention_mask"].sum())
            tokens += n_tokens
            steps_done = step
            if on_step is not None:
                dt = max(time.perf_counter() - t0, 1e-9)
                on_step(
                    StepReport(
                        step=step,
                        total=cfg.steps,
                        loss=loss_value,
                        learning_rate=lr,
                        tokens_per_s=n_tokens / dt,
                        elapsed_s=time.perf_counter() - started,
                    )
                )
        model.eval()
        result = TrainResult(
            steps_done=steps_done,
            total=cfg.steps,
            final_loss=loss_value,
            partial=steps_done < cfg.steps,
            tokens=tokens,
            elapsed_s=time.perf_counter() - started,
        )
        save(model, result)
        return result
    except torch.cuda.OutOfMemoryError as exc:
        raise OutOfMemory(f"CUDA out of memory at step {steps_done + 1}: {exc}") from exc
    finally:
        model.unload()  # restores the base modules in place for the next job
        free_device_memory()
