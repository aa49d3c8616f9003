"""``ModelWorker``: the base of a worker that holds one loaded model on one device.

What every model-holding worker (image-gen, the LoRA trainer) needs and writes the same
way: the device choice (``auto``: CUDA when torch sees a GPU, else the CPU; a setting may
name one), loading the model once at start-up off the event loop, the hardware facts of
that device in the descriptor, one job at a time on the model (a lock), blocking jobs in a
thread (``run_in_thread``), and CUDA running out of memory turned into a retryable
``error`` event (code ``out_of_memory``) after the cache was emptied, so the worker keeps
serving and the orchestrator may retry elsewhere.

torch is imported lazily, inside the functions that need it: importing ``mesh_worker``
costs text workers nothing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from mesh_contracts import AgentDescriptor, ErrorEvent, ResourceSpec
from mesh_worker.resources import detect_resources
from mesh_worker.threads import ThreadJob, run_in_thread
from mesh_worker.usage import report_usage
from mesh_worker.worker import Emit, InputT, Worker

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT")
T = TypeVar("T")
ConfigT = TypeVar("ConfigT")

#: The model name of the tiny random models that workers build in code (tests, demos).
TINY_MODEL_NAME = "tiny-random"


class ModelLoadError(RuntimeError):
    """The configured model cannot be loaded (or put on its device); the message says why."""


class OutOfMemory(RuntimeError):
    """The device ran out of memory during a job. Raise it from a job (or let torch's
    ``OutOfMemoryError`` through): ``ModelWorker.run_on_model`` answers a retryable error."""


def choose_device(preference: str = "auto", *, setting: str = "device") -> str:
    """``auto``: ``cuda`` when torch sees a GPU, else ``cpu``; any other value as given.

    Raises ``ModelLoadError`` (naming ``setting``) for a CUDA device torch cannot see."""
    import torch  # lazy: see the module docstring

    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"{setting}={preference} but torch sees no CUDA device")
    return preference


def free_device_memory() -> None:
    """Drop what a finished or failed job left behind, so the next one starts clean."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def is_out_of_memory(exc: BaseException) -> bool:
    """``OutOfMemory``, or torch's CUDA ``OutOfMemoryError``."""
    if isinstance(exc, OutOfMemory):
        return True
    torch = sys.modules.get("torch")  # an OOM from torch means torch is imported
    return torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError)


def tiny_transformer(
    model_cls: Callable[[ConfigT], ModelT],
    config_cls: Callable[..., ConfigT],
    *,
    vocab_size: int,
    seed: int | None = 0,
    hidden_size: int = 16,
    intermediate_size: int = 32,
    num_attention_heads: int = 2,
    num_hidden_layers: int = 2,
    max_position_embeddings: int = 77,
    bos_token_id: int = 0,
    eos_token_id: int = 1,
    pad_token_id: int = 1,
    **config: Any,
) -> ModelT:
    """A randomly initialised, tiny transformers model: ``model_cls(config_cls(...))``.

    For workers that run without downloading weights (tests, demos): the code paths are
    the real ones, the weights noise. The same ``seed`` gives the same weights (``None``:
    keep torch's current random state). ``config`` adds or overrides config fields. The
    classes are passed in, so the SDK never imports transformers.
    """
    if seed is not None:
        import torch  # lazy: see the module docstring

        torch.manual_seed(seed)
    return model_cls(
        config_cls(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            intermediate_size=intermediate_size,
            num_attention_heads=num_attention_heads,
            num_hidden_layers=num_hidden_layers,
            max_position_embeddings=max_position_embeddings,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            pad_token_id=pad_token_id,
            **config,
        )
    )


class ModelWorker(Worker[InputT], Generic[InputT, ModelT]):
    """A worker holding one model (``ModelT``) on one device, one job at a time.

    Subclass as ``ModelWorker[MyInput, MyModel]``; implement ``load_model`` (blocking; it
    runs in a thread at start-up), ``model_name``, ``describe`` (through ``descriptor``,
    which fills ``max_concurrency``, ``resources``, the ``gpu`` tag and the model facts)
    and ``run``, which does its blocking work with ``run_on_model``. ``device`` is the
    preference (``auto``, ``cpu``, ``cuda``, ``cuda:N``; a worker setting), ``setting`` the
    name of that setting in error messages.

    After ``startup``: ``model`` is the loaded model, ``device`` its device, ``resources``
    that device's facts. ``health`` reports ``model_loaded``, ``model``, ``device`` and
    ``running`` (jobs started, waiting for the model or on it).
    """

    def __init__(self, device: str = "auto", *, setting: str = "device") -> None:
        self.device_preference = device
        self.device_setting = setting
        self.model: ModelT | None = None
        self.device: str | None = None
        self.resources = ResourceSpec()
        self.running = 0
        # The SDK already runs one job at a time (max_concurrency 1, and a cancelled job
        # keeps its slot until its thread has stopped). This lock keeps that true if an
        # operator raises WORKER_MAX_CONCURRENCY: a loaded model is shared state (a
        # scheduler's per-call state, LoRA layers attached in place), so jobs take turns.
        self._model_lock = asyncio.Lock()

    @abstractmethod
    def load_model(self, device: str) -> ModelT:
        """Load the model onto ``device`` (blocking, seconds). Raise ``ModelLoadError``."""

    @abstractmethod
    def model_name(self, model: ModelT) -> str:
        """The loaded model's name, for the descriptor and ``/health``."""

    @property
    def max_concurrency(self) -> int:
        """One job at a time: the model is loaded once, on one device. Use one replica per
        GPU (``CUDA_VISIBLE_DEVICES``) to use several."""
        return 1

    async def startup(self) -> None:
        """Choose the device, load the model on it and read that device's facts (all off the
        event loop). Raises ``ModelLoadError`` with the reason."""
        pref, setting = self.device_preference, self.device_setting
        device = await asyncio.to_thread(choose_device, pref, setting=setting)
        self.model = await asyncio.to_thread(self.load_model, device)
        self.device = device
        self.resources = await asyncio.to_thread(detect_resources, device)

    def loaded(self) -> ModelT:
        """The model; ``RuntimeError`` before ``startup`` has loaded it."""
        if self.model is None:
            raise RuntimeError("the model is not loaded yet (startup has not run)")
        return self.model

    def model_facts(self) -> dict[str, Any]:
        """``model`` and ``device`` (None until loaded): in ``/health`` and the metadata."""
        model = self.model
        return {
            "model": self.model_name(model) if model is not None else None,
            "device": self.device if model is not None else None,
        }

    def health(self) -> dict[str, Any]:
        return {
            "model_loaded": self.model is not None,
            **self.model_facts(),
            "running": self.running,
        }

    def load_facts(self) -> dict[str, Any]:
        """Jobs waiting for the model, and the device's free memory on a GPU."""
        facts: dict[str, Any] = {"queue_depth": max(0, self.running - 1)}
        if self.device is not None and self.device.startswith("cuda"):
            import torch  # lazy: see the module docstring; loaded already on a GPU worker

            free, _total = torch.cuda.mem_get_info(torch.device(self.device))
            facts["gpu_free_mb"] = int(free // (1 << 20))
        return facts

    def descriptor(self, **fields: Any) -> AgentDescriptor:
        """``Worker.descriptor`` plus ``max_concurrency``, the device's ``resources``, a
        ``gpu`` tag on a GPU and the model facts in ``metadata`` (``fields`` win)."""
        fields.setdefault("max_concurrency", self.max_concurrency)
        fields.setdefault("resources", self.resources)
        fields.setdefault("tags", ["gpu"] if self.resources.gpu else [])
        fields["metadata"] = {**self.model_facts(), **fields.get("metadata", {})}
        return super().descriptor(**fields)

    async def run_on_model(self, job: ThreadJob[T], emit: Emit, *, name: str) -> T | None:
        """Run ``job`` in a thread (``run_in_thread``) once the model is free; its result.

        Out of memory (``OutOfMemory`` or torch's): the device cache is emptied, an
        ``error`` event (code ``out_of_memory``, retryable) is emitted and None returned.
        Cancellation and other errors propagate, after the thread has stopped.

        The job's GPU-seconds go into the call's ``usage`` (``report_usage``): the wall
        seconds it ran holding the model on a CUDA device, 0 on CPU; however it ended."""
        self.running += 1
        try:
            async with self._model_lock:
                started = time.monotonic()
                try:
                    return await run_in_thread(job, emit, name=name)
                finally:
                    on_gpu = self.device is not None and self.device.startswith("cuda")
                    report_usage(gpu_s=time.monotonic() - started if on_gpu else 0.0)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            free_device_memory()
            log.warning("%s ran out of memory: %s", name, exc)
            await emit(ErrorEvent(error=str(exc), code="out_of_memory", retryable=True))
            return None
        finally:
            self.running -= 1
